/* Opening the image a verb works on (verb_target.c). */
#ifndef GLUVIRT_TOOLS_VERB_TARGET_H
#define GLUVIRT_TOOLS_VERB_TARGET_H

#include <gluvirt/gluvirt.h>

#include "commands.h"

/*
 * Open target, in any of the forms qemu-img takes: a local path, a gluster
 * URI, or QEMU's "json:{...}" naming a file on a gluster volume; with the
 * format, backing policy and snapshot of o, writable or read-only.  NULL
 * with the library's error set (not printed).
 */
gluvirt_image *open_verb_image(gluvirt_pool *pool, const char *target,
                               const struct image_options *o, int writable);

#endif

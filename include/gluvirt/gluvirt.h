/*
 * libgluvirt — VM disk images on GlusterFS volumes through libgfapi.
 *
 * The umbrella header: include this one.  Link with `pkg-config --libs gluvirt`.
 */
#ifndef GLUVIRT_GLUVIRT_H
#define GLUVIRT_GLUVIRT_H

#include <gluvirt/version.h>
#include <gluvirt/common.h>
#include <gluvirt/uri.h>
#include <gluvirt/pool.h>
#include <gluvirt/image.h>
#include <gluvirt/create.h>
#include <gluvirt/volume.h>
#include <gluvirt/check.h>
#include <gluvirt/verbs.h>

#endif /* GLUVIRT_GLUVIRT_H */

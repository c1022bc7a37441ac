/*
 * The targets of compare, measure and resize: besides a path and a gluster
 * URI, QEMU's json:{...} form, which libvirt and management tools write for
 * images on volumes with several servers.
 */
#include "config.h"

#include <string.h>

#include <gluvirt/gluvirt.h>

#include "verb_target.h"

gluvirt_image *open_verb_image(gluvirt_pool *pool, const char *target,
                               const struct image_options *o, int writable)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_format(options, o->format) == 0 &&
        gluvirt_open_options_set_backing(options, o->backing) == 0 &&
        gluvirt_open_options_set_writable(options, writable) == 0 &&
        gluvirt_open_options_set_force_share(options, o->force_share) == 0 &&
        (!o->snapshot || gluvirt_open_options_set_snapshot(options, o->snapshot) == 0)) {
        if (strncmp(target, "json:", 5) == 0) {
            gluvirt_uri *uri = gluvirt_uri_from_qemu_json(target);

            if (uri)
                image = gluvirt_image_open_uri(pool, uri, options);
            gluvirt_uri_free(uri);
        } else {
            image = gluvirt_image_open(pool, target, options);
        }
    }
    gluvirt_open_options_free(options);
    return image;
}

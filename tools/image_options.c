/*
 * The options that the commands reading an image share (-f FMT,
 * --backing P) and the opening of the image with them, so that info, map,
 * convert and bench take the same words and say the same things.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

/* The rule gluvirt_image_open follows (lib/uri/uri.c, glv_uri_names_gluster):
 * a target that starts with "gluster" and holds a ':' is a URI. */
int is_gluster_target(const char *target)
{
    return strncmp(target, "gluster", 7) == 0 && strchr(target, ':') != NULL;
}

int parse_image_format(const char *command, const char *text, gluvirt_format *out)
{
    if (!strcmp(text, "raw"))
        *out = GLUVIRT_FORMAT_RAW;
    else if (!strcmp(text, "qcow2"))
        *out = GLUVIRT_FORMAT_QCOW2;
    else {
        fprintf(stderr, "gluvirt %s: -f %s: libgluvirt reads raw and qcow2 images\n", command,
                text);
        return -1;
    }
    return 0;
}

int parse_backing_policy(const char *command, const char *text, gluvirt_backing_policy *out)
{
    if (!strcmp(text, "same-store"))
        *out = GLUVIRT_BACKING_SAME_STORE;
    else if (!strcmp(text, "any"))
        *out = GLUVIRT_BACKING_ANY;
    else if (!strcmp(text, "none"))
        *out = GLUVIRT_BACKING_NONE;
    else {
        fprintf(stderr, "gluvirt %s: --backing %s: say same-store, any or none\n", command, text);
        return -1;
    }
    return 0;
}

gluvirt_image *open_image(gluvirt_pool *pool, const char *target, const struct image_options *o)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_format(options, o->format) == 0 &&
        gluvirt_open_options_set_backing(options, o->backing) == 0 &&
        gluvirt_open_options_set_force_share(options, o->force_share) == 0 &&
        (!o->snapshot || gluvirt_open_options_set_snapshot(options, o->snapshot) == 0))
        image = gluvirt_image_open(pool, target, options);
    gluvirt_open_options_free(options);
    return image;
}

void note_probed_format(const char *command, const struct image_options *o, const char *target,
                        gluvirt_image *image)
{
    if (o->format == GLUVIRT_FORMAT_PROBE)
        fprintf(stderr, "gluvirt %s: no -f given: the format of %s was probed from its first "
                        "bytes: %s\n", command, target, gluvirt_image_format(image));
}

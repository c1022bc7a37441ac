/*
 * The maintenance verbs' options and progress, and resize.
 * Compare and measure have files of their own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/internal.h"
#include "format/qcow2_create.h"
#include "format/qcow2_format.h"
#include "image/image_internal.h"
#include "image/image_verbs.h"

const struct gluvirt_verb_options glv_verb_defaults = {
    .format = GLUVIRT_FORMAT_RAW,
    .cluster_bits = QCOW2_DEFAULT_CLUSTER_BITS,
    .version = 3,
    .refcount_order = QCOW2_DEFAULT_REFCOUNT_ORDER,
    .preallocation = GLUVIRT_PREALLOC_OFF,
};

int glv_verb_progress(const struct gluvirt_verb_options *o, const char *verb, uint64_t done,
                      uint64_t total)
{
    if (o->progress && o->progress(o->progress_data, done > total ? total : done, total) != 0) {
        glv_set_error(ECANCELED, "%s: stopped by the progress callback after %" PRIu64
                      " of %" PRIu64 " bytes", verb, done, total);
        return -1;
    }
    return 0;
}

GLUVIRT_API gluvirt_verb_options *gluvirt_verb_options_new(void)
{
    gluvirt_verb_options *o = malloc(sizeof *o);

    if (!o) {
        glv_set_oom();
        return NULL;
    }
    *o = glv_verb_defaults;
    return o;
}

GLUVIRT_API void gluvirt_verb_options_free(gluvirt_verb_options *options)
{
    free(options);
}

static int check_options(const gluvirt_verb_options *o, const char *call)
{
    if (!o) {
        glv_set_error(EINVAL, "%s: the options are NULL", call);
        return -1;
    }
    return 0;
}

/* The on/off knobs: any nonzero value is on. */
static int set_flag(gluvirt_verb_options *options, const char *call, size_t field, int value)
{
    if (check_options(options, call) < 0)
        return -1;
    *(int *)((char *)options + field) = value != 0;
    return 0;
}

GLUVIRT_API int gluvirt_verb_options_set_progress(gluvirt_verb_options *options,
                                                  gluvirt_progress_fn progress,
                                                  void *user_data)
{
    if (check_options(options, "gluvirt_verb_options_set_progress") < 0)
        return -1;
    options->progress = progress;
    options->progress_data = user_data;
    return 0;
}

GLUVIRT_API int gluvirt_verb_options_set_strict(gluvirt_verb_options *options, int strict)
{
    return set_flag(options, "gluvirt_verb_options_set_strict",
                    offsetof(struct gluvirt_verb_options, strict), strict);
}

GLUVIRT_API int gluvirt_verb_options_set_shrink(gluvirt_verb_options *options, int shrink)
{
    return set_flag(options, "gluvirt_verb_options_set_shrink",
                    offsetof(struct gluvirt_verb_options, shrink), shrink);
}

/* The valued knobs: the options checked, then the value stored by the
 * validator that creating uses too (image_create.c, format/qcow2_create.c). */
GLUVIRT_API int gluvirt_verb_options_set_format(gluvirt_verb_options *options,
                                                gluvirt_format format)
{
    if (check_options(options, "gluvirt_verb_options_set_format") < 0)
        return -1;
    return glv_made_format(format, &options->format);
}

GLUVIRT_API int gluvirt_verb_options_set_cluster_size(gluvirt_verb_options *options,
                                                      uint64_t bytes)
{
    if (check_options(options, "gluvirt_verb_options_set_cluster_size") < 0)
        return -1;
    return glv_qcow2_cluster_bits(bytes, &options->cluster_bits);
}

GLUVIRT_API int gluvirt_verb_options_set_compat(gluvirt_verb_options *options,
                                                const char *compat)
{
    if (check_options(options, "gluvirt_verb_options_set_compat") < 0)
        return -1;
    return glv_qcow2_compat_version(compat, &options->version);
}

GLUVIRT_API int gluvirt_verb_options_set_refcount_bits(gluvirt_verb_options *options,
                                                       unsigned bits)
{
    if (check_options(options, "gluvirt_verb_options_set_refcount_bits") < 0)
        return -1;
    return glv_qcow2_refcount_order(bits, &options->refcount_order);
}

GLUVIRT_API int gluvirt_verb_options_set_extended_l2(gluvirt_verb_options *options, int extended_l2)
{
    return set_flag(options, "gluvirt_verb_options_set_extended_l2",
                    offsetof(struct gluvirt_verb_options, extended_l2), extended_l2);
}

GLUVIRT_API int gluvirt_verb_options_set_preallocation(gluvirt_verb_options *options,
                                                       gluvirt_preallocation mode)
{
    if (check_options(options, "gluvirt_verb_options_set_preallocation") < 0)
        return -1;
    return glv_preallocation_mode(mode, &options->preallocation);
}

GLUVIRT_API int gluvirt_verb_options_set_backing(gluvirt_verb_options *options, int backing)
{
    return set_flag(options, "gluvirt_verb_options_set_backing",
                    offsetof(struct gluvirt_verb_options, backing), backing);
}

/* ------------------------------------------------------------ resize */

GLUVIRT_API int gluvirt_image_resize(gluvirt_image *image, uint64_t size,
                                     const gluvirt_verb_options *options)
{
    const struct gluvirt_verb_options *o = options ? options : &glv_verb_defaults;
    int64_t current;

    if (!image) {
        glv_set_error(EINVAL, "gluvirt_image_resize: the image is NULL");
        return -1;
    }
    if (glv_image_check_writable(image, "gluvirt_image_resize") < 0)
        return -1;
    if (size == 0 || size > INT64_MAX) {
        glv_set_error(EINVAL, "%s: new size %" PRIu64 ": an image's size must be above 0 and "
                      "at most 2^63 - 1 bytes", image->name, size);
        return -1;
    }
    if ((current = gluvirt_image_size(image)) < 0)
        return -1;
    if (size < (uint64_t)current && !o->shrink) {
        glv_set_error(EINVAL, "%s: %" PRIu64 " bytes is smaller than the image (%" PRId64
                      " bytes): shrinking drops the data past the new end; ask for it with "
                      "the shrink option (--shrink)", image->name, size, current);
        return -1;
    }
    if (glv_verb_progress(o, "resize", 0, 1) < 0)
        return -1;
    if ((uint64_t)current != size && image->format->ops->truncate(image->format, size) < 0)
        return -1;
    return glv_verb_progress(o, "resize", 1, 1) < 0 ? -1 : 0;
}

/*
 * Internal snapshots through the image handle: create, apply, delete
 * (the format driver does the work; raw images have none).  Listing is
 * gluvirt_image_info_int(GLUVIRT_INFO_SNAPSHOT_COUNT) and
 * gluvirt_image_snapshot_int/_string (image_info.c).
 */
#include <errno.h>
#include <stddef.h>

#include "util/internal.h"
#include "image/image_internal.h"

typedef int (*snapshot_op)(struct glv_format *f, const char *key);

static int run(gluvirt_image *image, const char *key, const char *call, size_t op_offset)
{
    snapshot_op op;

    if (!image || !key) {
        glv_set_error(EINVAL, "%s: the %s is NULL", call, image ? "snapshot name" : "image");
        return -1;
    }
    if (glv_image_check_writable(image, call) < 0)
        return -1;
    op = *(const snapshot_op *)((const char *)image->format->ops + op_offset);
    if (!op) {
        glv_set_error(ENOTSUP, "%s: %s: a %s image has no internal snapshots; convert it to "
                      "qcow2 first ('qemu-img convert -O qcow2')", call, image->name,
                      image->format->ops->name);
        return -1;
    }
    return op(image->format, key);
}

GLUVIRT_API int gluvirt_image_snapshot_create(gluvirt_image *image, const char *name)
{
    return run(image, name, "gluvirt_image_snapshot_create",
               offsetof(struct glv_format_ops, snapshot_create));
}

GLUVIRT_API int gluvirt_image_snapshot_apply(gluvirt_image *image, const char *id_or_name)
{
    return run(image, id_or_name, "gluvirt_image_snapshot_apply",
               offsetof(struct glv_format_ops, snapshot_apply));
}

GLUVIRT_API int gluvirt_image_snapshot_delete(gluvirt_image *image, const char *name)
{
    return run(image, name, "gluvirt_image_snapshot_delete",
               offsetof(struct glv_format_ops, snapshot_delete));
}

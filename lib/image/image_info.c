/*
 * Describing an image: its properties, its internal snapshots, and where
 * each range of the virtual disk comes from along the backing chain (what
 * qemu-img map reports).
 */
#include "config.h"

#include <errno.h>

#include "image/image_internal.h"

static int no_such_property(gluvirt_image *image, const char *what)
{
    glv_set_error(ENOENT, "%s images have no %s", image->format->ops->name, what);
    return -1;
}

GLUVIRT_API int64_t gluvirt_image_info_int(gluvirt_image *image, gluvirt_info_key key)
{
    struct glv_format *f;

    if (!image) {
        glv_set_error(EINVAL, "gluvirt_image_info_int: the image is NULL");
        return -1;
    }
    f = image->format;
    switch (key) {
    case GLUVIRT_INFO_ALLOCATED_SIZE:
        if (!image->storage->ops->allocated)
            return no_such_property(image, "allocated size");
        return image->storage->ops->allocated(image->storage);
    case GLUVIRT_INFO_FILENAME:
    case GLUVIRT_INFO_COMPRESSION_TYPE:
    case GLUVIRT_INFO_BACKING_NAME:
    case GLUVIRT_INFO_BACKING_FULL_NAME:
    case GLUVIRT_INFO_BACKING_FORMAT:
    case GLUVIRT_INFO_DATA_FILE:
        glv_set_error(EINVAL, "gluvirt_image_info_int: property %d is a string; ask "
                      "gluvirt_image_info_string", (int)key);
        return -1;
    default:
        if (!f->ops->info_int)
            return no_such_property(image, "such property");
        return f->ops->info_int(f, key);
    }
}

GLUVIRT_API const char *gluvirt_image_info_string(gluvirt_image *image, gluvirt_info_key key)
{
    struct glv_format *f;

    if (!image) {
        glv_set_error(EINVAL, "gluvirt_image_info_string: the image is NULL");
        return NULL;
    }
    f = image->format;
    switch (key) {
    case GLUVIRT_INFO_FILENAME:
        return image->name;
    case GLUVIRT_INFO_BACKING_FULL_NAME:
        if (image->backing_full_name)
            return image->backing_full_name;
        no_such_property(image, "opened backing file");
        return NULL;
    case GLUVIRT_INFO_COMPRESSION_TYPE:
    case GLUVIRT_INFO_BACKING_NAME:
    case GLUVIRT_INFO_BACKING_FORMAT:
    case GLUVIRT_INFO_DATA_FILE:
        if (f->ops->info_string)
            return f->ops->info_string(f, key);
        no_such_property(image, "such property");
        return NULL;
    default:
        glv_set_error(EINVAL, "gluvirt_image_info_string: property %d is a number; ask "
                      "gluvirt_image_info_int", (int)key);
        return NULL;
    }
}

GLUVIRT_API gluvirt_image *gluvirt_image_backing(gluvirt_image *image)
{
    return image ? image->backing : NULL;
}

static int check_snapshot(gluvirt_image *image, int index, const char *call)
{
    int64_t count;

    if (!image) {
        glv_set_error(EINVAL, "%s: the image is NULL", call);
        return -1;
    }
    if (!image->format->ops->snapshot_int)
        return no_such_property(image, "snapshots");
    count = image->format->ops->info_int(image->format, GLUVIRT_INFO_SNAPSHOT_COUNT);
    if (index < 0 || index >= count) {
        glv_set_error(EINVAL, "%s: %s has %lld snapshots; index %d is outside them", call,
                      image->name, (long long)count, index);
        return -1;
    }
    return 0;
}

GLUVIRT_API int64_t gluvirt_image_snapshot_int(gluvirt_image *image, int index,
                                               gluvirt_snapshot_key key)
{
    if (check_snapshot(image, index, "gluvirt_image_snapshot_int") < 0)
        return -1;
    return image->format->ops->snapshot_int(image->format, index, key);
}

GLUVIRT_API const char *gluvirt_image_snapshot_string(gluvirt_image *image, int index,
                                                      gluvirt_snapshot_key key)
{
    if (check_snapshot(image, index, "gluvirt_image_snapshot_string") < 0)
        return NULL;
    return image->format->ops->snapshot_string(image->format, index, key);
}

/* ------------------------------------------------------------ block status */

/*
 * A format's data run may sit on a hole of its file (clusters allocated by
 * metadata preallocation, never written): those bytes read as zeros, and
 * qemu-img map reports them as data that is zero.  The raw format asked the
 * file already.  Turns *m into ZERO for a hole and shortens *length to the
 * part that answers alike.
 */
static int host_hole(gluvirt_image *layer, struct glv_mapping *m, uint64_t *length)
{
    struct glv_storage *s = m->host;
    uint64_t run;
    int data;

    /* (An external data file is not asked, as qemu-img map does not.) */
    if (glv_format_is_raw(layer->format) || s != layer->storage || !s->ops->extent)
        return 0;
    if (s->ops->extent(s, m->host_offset, *length, &data, &run) < 0)
        return -1;
    if (!data)
        m->kind = GLV_MAP_ZERO;
    *length = run;
    return 0;
}

GLUVIRT_API int64_t gluvirt_image_block_status(gluvirt_image *image, uint64_t offset,
                                               uint64_t length, unsigned *flags, int *depth,
                                               int64_t *host_offset)
{
    unsigned f = 0;
    int d = 0;
    int64_t host = -1, size;
    gluvirt_image *layer = image;
    struct glv_mapping m;

    if (!image) {
        glv_set_error(EINVAL, "gluvirt_image_block_status: the image is NULL");
        return -1;
    }
    size = gluvirt_image_size(image);
    if (offset >= (uint64_t)size || length == 0)
        return 0;
    if (length > (uint64_t)size - offset)
        length = (uint64_t)size - offset;
    for (;;) {
        int64_t layer_size = gluvirt_image_size(layer);

        if (offset >= (uint64_t)layer_size) {
            /* Past the end of a shorter backing file: zeros no layer holds,
             * counted (as qemu-img map does) at the last layer this long. */
            f = GLUVIRT_BLOCK_ZERO;
            d--;
            break;
        }
        if (length > (uint64_t)layer_size - offset)
            length = (uint64_t)layer_size - offset;
        if (layer->format->ops->map(layer->format, offset, length, 0, &m) < 0)
            return -1;
        if (m.length == 0 || m.length > length) {
            glv_set_error(EIO, "%s: the format driver mapped %llu bytes at %llu for a request "
                          "of %llu", layer->name, (unsigned long long)m.length,
                          (unsigned long long)offset, (unsigned long long)length);
            return -1;
        }
        length = m.length;
        if (m.kind == GLV_MAP_UNALLOCATED && layer->backing) {
            layer = layer->backing;
            d++;
            continue;
        }
        switch (m.kind) {
        case GLV_MAP_DATA:
            f = GLUVIRT_BLOCK_DATA | GLUVIRT_BLOCK_PRESENT;
            host = (int64_t)m.host_offset;
            if (host_hole(layer, &m, &length) < 0)
                return -1;
            if (m.kind == GLV_MAP_ZERO)
                f |= GLUVIRT_BLOCK_ZERO;
            break;
        case GLV_MAP_ZERO:
            f = GLUVIRT_BLOCK_ZERO | GLUVIRT_BLOCK_PRESENT;
            host = m.host ? (int64_t)m.host_offset : -1;
            break;
        case GLV_MAP_COMPRESSED:
            f = GLUVIRT_BLOCK_DATA | GLUVIRT_BLOCK_PRESENT | GLUVIRT_BLOCK_COMPRESSED;
            break;
        default:
            f = GLUVIRT_BLOCK_ZERO;
            host = m.host ? (int64_t)m.host_offset : -1;
        }
        break;
    }
    if (flags)
        *flags = f;
    if (depth)
        *depth = d;
    if (host_offset)
        *host_offset = host;
    return (int64_t)length;
}

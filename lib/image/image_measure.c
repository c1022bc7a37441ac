/*
 * gluvirt_image_measure: the figures `qemu-img measure` prints.  A raw
 * image takes its size, allocated or not.  A qcow2 image takes its
 * metadata for a full allocation (format/qcow2_measure.c) plus the data
 * clusters it would hold: for a source image, the clusters its block
 * status shows data in (zeros and holes need none); all of them with a
 * backing file (qemu-img cannot tell what the backing file shares) or with
 * falloc or full preallocation.
 */
#include <errno.h>
#include <inttypes.h>

#include "util/internal.h"
#include "format/qcow2_format.h"
#include "format/qcow2_measure.h"
#include "image/image_internal.h"
#include "image/image_verbs.h"

static uint64_t round_up(uint64_t a, uint64_t b)
{
    return (a / b + (a % b != 0)) * b;
}

/* The qcow2 options qemu-img refuses together, refused with its reasons. */
static int check_qcow2_options(const struct gluvirt_verb_options *o)
{
    if (o->extended_l2 && o->cluster_bits < 14) {
        glv_set_error(EINVAL, "extended_l2: extended L2 entries need clusters of at least "
                      "16384 bytes (cluster_size=%" PRIu64 ")", (uint64_t)1 << o->cluster_bits);
        return -1;
    }
    if (o->version < 3 && o->refcount_order != QCOW2_DEFAULT_REFCOUNT_ORDER) {
        glv_set_error(EINVAL, "refcount_bits=%u: refcount widths other than 16 bits need "
                      "compat=1.1", 1u << o->refcount_order);
        return -1;
    }
    return 0;
}

/*
 * The bytes of source's data clusters, counted as QEMU counts them: a data
 * run is stretched to the end of its last cluster, and a run that starts
 * inside a cluster counts that cluster from its start.
 */
static int count_data_clusters(gluvirt_image *source, const struct gluvirt_verb_options *o,
                               uint64_t source_size, uint64_t *bytes)
{
    uint64_t offset = 0, cluster = (uint64_t)1 << o->cluster_bits, total = 0;

    while (offset < source_size) {
        unsigned flags = 0;
        int64_t run = gluvirt_image_block_status(source, offset, source_size - offset, &flags,
                                                 NULL, NULL);

        if (run < 0)
            return -1;
        if (run == 0) {
            glv_set_error(EIO, "%s: no block status at offset %" PRIu64 ", inside its size "
                          "of %" PRIu64 " bytes", source->name, offset, source_size);
            return -1;
        }
        if (!(flags & GLUVIRT_BLOCK_ZERO) &&
            (flags & (GLUVIRT_BLOCK_DATA | GLUVIRT_BLOCK_PRESENT)) ==
                (GLUVIRT_BLOCK_DATA | GLUVIRT_BLOCK_PRESENT)) {
            uint64_t end = round_up(offset + (uint64_t)run, cluster);

            total += offset % cluster + (end - offset);
            run = (int64_t)(end - offset);
        }
        offset += (uint64_t)run;
        if (glv_verb_progress(o, "measure", offset, source_size) < 0)
            return -1;
    }
    *bytes = total;
    return 0;
}

static int measure_qcow2(gluvirt_image *source, uint64_t size,
                         const struct gluvirt_verb_options *o, uint64_t *required,
                         uint64_t *full)
{
    struct glv_qcow2_measure_params p = {(uint64_t)1 << o->cluster_bits, o->refcount_order,
                                         o->extended_l2};
    uint64_t virtual_size, data = 0;
    int64_t source_size;

    if (check_qcow2_options(o) < 0)
        return -1;
    if (source) {
        if ((source_size = gluvirt_image_size(source)) < 0)
            return -1;
        size = (uint64_t)source_size;
    }
    if (size > INT64_MAX - (2u << 20)) {
        glv_set_error(EINVAL, "size %" PRIu64 ": larger than any image can be", size);
        return -1;
    }
    virtual_size = round_up(size, p.cluster_size);
    if (glv_qcow2_measure_check(&p, virtual_size) < 0)
        return -1;
    if (source && o->backing)
        data = virtual_size;
    else if (source && count_data_clusters(source, o, size, &data) < 0)
        return -1;
    if (o->preallocation == GLUVIRT_PREALLOC_FALLOC || o->preallocation == GLUVIRT_PREALLOC_FULL)
        data = virtual_size;
    *full = glv_qcow2_fully_allocated_size(&p, virtual_size);
    *required = *full - virtual_size + data;
    return 0;
}

GLUVIRT_API int gluvirt_image_measure(gluvirt_image *source, uint64_t size,
                                      const gluvirt_verb_options *options,
                                      uint64_t *required, uint64_t *fully_allocated)
{
    const struct gluvirt_verb_options *o = options ? options : &glv_verb_defaults;
    int64_t source_size = source ? gluvirt_image_size(source) : 0;
    uint64_t need = 0, full = 0;

    /* Progress counts the source's bytes (none without a source). */
    if (source_size < 0 || glv_verb_progress(o, "measure", 0, (uint64_t)source_size) < 0)
        return -1;
    if (o->format == GLUVIRT_FORMAT_QCOW2) {
        if (measure_qcow2(source, size, o, &need, &full) < 0)
            return -1;
    } else {
        uint64_t bytes = source ? (uint64_t)source_size : size;

        if (bytes > INT64_MAX - 511) {
            glv_set_error(EINVAL, "size %" PRIu64 ": larger than any image can be", bytes);
            return -1;
        }
        /* A raw file holds every byte, written or not, in whole sectors
         * (QEMU counts an existing file's size in sectors too). */
        need = full = round_up(bytes, 512);
    }
    if (glv_verb_progress(o, "measure", (uint64_t)source_size, (uint64_t)source_size) < 0)
        return -1;
    if (required)
        *required = need;
    if (fully_allocated)
        *fully_allocated = full;
    return 0;
}

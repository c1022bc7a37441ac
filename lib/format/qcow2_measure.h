/*
 * The size of a qcow2 image, worked out before it exists (qcow2_measure.c):
 * the metadata arithmetic of QEMU's qcow2_measure, for gluvirt_image_measure
 * (image/image_measure.c).
 */
#ifndef GLUVIRT_FORMAT_QCOW2_MEASURE_H
#define GLUVIRT_FORMAT_QCOW2_MEASURE_H

#include <stdint.h>

/* The layout of the image to measure. */
struct glv_qcow2_measure_params {
    uint64_t cluster_size;   /* a power of two, 512 .. 2 MiB */
    unsigned refcount_order; /* log2 of the refcount width, 0 .. 6 */
    int extended_l2;         /* 16-byte L2 entries (clusters of 16 KiB and more) */
};

/*
 * Check that p makes an image of virtual_size bytes (rounded up to the
 * cluster size) whose L1 table stays within QEMU's 32 MiB limit.  0, or -1
 * with EINVAL and a message that names the cluster size that would do.
 */
int glv_qcow2_measure_check(const struct glv_qcow2_measure_params *p, uint64_t virtual_size);

/*
 * The bytes of a fully allocated image of virtual_size bytes (rounded up to
 * the cluster size): header, L2 and L1 tables, refcount table and blocks,
 * and every data cluster, as QEMU's qcow2_calc_prealloc_size counts them.
 * Call glv_qcow2_measure_check first.
 */
uint64_t glv_qcow2_fully_allocated_size(const struct glv_qcow2_measure_params *p,
                                        uint64_t virtual_size);

/*
 * The refcount table and blocks that count clusters host clusters (the
 * blocks count themselves and the table too): the fixed point QEMU's
 * qcow2_refcount_metadata_size finds, in bytes.
 */
uint64_t glv_qcow2_refcount_metadata_size(uint64_t clusters, uint64_t cluster_size,
                                          unsigned refcount_order);

#endif

/*
 * The qcow2 writer (qcow2_create.c), which the image layer's creation
 * (image/image_create.c) calls with the storage of the file it has just
 * created.
 */
#ifndef GLUVIRT_FORMAT_QCOW2_CREATE_H
#define GLUVIRT_FORMAT_QCOW2_CREATE_H

#include <stdint.h>

#include "storage/storage.h"

/*
 * A new image's parameters in qemu-img's -o words, checked here once for
 * creating (image/image_create.c) and measuring (image/image_verbs.c).
 * Each stores the value, in the form the options keep, when qcow2 allows
 * it: 0; else -1 with EINVAL and a message naming the values allowed, and
 * the destination unchanged.
 */
/* cluster_size: a power of two from 512 to 2 MiB; *bits is its log2. */
int glv_qcow2_cluster_bits(uint64_t bytes, unsigned *bits);
/* compat: "1.1" or "v3" (version 3), "0.10" or "v2" (version 2). */
int glv_qcow2_compat_version(const char *compat, unsigned *version);
/* refcount_bits: a power of two from 1 to 64; *order is its log2. */
int glv_qcow2_refcount_order(unsigned bits, unsigned *order);

/* The image to write. */
struct glv_qcow2_create_params {
    uint64_t size;              /* virtual size in bytes, a multiple of 512 */
    unsigned cluster_bits;      /* 9..21 */
    unsigned version;           /* 2 (compat 0.10) or 3 (1.1) */
    const char *backing_name;   /* NULL: no backing file */
    const char *backing_format; /* NULL: not recorded */
    int preallocate;            /* see glv_qcow2_create */
};

/*
 * Write the image p describes into s (when s is NULL, only check that the
 * parameters make an image, so a caller can refuse before it creates a file).
 * p->preallocate: map every cluster (metadata, falloc and full preallocation);
 * *data_offset and *data_length then say where the data clusters lie, which
 * the caller reserves or zeroes for falloc and full (0 and 0 otherwise).
 * The storage is resized to the end of the image.  0 or -1 with the error set.
 */
int glv_qcow2_create(struct glv_storage *s, const struct glv_qcow2_create_params *p,
                     uint64_t *data_offset, uint64_t *data_length);

#endif

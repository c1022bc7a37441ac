/*
 * The qcow2 writer (qcow2_create.c), which the image layer's creation
 * (image/image_create.c) calls with the storage of the file it has just
 * created.
 */
#ifndef GLUVIRT_FORMAT_QCOW2_CREATE_H
#define GLUVIRT_FORMAT_QCOW2_CREATE_H

#include <stdint.h>

#include "storage/storage.h"

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

/*
 * Format drivers: how an image's virtual disk maps onto its storage.  A
 * driver sees only the storage interface (storage.h).
 */
#ifndef GLUVIRT_FORMAT_H
#define GLUVIRT_FORMAT_H

#include <stdint.h>
#include <sys/uio.h>

#include "storage.h"

struct glv_format;

struct glv_format_ops {
    const char *name;
    /* Virtual size in bytes. */
    int64_t (*size)(struct glv_format *f);
    /* Whole-range transfers inside the virtual size (the image layer clamps). */
    int (*preadv)(struct glv_format *f, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*pwritev)(struct glv_format *f, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*flush)(struct glv_format *f);
    int (*discard)(struct glv_format *f, uint64_t offset, uint64_t length);
    int (*write_zeroes)(struct glv_format *f, uint64_t offset, uint64_t length);
    int (*truncate)(struct glv_format *f, uint64_t size);
    /* Release the driver; the storage stays open (the image closes it). */
    void (*close)(struct glv_format *f);
};

struct glv_format {
    const struct glv_format_ops *ops;
    struct glv_storage *storage;
};

struct glv_format *glv_format_raw_open(struct glv_storage *storage);

#endif

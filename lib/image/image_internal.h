/* The image handle's structure, shared by the synchronous and callback paths. */
#ifndef GLUVIRT_IMAGE_INTERNAL_H
#define GLUVIRT_IMAGE_INTERNAL_H

#include "format/format.h"

struct glv_aio;

struct gluvirt_open_options {
    gluvirt_format format;
    int writable;
    int direct;
    gluvirt_completion_mode completion;
    unsigned queue_depth;
    uint64_t l2_cache_size;
    gluvirt_backing_policy backing;
    char *snapshot;
    int force_share;
    gluvirt_locking_mode locking;
    int repair;                  /* the file is opened writable for gluvirt_image_check */
};

struct gluvirt_image {
    struct glv_storage *storage;
    struct glv_format *format;
    int writable;
    int repairable;              /* opened for repair: the file is writable, the image not */
    struct glv_aio *aio;         /* the callback engine */
    char *name;                  /* the target as opened */
    gluvirt_pool *pool;          /* gluster images: the pool the chain shares */
    gluvirt_pool *own_pool;      /* made for this chain when the caller gave none */
    gluvirt_uri *uri;            /* gluster images; NULL for local files */
    char *identity;              /* the file, canonically: loop detection */
    char *backing_full_name;     /* the backing name resolved against this image */
    gluvirt_image *backing;      /* its backing file (NULL: none); the format
                                  * reads it through format->backing */
};

/* Where an image is being opened from: the chain above it, for backing
 * files and external data files (image_backing.c). */
struct glv_open_context {
    const struct glv_open_context *parent; /* the overlay; NULL at the top */
    const gluvirt_image *image;            /* the image this context opens for */
    const gluvirt_open_options *options;
    int depth;
};

#define GLV_MAX_BACKING_DEPTH 32

/* Open what image's format names as its backing file and attach it
 * (image->backing, handed down to the format as its backing reader).  0 (also when there is none, or the policy says to
 * open none), or -1 with the error set. */
int glv_image_open_backing(gluvirt_image *image, const struct glv_open_context *ctx);

/*
 * Where a file an image names (its backing file, an external data file)
 * lies, as QEMU finds it, for the image at image_path: on a volume
 * (on_volume) the volume path of name relative to the image's directory,
 * "." and ".." folded; locally name itself when absolute, else name in the
 * image's directory.  NULL with EINVAL when ".." climbs above the volume's
 * root or the name leaves only a directory.  Opening (image_backing.c) and
 * creating overlays (image_create.c) both ask it.
 */
char *glv_backing_path(const char *image_path, const char *name, int on_volume);

/* The opener for files image names besides its backing file. */
struct glv_sibling_opener glv_image_sibling_opener(struct glv_open_context *ctx);

/* Open target (a gluster URI object or a local path) for the chain in ctx:
 * image.c's open with the parent's pool. */
gluvirt_image *glv_image_open_in_chain(gluvirt_pool *pool, const gluvirt_uri *uri,
                                       const char *path, gluvirt_format format,
                                       const struct glv_open_context *parent);

/* The options creating and measuring share (image_create.c), checked once
 * for both: each stores a valid value in *out and returns 0, or returns -1
 * with EINVAL.  The qcow2 ones are format/qcow2_create.h's.  format: raw or
 * qcow2; mode: a GLUVIRT_PREALLOC_* value. */
int glv_made_format(gluvirt_format format, gluvirt_format *out);
int glv_preallocation_mode(gluvirt_preallocation mode, gluvirt_preallocation *out);

/* Checks shared by both paths: -1 with the error set when the request must not run. */
int glv_image_check_writable(gluvirt_image *image, const char *call);
int glv_image_check_range(gluvirt_image *image, const char *call, uint64_t offset,
                          uint64_t length);

/* Request flags (image.c).  What the write calls and the zeroing calls take. */
#define GLV_WRITE_FLAGS GLUVIRT_REQ_FUA
#define GLV_ZERO_FLAGS (GLUVIRT_REQ_FUA | GLUVIRT_REQ_MAY_TRIM | GLUVIRT_REQ_NO_FALLBACK)
/* -1 with EINVAL (naming call) when flags has a bit outside allowed. */
int glv_image_check_flags(const char *call, unsigned flags, unsigned allowed);
/* The zeroing flags gluvirt_image_write_zeroes gives image's driver. */
unsigned glv_image_plain_zero_flags(const gluvirt_image *image);
/* A checked request through the format, then, with GLUVIRT_REQ_FUA, a
 * flush: 0, or -1 with the error set.  Shared by both paths. */
int glv_image_write_now(gluvirt_image *image, const struct iovec *iov, int iovcnt,
                        uint64_t offset, unsigned flags);
int glv_image_zero_now(gluvirt_image *image, uint64_t offset, uint64_t length, unsigned flags);

/* The callback engine of one image (image_aio.c); readahead: serve
 * sequential reads through a read-ahead, only for images opened read-only,
 * where nothing in the library can change the bytes it holds. */
struct glv_aio *glv_aio_new(gluvirt_completion_mode mode, unsigned depth, int readahead);
/* Wait for every request in flight, run its callbacks, stop the threads. */
void glv_aio_free(struct glv_aio *aio);

/* Image locking (image_lock.c).  check_lock_options: -1 (EINVAL) for
 * options that contradict each other.  lock: take the locks QEMU would for
 * an open of storage (writable: written; metadata: a qcow2 image, whose
 * metadata must not change under a reader) under o; 0, or -1 with EBUSY
 * and the message when another open conflicts. */
int glv_image_check_lock_options(const gluvirt_open_options *o, const char *name);
int glv_image_lock(struct glv_storage *storage, const char *name, const gluvirt_open_options *o,
                   int writable, int metadata);

#define GLV_DEFAULT_QUEUE_DEPTH 128
#define GLV_MAX_QUEUE_DEPTH 4096

#endif

/*
 * libgluvirt — disk images: open one on a gluster volume (through a
 * connection pool) or in a local file, and read and write it.
 *
 * An image is read through a format driver (raw now; qcow2 next) on top of a
 * storage backend (gluster or local file).  The format is what the caller
 * says it is: raw by default.  Probing the format from the image's first
 * bytes is opt-in (GLUVIRT_FORMAT_PROBE), because a guest that writes a
 * qcow2 header into a raw disk must not change how the host reads it.
 *
 * Offsets and lengths are in bytes and need no alignment.  Calls on one
 * image may come from several threads at once.
 */
#ifndef GLUVIRT_IMAGE_H
#define GLUVIRT_IMAGE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <gluvirt/common.h>
#include <gluvirt/pool.h>
#include <gluvirt/uri.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_image gluvirt_image;
typedef struct gluvirt_open_options gluvirt_open_options;

typedef enum gluvirt_format {
    GLUVIRT_FORMAT_RAW = 0,
    GLUVIRT_FORMAT_QCOW2 = 1,
    GLUVIRT_FORMAT_PROBE = 2 /* opt-in: decide from the image's header */
} gluvirt_format;

/* gluvirt_open_options_new: defaults: raw, read-only, cached I/O.  Since 1.0. */
GLUVIRT_API gluvirt_open_options *gluvirt_open_options_new(void);
GLUVIRT_API void gluvirt_open_options_free(gluvirt_open_options *options);
GLUVIRT_API int gluvirt_open_options_set_format(gluvirt_open_options *options,
                                                gluvirt_format format);
/* Open for writing too (default: read-only).  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_writable(gluvirt_open_options *options, int writable);
/* Ask for direct I/O (O_DIRECT), bypassing caches, where the storage allows.  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_direct(gluvirt_open_options *options, int direct);

/*
 * gluvirt_image_open: open target, which is a gluster URI ("gluster://...")
 * or a local path.  pool serves gluster targets (NULL: a pool private to
 * this image); options may be NULL for the defaults.
 * Returns NULL with errno and a message on failure: the pool's connect
 * errors, ENOENT (no such image), EACCES, EISDIR, ENOTSUP (a format this
 * version cannot read), EINVAL.  Since 1.0.
 */
GLUVIRT_API gluvirt_image *gluvirt_image_open(gluvirt_pool *pool, const char *target,
                                              const gluvirt_open_options *options);

/* gluvirt_image_open_uri: the same for a URI object.  Since 1.0. */
GLUVIRT_API gluvirt_image *gluvirt_image_open_uri(gluvirt_pool *pool, const gluvirt_uri *uri,
                                                  const gluvirt_open_options *options);

/*
 * gluvirt_image_close: flush a writable image, close it, and release its
 * connection.  Returns 0, or -1 when the final flush failed (the image is
 * closed all the same).  Accepts NULL.  Since 1.0.
 */
GLUVIRT_API int gluvirt_image_close(gluvirt_image *image);

/* gluvirt_image_size: the virtual size in bytes, or -1.  Since 1.0. */
GLUVIRT_API int64_t gluvirt_image_size(gluvirt_image *image);

/* gluvirt_image_format: the format being read ("raw", "qcow2").  Since 1.0. */
GLUVIRT_API const char *gluvirt_image_format(gluvirt_image *image);

/*
 * gluvirt_image_pread / preadv: read up to count bytes at offset.  Returns
 * the bytes read: fewer than asked only at the end of the image, 0 at or
 * past it; or -1.  Since 1.0.
 */
GLUVIRT_API ssize_t gluvirt_image_pread(gluvirt_image *image, void *buf, size_t count,
                                        uint64_t offset);
GLUVIRT_API ssize_t gluvirt_image_preadv(gluvirt_image *image, const struct iovec *iov,
                                         int iovcnt, uint64_t offset);

/*
 * gluvirt_image_pwrite / pwritev: write count bytes at offset, all of them
 * or fail (-1).  Writing past the end of the image fails with EINVAL (resize
 * it with gluvirt_image_truncate first); a read-only image gives EROFS.
 * Since 1.0.
 */
GLUVIRT_API ssize_t gluvirt_image_pwrite(gluvirt_image *image, const void *buf, size_t count,
                                         uint64_t offset);
GLUVIRT_API ssize_t gluvirt_image_pwritev(gluvirt_image *image, const struct iovec *iov,
                                          int iovcnt, uint64_t offset);

/* gluvirt_image_flush: make written data durable (fsync).  Since 1.0. */
GLUVIRT_API int gluvirt_image_flush(gluvirt_image *image);

/* gluvirt_image_discard: the range's data is no longer needed; it may read
 * back as anything until written again.  Since 1.0. */
GLUVIRT_API int gluvirt_image_discard(gluvirt_image *image, uint64_t offset, uint64_t length);

/* gluvirt_image_write_zeroes: the range reads back as zeros.  Since 1.0. */
GLUVIRT_API int gluvirt_image_write_zeroes(gluvirt_image *image, uint64_t offset,
                                           uint64_t length);

/* gluvirt_image_truncate: set the virtual size (raw images).  Since 1.0. */
GLUVIRT_API int gluvirt_image_truncate(gluvirt_image *image, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_IMAGE_H */

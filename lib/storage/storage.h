/*
 * Storage backends: where an image's bytes live.  The gluster backend speaks
 * gfapi; the local backend speaks POSIX.  Format drivers see only this
 * interface, never gfapi.
 */
#ifndef GLUVIRT_STORAGE_H
#define GLUVIRT_STORAGE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/internal.h"
#include "util/iov.h"

struct glv_storage;

struct glv_storage_ops {
    /* Transfer the whole range or fail: -1 with the error set.  Reads past
     * the end of the storage fill zeros. */
    int (*preadv)(struct glv_storage *s, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*pwritev)(struct glv_storage *s, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*flush)(struct glv_storage *s);
    int (*discard)(struct glv_storage *s, uint64_t offset, uint64_t length);
    int (*write_zeroes)(struct glv_storage *s, uint64_t offset, uint64_t length);
    int (*truncate)(struct glv_storage *s, uint64_t size);
    int64_t (*size)(struct glv_storage *s);
    /* Optional: whether the bytes at offset are stored data (*data 1) or a
     * hole (0), and how many of the next length bytes share that (*run > 0).
     * Storage that cannot tell says data.  0, or -1 with the error set. */
    int (*extent)(struct glv_storage *s, uint64_t offset, uint64_t length, int *data,
                  uint64_t *run);
    /* Bytes the storage allocates for the file (st_blocks), or -1. */
    int64_t (*allocated)(struct glv_storage *s);
    void (*close)(struct glv_storage *s);
    /* Optional (NULL when the backend has none): start a transfer of at
     * most GLV_STORAGE_MAX_TRANSFER bytes without waiting; done(arg, result)
     * then runs once, on any thread, with the bytes moved or -errno.
     * Returns -1 (error set, done never runs) when it cannot start. */
    int (*aio_preadv)(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                      uint64_t offset, void (*done)(void *arg, int64_t result), void *arg);
    int (*aio_pwritev)(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                       uint64_t offset, void (*done)(void *arg, int64_t result), void *arg);

    /* Optional, for creating images.  allocate: reserve the blocks of the
     * range, and when zero is set make them read as zeros as written data
     * (full preallocation); 0, 1 when the storage cannot (nothing done: the
     * caller writes zeros), or -1 with the error set. */
    int (*allocate)(struct glv_storage *s, uint64_t offset, uint64_t length, int zero);
    /* Give the file to uid:gid (-1 leaves that one as it is): 0 or -1 with
     * the error set. */
    int (*chown)(struct glv_storage *s, int64_t uid, int64_t gid);
    /* Remove the file again (a creation that failed); close still follows. */
    void (*remove)(struct glv_storage *s);
};

struct glv_storage {
    const struct glv_storage_ops *ops;
    char *name; /* for messages: the URI or the path */
    int writable;
    int flush_failed; /* sticky: data written before a failed flush may be lost */
};

/* Open flags shared by the backends. */
struct glv_storage_flags {
    int writable;
    int direct;
};

struct glv_storage *glv_storage_gluster_open(gluvirt_pool *pool, const gluvirt_uri *uri,
                                             struct glv_storage_flags flags);
struct glv_storage *glv_storage_local_open(const char *path, struct glv_storage_flags flags);

/* Create a file and open it writable, as images are made: mode 0644, a
 * regular file, replacing one that exists only when overwrite is set (else
 * EEXIST).  name is the image as messages name it.  NULL with the error set
 * in words that say what to do (glv_storage_create_error). */
struct glv_storage *glv_storage_gluster_create(gluvirt_pool *pool, const gluvirt_uri *uri,
                                               const char *name, int overwrite);
struct glv_storage *glv_storage_local_create(const char *path, int overwrite);

/* The largest piece a backend sends in one call; bigger requests are split
 * (gfapi fails transfers of 1 GiB or more). */
#define GLV_STORAGE_MAX_TRANSFER (512u << 20)

/* ---- shared by the backends (storage_common.c) ---- */

/* Record an I/O error on s ("cannot read URI at offset N: ..."); returns -1. */
int glv_storage_io_error(struct glv_storage *s, const char *what, uint64_t offset, int err);

/* Record why creating name failed (err: the create's errno); on_gluster
 * adds the volume's owner options to a permission error. */
void glv_storage_create_error(const char *name, int on_gluster, int err, int overwrite);

/* Record that s could not be given to uid:gid (err: the errno); returns -1. */
int glv_storage_owner_error(struct glv_storage *s, int64_t uid, int64_t gid, int err);

/* -1 with EIO once a flush of s has failed, else 0. */
int glv_storage_refuse_after_lost_flush(struct glv_storage *s);

/* One backend call moving at most GLV_STORAGE_MAX_TRANSFER bytes: the bytes
 * moved, 0 at the end of the file, or -1 with errno. */
typedef ssize_t (*glv_storage_move_fn)(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                                       uint64_t offset, int writing);

/* A whole transfer in pieces; reads past the end of the file fill zeros. */
int glv_storage_transfer(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                         uint64_t offset, int writing, glv_storage_move_fn move);

/* Zero a range by writing zeros, for storage that cannot zero it itself. */
int glv_storage_write_zero_buffers(struct glv_storage *s, uint64_t offset, uint64_t length);

/*
 * The extent answer from lseek-style SEEK_DATA / SEEK_HOLE results: seek(s,
 * offset, whence) returns the position or -1 with errno.  (storage_common.c)
 */
typedef int64_t (*glv_storage_seek_fn)(struct glv_storage *s, uint64_t offset, int whence);
int glv_storage_extent_by_seek(struct glv_storage *s, uint64_t offset, uint64_t length,
                               int *data, uint64_t *run, glv_storage_seek_fn seek);

#endif

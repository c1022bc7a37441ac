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
    /* flags: GLV_ZERO_* below.  With GLV_ZERO_NO_FALLBACK, -1 with ENOTSUP
     * (nothing changed) where the backend would have to write zeros or
     * cannot tell whether it would. */
    int (*write_zeroes)(struct glv_storage *s, uint64_t offset, uint64_t length,
                        unsigned flags);
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

    /* Optional, for image locking (storage_lock.c): byte-range locks that
     * belong to this open of the file alone, so that a second open of the
     * same file, in this process or any other, conflicts with them.
     * lock_range: take (take 1) a shared lock on the length bytes from
     * start, or drop it (take 0); 0, or -1 with errno (nothing recorded).
     * lock_test: whether another open holds a lock on any of those bytes:
     * 1 (*holder: its process id, or 0 when the storage cannot tell), 0
     * free, -1 with errno. */
    int (*lock_range)(struct glv_storage *s, uint64_t start, uint64_t length, int take);
    int (*lock_test)(struct glv_storage *s, uint64_t start, uint64_t length, int64_t *holder);
};

struct glv_storage {
    const struct glv_storage_ops *ops;
    char *name; /* for messages: the URI or the path */
    int writable;
    int flush_failed; /* sticky: data written before a failed flush may be lost */
    unsigned locked_perm;     /* what glv_storage_lock holds: permission bits */
    unsigned locked_unshared; /* and the bits it refuses to share */
};

/* How a range is zeroed (the values of the public GLUVIRT_REQ_* flags):
 * MAY_TRIM lets the storage free the blocks (punch a hole); NO_FALLBACK
 * asks for a fast zeroing or ENOTSUP. */
#define GLV_ZERO_MAY_TRIM 2u
#define GLV_ZERO_NO_FALLBACK 4u

/* -1 with ENOTSUP for a fast zeroing s cannot do (what: the call). */
int glv_storage_no_fast_zero(struct glv_storage *s, const char *why);

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

/* ---- image locking (storage_lock.c) ----
 *
 * QEMU's scheme for image files (block/file-posix.c), so that QEMU and
 * gluvirt see each other: an opener holds a shared lock on byte 100 + i for
 * each permission i it uses, and on byte 200 + i for each permission it
 * does not let others use.  An opener is refused when another holds a byte
 * 200 + i of a permission it wants, or a byte 100 + i of a permission it
 * does not share.  Bit i of the masks below is permission i, in QEMU's
 * order. */
#define GLV_PERM_CONSISTENT_READ 0x1u
#define GLV_PERM_WRITE 0x2u
#define GLV_PERM_WRITE_UNCHANGED 0x4u
#define GLV_PERM_RESIZE 0x8u
#define GLV_PERM_ALL 0xfu

#define GLV_LOCK_PERM_BASE 100u
#define GLV_LOCK_SHARED_BASE 200u

/* Take the locks of perm (the permissions s is opened to use) and of the
 * permissions outside shared, then check that no other open of the file
 * conflicts.  0; -1 with EBUSY and a message that names the image, the
 * permission and, where the storage knows it, the holder's process (name:
 * the image as messages call it); -1 with another errno when the storage
 * cannot lock (ENOLCK, ENOTSUP: the message says how to open without
 * locking).  Nothing stays locked after a failure. */
int glv_storage_lock(struct glv_storage *s, const char *name, unsigned perm, unsigned shared);

/* Drop every lock glv_storage_lock took on s (closing the file does too). */
void glv_storage_unlock(struct glv_storage *s);

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

/*
 * libgluvirt — disk images: open one on a gluster volume (through a
 * connection pool) or in a local file, and read and write it.
 *
 * An image is read through a format driver (raw or qcow2) on top of a
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
/* Ask for direct I/O (O_DIRECT), bypassing caches, where the storage allows;
 * buffers, offsets and lengths must then suit the storage's block size.  Raw
 * images only: opening a qcow2 image (or a backing chain with one) with it
 * fails with ENOTSUP.  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_direct(gluvirt_open_options *options, int direct);

/* The size of the qcow2 driver's L2 table cache in bytes (default 4 MiB:
 * enough to map 32 GiB of a 64 KiB-cluster image without re-reading a table;
 * at least two tables are kept whatever the size).  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_l2_cache_size(gluvirt_open_options *options,
                                                       uint64_t bytes);

/*
 * Which backing files a qcow2 image may name:
 *   GLUVIRT_BACKING_SAME_STORE  (default) a name relative to the image's own
 *                               directory on the same volume (or, for a
 *                               local image, a local path); the same volume
 *                               named by a gluster URI.  Anything else (an
 *                               absolute host path for an image on gluster,
 *                               "json:", "file:", another volume or protocol)
 *                               is refused with EPERM.
 *   GLUVIRT_BACKING_ANY         also local paths and gluster URIs elsewhere.
 *   GLUVIRT_BACKING_NONE        open no backing file: what the image itself
 *                               does not hold reads as zeros.
 */
typedef enum gluvirt_backing_policy {
    GLUVIRT_BACKING_SAME_STORE = 0,
    GLUVIRT_BACKING_ANY = 1,
    GLUVIRT_BACKING_NONE = 2
} gluvirt_backing_policy;

/* Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_backing(gluvirt_open_options *options,
                                                 gluvirt_backing_policy policy);

/* Open a qcow2 image as it was at an internal snapshot, named by its name or,
 * failing that, its id; read-only.  NULL: the current state.  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_snapshot(gluvirt_open_options *options,
                                                  const char *name_or_id);

/*
 * Image locking.  An open takes the locks QEMU takes on image files, so
 * that two writers never share a disk, whether each is QEMU or gluvirt:
 * on a local file the same OFD locks on the same bytes as QEMU (QEMU and
 * gluvirt refuse each other); on a volume, byte-range locks on the same
 * bytes through gfapi, which another pool, process or host sees (QEMU's
 * gluster driver takes none, so there only gluvirt's opens see each
 * other).  A writable open refuses an image another opens for writing,
 * or reads as qcow2; a read-only qcow2 open refuses an image another
 * writes, since its metadata may change underneath; a read-only raw open
 * refuses nothing.  Backing files are locked as read-only opens.  The
 * refusal is EBUSY with a message that names the image, what conflicts
 * and, on a volume, the holder's process id.  Locks go when the image is
 * closed and at once when its process dies.  On a volume they also go when
 * the bricks drop a client whose host is lost: by TCP keepalive, after the
 * volume's server.keepalive-time + server.keepalive-interval x
 * server.keepalive-count (38 s with the defaults); until then a new writer
 * gets EBUSY.
 *
 * gluvirt_open_options_set_force_share: a read-only open that shares every
 * permission, so that it opens beside a writer (qemu-img's -U), at the
 * price of reading what may be changing.  With a writable open,
 * gluvirt_image_open fails with EINVAL.  Default off.  Returns 0, or -1
 * (EINVAL) for NULL options.  Since 1.1.
 */
GLUVIRT_API int gluvirt_open_options_set_force_share(gluvirt_open_options *options,
                                                     int force_share);

typedef enum gluvirt_locking_mode {
    GLUVIRT_LOCKING_ON = 0, /* the default */
    GLUVIRT_LOCKING_OFF = 1 /* take and check no locks */
} gluvirt_locking_mode;

/*
 * gluvirt_open_options_set_locking: GLUVIRT_LOCKING_OFF opens without
 * taking or checking locks (QEMU's file.locking=off), for writers that
 * coordinate themselves (a cluster manager that guarantees one writer per
 * disk) and for storage that cannot lock (the open then fails with ENOLCK
 * or ENOTSUP and says so).  Nothing then protects the image from a second
 * writer.  Returns 0, or -1 (EINVAL) for NULL options or an unknown mode.
 * Since 1.1.
 */
GLUVIRT_API int gluvirt_open_options_set_locking(gluvirt_open_options *options,
                                                 gluvirt_locking_mode mode);

/*
 * gluvirt_image_open: open target, which is a gluster URI ("gluster://...")
 * or a local path.  pool serves gluster targets (NULL: a pool private to
 * this image); options may be NULL for the defaults.
 * Returns NULL with errno and a message on failure: the pool's connect
 * errors, ENOENT (no such image), EACCES, EISDIR, ENOTSUP (a format this
 * version cannot read), EINVAL, and since 1.1 EBUSY (another writer holds the
 * image: see image locking above).  Since 1.0.
 *
 * Writable qcow2 images: versions 2 and 3, every cluster size and refcount
 * width, internal snapshots (shared clusters are copied before they are
 * written), compressed clusters (replaced by normal ones when written),
 * extended L2 entries, external data files, lazy refcounts (the dirty bit
 * is set while open and cleared on a clean close) and backing files (only
 * read).  Persistent bitmaps give ENOTSUP for a writable open (read-only
 * opens work); an image marked corrupt, or left dirty by a writer that
 * stopped, gives EROFS until repaired (gluvirt check -r all).
 * A write that would overwrite the image's own metadata (a damaged image)
 * fails with EIO and marks the image corrupt.
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
 * back as anything until written again.  (qcow2: whole clusters are freed
 * for reuse and read as zeros, or on version 2 with a backing file as the
 * backing file; the parts of clusters at the ends are left.)  Since 1.0. */
GLUVIRT_API int gluvirt_image_discard(gluvirt_image *image, uint64_t offset, uint64_t length);

/* gluvirt_image_write_zeroes: the range reads back as zeros.  Since 1.0. */
GLUVIRT_API int gluvirt_image_write_zeroes(gluvirt_image *image, uint64_t offset,
                                           uint64_t length);

/*
 * Request flags, for the calls whose names end in _flags (since 1.2).  A
 * call given a bit it does not know, or one that does not apply to it,
 * fails with EINVAL and does nothing.
 *
 *   GLUVIRT_REQ_FUA          the request is durable when it completes: the
 *                            data and, for qcow2, the metadata it needed are
 *                            flushed before the call returns (or the callback
 *                            runs), as gluvirt_image_flush would.  Writes and
 *                            write_zeroes.
 *   GLUVIRT_REQ_MAY_TRIM     write_zeroes only: the range may be unmapped
 *                            and its space freed (QEMU's BDRV_REQ_MAY_UNMAP,
 *                            NBD's NBD_CMD_FLAG_NO_HOLE cleared).  qcow2 v3
 *                            frees the host clusters and sets the zero flag;
 *                            qcow2 v2 unmaps what nothing shows through;
 *                            raw punches a hole.  Without it qcow2 v3
 *                            keeps each cluster allocated with the zero flag
 *                            (qemu-img map shows it zero, with an offset),
 *                            v2 over a backing file writes zeros into
 *                            allocated clusters (v2 without one unmaps
 *                            either way, as QEMU does), and raw keeps its
 *                            blocks allocated.
 *   GLUVIRT_REQ_NO_FALLBACK  write_zeroes only (NBD's fast zero): fail at once
 *                            with ENOTSUP, changing nothing, where zeroing
 *                            would have to write zero bytes or cannot promise
 *                            not to: ends that are not cluster-aligned in
 *                            qcow2, qcow2 v2 with a backing file, a raw
 *                            external data file,
 *                            a raw image whose storage cannot zero or punch
 *                            the range itself (on gluster, a raw image
 *                            without GLUVIRT_REQ_MAY_TRIM).  The caller then
 *                            writes zeros its own way, or skips a range it
 *                            knows is already zero.
 */
#define GLUVIRT_REQ_FUA 1u
#define GLUVIRT_REQ_MAY_TRIM 2u
#define GLUVIRT_REQ_NO_FALLBACK 4u

/*
 * gluvirt_image_pwrite_flags / pwritev_flags: gluvirt_image_pwrite and
 * pwritev with request flags: GLUVIRT_REQ_FUA, or 0 for the plain call.
 * Returns count (the bytes of the vector), or -1: the errors of
 * gluvirt_image_pwrite, EINVAL for another flag, and those of
 * gluvirt_image_flush when GLUVIRT_REQ_FUA is set (the data was written
 * but may not be durable).  Thread-safe as the plain calls.  Since 1.2.
 */
GLUVIRT_API ssize_t gluvirt_image_pwrite_flags(gluvirt_image *image, const void *buf,
                                               size_t count, uint64_t offset, unsigned flags);
GLUVIRT_API ssize_t gluvirt_image_pwritev_flags(gluvirt_image *image, const struct iovec *iov,
                                                int iovcnt, uint64_t offset, unsigned flags);

/*
 * gluvirt_image_write_zeroes_flags: make [offset, offset + length) read as
 * zeros, with any of GLUVIRT_REQ_FUA, GLUVIRT_REQ_MAY_TRIM and
 * GLUVIRT_REQ_NO_FALLBACK (what each does: gluvirt_image(3), the page of
 * <gluvirt/image.h>).  gluvirt_image_write_zeroes is this
 * call with GLUVIRT_REQ_MAY_TRIM on qcow2 images and 0 on raw ones (its
 * behaviour since 1.0).  Returns 0, or -1: ENOTSUP with
 * GLUVIRT_REQ_NO_FALLBACK when the zeroing would not be fast (nothing was
 * changed), EINVAL for an unknown flag or a range past the end, EROFS on a
 * read-only image, EIO and the storage's errors.  Since 1.2.
 */
GLUVIRT_API int gluvirt_image_write_zeroes_flags(gluvirt_image *image, uint64_t offset,
                                                 uint64_t length, unsigned flags);

/* gluvirt_image_truncate: set the virtual size (raw images; qcow2 images
 * since 1.2, to a multiple of 512, as gluvirt_image_resize with the shrink
 * option does: EINVAL for another size, ENOTSUP for a version 2 image with
 * internal snapshots).  Since 1.0. */
GLUVIRT_API int gluvirt_image_truncate(gluvirt_image *image, uint64_t size);

/*
 * Describing an image.
 *
 * gluvirt_image_info_int / _string: a property of the image (the top of
 * its backing chain); -1 or NULL when the image's format has no such
 * property (errno ENOENT) or on a bad argument (EINVAL).  Strings belong to
 * the image.  Since 1.0.
 */
typedef enum gluvirt_info_key {
    GLUVIRT_INFO_FILENAME = 0,          /* string: the target as opened */
    GLUVIRT_INFO_ALLOCATED_SIZE = 1,    /* int: bytes the storage allocates */
    GLUVIRT_INFO_CLUSTER_SIZE = 2,      /* int (qcow2) */
    GLUVIRT_INFO_QCOW2_VERSION = 3,     /* int: 2 or 3 */
    GLUVIRT_INFO_REFCOUNT_BITS = 4,     /* int */
    GLUVIRT_INFO_DIRTY = 5,             /* int 0/1 */
    GLUVIRT_INFO_CORRUPT = 6,           /* int 0/1 */
    GLUVIRT_INFO_LAZY_REFCOUNTS = 7,    /* int 0/1 */
    GLUVIRT_INFO_EXTENDED_L2 = 8,       /* int 0/1 */
    GLUVIRT_INFO_COMPRESSION_TYPE = 9,  /* string: "zlib" or "zstd" */
    GLUVIRT_INFO_BACKING_NAME = 10,     /* string: as the image stores it */
    GLUVIRT_INFO_BACKING_FULL_NAME = 11,/* string: resolved against the image */
    GLUVIRT_INFO_BACKING_FORMAT = 12,   /* string */
    GLUVIRT_INFO_DATA_FILE = 13,        /* string: external data file name */
    GLUVIRT_INFO_SNAPSHOT_COUNT = 14    /* int */
} gluvirt_info_key;

GLUVIRT_API int64_t gluvirt_image_info_int(gluvirt_image *image, gluvirt_info_key key);
GLUVIRT_API const char *gluvirt_image_info_string(gluvirt_image *image, gluvirt_info_key key);

/* gluvirt_image_backing: the backing image (owned by image, closed with
 * it), or NULL when there is none.  Since 1.0. */
GLUVIRT_API gluvirt_image *gluvirt_image_backing(gluvirt_image *image);

/*
 * Internal snapshots (qcow2), index 0 .. GLUVIRT_INFO_SNAPSHOT_COUNT - 1.
 * Strings belong to the image.  Since 1.0.
 */
typedef enum gluvirt_snapshot_key {
    GLUVIRT_SNAPSHOT_ID = 0,            /* string */
    GLUVIRT_SNAPSHOT_NAME = 1,          /* string */
    GLUVIRT_SNAPSHOT_VM_STATE_SIZE = 2, /* int */
    GLUVIRT_SNAPSHOT_DATE_SEC = 3,      /* int */
    GLUVIRT_SNAPSHOT_DATE_NSEC = 4,     /* int */
    GLUVIRT_SNAPSHOT_VM_CLOCK_NSEC = 5, /* int */
    GLUVIRT_SNAPSHOT_ICOUNT = 6,        /* int: -1 when not recorded */
    GLUVIRT_SNAPSHOT_DISK_SIZE = 7      /* int: virtual size at the snapshot */
} gluvirt_snapshot_key;

GLUVIRT_API int64_t gluvirt_image_snapshot_int(gluvirt_image *image, int index,
                                               gluvirt_snapshot_key key);
GLUVIRT_API const char *gluvirt_image_snapshot_string(gluvirt_image *image, int index,
                                                      gluvirt_snapshot_key key);

/*
 * gluvirt_image_block_status: what the bytes from offset hold, as qemu-img
 * map reports it.  Looks at most length bytes ahead and returns the length of
 * the run that shares one status (> 0), 0 at or past the end, or -1.
 * flags: GLUVIRT_BLOCK_* bits; depth: the layer of the backing chain the run
 * comes from (0: this image; for a run no layer holds, the last layer);
 * host_offset: where the run's bytes start in that layer's file, or -1
 * (zeros, compressed data, unallocated).  Any out pointer may be NULL.
 * Since 1.0.
 */
#define GLUVIRT_BLOCK_DATA 1u      /* read from stored data */
#define GLUVIRT_BLOCK_ZERO 2u      /* reads as zeros */
#define GLUVIRT_BLOCK_PRESENT 4u   /* some layer of the chain holds it */
#define GLUVIRT_BLOCK_COMPRESSED 8u

GLUVIRT_API int64_t gluvirt_image_block_status(gluvirt_image *image, uint64_t offset,
                                               uint64_t length, unsigned *flags, int *depth,
                                               int64_t *host_offset);

/*
 * Callback I/O.
 *
 * Each request carries {complete, user_data, release}.  complete(user_data,
 * result) runs once when the request is done, with result the bytes
 * transferred (reads: fewer only at the end of the image) or 0, or a
 * negative errno value.  release(user_data), when not NULL, runs exactly
 * once after that — or, when the submit call itself fails, before it
 * returns (complete does not run then).
 *
 * Callbacks never run on gfapi's threads.  Where they run is the image's
 * completion mode (gluvirt_open_options_set_completion):
 *   GLUVIRT_COMPLETION_THREAD  on a thread of the library (the default);
 *   GLUVIRT_COMPLETION_POLL    on the caller's thread, inside
 *                              gluvirt_image_dispatch(), which an event loop
 *                              calls when gluvirt_image_completion_fd()
 *                              becomes readable.
 * A callback may submit new requests; it must not close the image.  Reads
 * that callbacks submit go out once the callbacks that ran with them have
 * returned, those that continue each other as one storage read (up to
 * 1 MiB); each still completes on its own, with its own result.  Requests
 * in flight together are not ordered: a caller that needs a read to see a
 * write submits it after the write's completion.
 *
 * At most the queue depth (default 128) requests are in flight; a request
 * holds its slot until its callbacks have returned, so a callback that
 * submits the next request needs one slot more than the depth it keeps.  A submit
 * beyond it waits for a slot in THREAD mode (from inside a callback it fails
 * with EAGAIN instead), and fails with EAGAIN in POLL mode (dispatch, then
 * submit again).  gluvirt_image_close waits for every
 * request in flight and runs its callbacks first.
 */
typedef void (*gluvirt_complete_fn)(void *user_data, int64_t result);
typedef void (*gluvirt_release_fn)(void *user_data);

typedef enum gluvirt_completion_mode {
    GLUVIRT_COMPLETION_THREAD = 0,
    GLUVIRT_COMPLETION_POLL = 1
} gluvirt_completion_mode;

/* Where callbacks run (see above).  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_completion(gluvirt_open_options *options,
                                                    gluvirt_completion_mode mode);
/* How many callback requests may be in flight, 1..4096 (default 128).  Since 1.0. */
GLUVIRT_API int gluvirt_open_options_set_queue_depth(gluvirt_open_options *options,
                                                     unsigned depth);

/* Submit a read into buf (which must stay valid until complete runs).
 * Returns 0, or -1 with the error set (release has run).  Since 1.0. */
GLUVIRT_API int gluvirt_image_aio_read(gluvirt_image *image, void *buf, size_t count,
                                       uint64_t offset, gluvirt_complete_fn complete,
                                       void *user_data, gluvirt_release_fn release);
/* Submit a write of buf (valid until complete runs).  Since 1.0. */
GLUVIRT_API int gluvirt_image_aio_write(gluvirt_image *image, const void *buf, size_t count,
                                        uint64_t offset, gluvirt_complete_fn complete,
                                        void *user_data, gluvirt_release_fn release);
/* Submit a flush: complete runs after every write completed before it is durable.
 * Since 1.0. */
GLUVIRT_API int gluvirt_image_aio_flush(gluvirt_image *image, gluvirt_complete_fn complete,
                                        void *user_data, gluvirt_release_fn release);
GLUVIRT_API int gluvirt_image_aio_discard(gluvirt_image *image, uint64_t offset,
                                          uint64_t length, gluvirt_complete_fn complete,
                                          void *user_data, gluvirt_release_fn release);
GLUVIRT_API int gluvirt_image_aio_write_zeroes(gluvirt_image *image, uint64_t offset,
                                               uint64_t length, gluvirt_complete_fn complete,
                                               void *user_data, gluvirt_release_fn release);

/*
 * gluvirt_image_aio_write_flags / aio_write_zeroes_flags: the callback forms
 * of gluvirt_image_pwrite_flags and gluvirt_image_write_zeroes_flags, with
 * the same flags and errors.  A request with GLUVIRT_REQ_FUA completes once
 * it is durable; a GLUVIRT_REQ_NO_FALLBACK zeroing that would not be fast
 * completes with -ENOTSUP.  Unknown flags fail the submit with EINVAL
 * (release has run).  Since 1.2.
 */
GLUVIRT_API int gluvirt_image_aio_write_flags(gluvirt_image *image, const void *buf,
                                              size_t count, uint64_t offset, unsigned flags,
                                              gluvirt_complete_fn complete, void *user_data,
                                              gluvirt_release_fn release);
GLUVIRT_API int gluvirt_image_aio_write_zeroes_flags(gluvirt_image *image, uint64_t offset,
                                                     uint64_t length, unsigned flags,
                                                     gluvirt_complete_fn complete,
                                                     void *user_data,
                                                     gluvirt_release_fn release);

/*
 * gluvirt_image_completion_fd: in POLL mode, a file descriptor that becomes
 * readable when callbacks are ready to run (owned by the image); -1 with
 * EINVAL in THREAD mode.  Since 1.0.
 */
GLUVIRT_API int gluvirt_image_completion_fd(gluvirt_image *image);

/*
 * gluvirt_image_dispatch: in POLL mode, run the callbacks of the requests
 * that are done, on the calling thread.  Returns how many ran, or -1.
 * Since 1.0.
 */
GLUVIRT_API int gluvirt_image_dispatch(gluvirt_image *image);

/* gluvirt_image_in_flight: callback requests submitted and not yet finished:
 * a request counts until its release callback (or its completion callback,
 * without one) has returned.
 * Since 1.0. */
GLUVIRT_API int gluvirt_image_in_flight(gluvirt_image *image);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_IMAGE_H */

/*
 * Format drivers: how an image's virtual disk maps onto its storage.  A
 * driver sees only the storage interface (storage.h).
 */
#ifndef GLUVIRT_FORMAT_H
#define GLUVIRT_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <gluvirt/image.h>

#include "storage/storage.h"

struct glv_format;

/* What a format's check found (QEMU's BdrvCheckResult): counts, the
 * figures 'qemu-img check' prints, and one line per problem. */
struct glv_check_report {
    uint64_t corruptions, leaks, check_errors;
    uint64_t corruptions_fixed, leaks_fixed;
    uint64_t image_end_offset;
    uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
    char **messages;            /* at most GLV_CHECK_MAX_MESSAGES of them */
    size_t message_count;
    uint64_t messages_dropped;  /* lines past the limit, counted only */
};

#define GLV_CHECK_MAX_MESSAGES 1000

/* What a check may repair: leaked clusters, and the corruptions QEMU's
 * 'qemu-img check -r all' repairs. */
enum { GLV_CHECK_FIX_LEAKS = 1, GLV_CHECK_FIX_ERRORS = 2 };

/* Add one problem line to r (dropped, but counted, past the limit). */
void glv_check_note(struct glv_check_report *r, const char *fmt, ...) GLV_PRINTF(2, 3);
void glv_check_report_release(struct glv_check_report *r);

/* Where a range of the virtual disk lives, as one format layer sees it. */
enum glv_map_kind {
    GLV_MAP_DATA,        /* stored bytes, at host_offset in host */
    GLV_MAP_ZERO,        /* reads as zeros (this layer says so) */
    GLV_MAP_COMPRESSED,  /* stored compressed: no host offset */
    GLV_MAP_UNALLOCATED  /* not in this layer: the backing file, or zeros */
};

struct glv_mapping {
    enum glv_map_kind kind;
    uint64_t length;            /* bytes from the asked offset that share this mapping */
    /* DATA: where the bytes are.  ZERO and UNALLOCATED: where the cluster
     * holding them is allocated, when it is (else host is NULL). */
    uint64_t host_offset;
    struct glv_storage *host;   /* the image's file or its external data file */
};

/* Whether m puts the first length bytes in one run of stored bytes that its
 * storage can read asynchronously: the callback paths send such reads
 * straight to the storage. */
static inline int glv_mapping_reads_async(const struct glv_mapping *m, uint64_t length)
{
    return m->kind == GLV_MAP_DATA && m->length >= length && m->host->ops->aio_preadv;
}

struct glv_format_ops {
    const char *name;
    /* Virtual size in bytes. */
    int64_t (*size)(struct glv_format *f);
    /* Whole-range transfers inside the virtual size (the image layer clamps). */
    int (*preadv)(struct glv_format *f, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*pwritev)(struct glv_format *f, const struct iovec *iov, int iovcnt, uint64_t offset);
    int (*flush)(struct glv_format *f);
    int (*discard)(struct glv_format *f, uint64_t offset, uint64_t length);
    /* flags: GLV_ZERO_MAY_TRIM, GLV_ZERO_NO_FALLBACK (storage.h), as the
     * public GLUVIRT_REQ_MAY_TRIM and GLUVIRT_REQ_NO_FALLBACK say. */
    int (*write_zeroes)(struct glv_format *f, uint64_t offset, uint64_t length,
                        unsigned flags);
    int (*truncate)(struct glv_format *f, uint64_t size);
    /* Release the driver; the storage stays open (the image closes it). */
    void (*close)(struct glv_format *f);

    /* Map [offset, offset + length) (inside the virtual size, length > 0):
     * fills *m with the mapping of the first bytes.  cached_only: fail with
     * EAGAIN (no error message) instead of reading metadata from storage, so
     * a submitter never blocks.  0, or -1 with the error set. */
    int (*map)(struct glv_format *f, uint64_t offset, uint64_t length, int cached_only,
               struct glv_mapping *m);
    /* The rest is optional (NULL when the format has none). */

    /* Properties: -1 / NULL with ENOENT when the format has none. */
    int64_t (*info_int)(struct glv_format *f, gluvirt_info_key key);
    const char *(*info_string)(struct glv_format *f, gluvirt_info_key key);
    int64_t (*snapshot_int)(struct glv_format *f, int index, gluvirt_snapshot_key key);
    const char *(*snapshot_string)(struct glv_format *f, int index, gluvirt_snapshot_key key);

    /* Check the image's metadata into *r (zeroed by the caller); with fix
     * (GLV_CHECK_FIX_*), repair what it may.  storage_writable: the image's
     * file may be written even when the driver was opened read-only (an
     * open for repair).  0 when the check ran to its end (its findings are
     * in *r), -1 with the error set when it could not (r->check_errors
     * then says why, as far as it got). */
    int (*check)(struct glv_format *f, unsigned fix, int storage_writable,
                 struct glv_check_report *r);

    /* Internal snapshots, on a driver opened writable with no other request
     * in flight: create one of the current state named name; apply (go
     * back to) the one with id or name key; delete the one named key.  0,
     * or -1 with the error set (ENOENT for no such snapshot). */
    int (*snapshot_create)(struct glv_format *f, const char *name);
    int (*snapshot_apply)(struct glv_format *f, const char *key);
    int (*snapshot_delete)(struct glv_format *f, const char *key);
};

/* A backing file as a format driver sees it: read fills the whole vector
 * from offset, with zeros past the backing file's end; 0, or -1 with the
 * error set.  The image layer owns what arg points to. */
struct glv_backing_reader {
    int (*read)(void *arg, const struct iovec *iov, int iovcnt, uint64_t offset);
    void *arg;
};

struct glv_format {
    const struct glv_format_ops *ops;
    struct glv_storage *storage;
    /* Set by the driver at open when the image names a backing file: the
     * name as stored, and its format (NULL when the image does not say). */
    const char *backing_name;
    const char *backing_format;
    /* Handed down by the image layer after open: what unallocated ranges
     * read from (read NULL: nothing, they read as zeros).  The driver reads
     * them through glv_format_read_backing. */
    struct glv_backing_reader backing;
};

struct glv_format *glv_format_raw_open(struct glv_storage *storage);

/* Whether f is the raw format (bytes map one to one onto its storage). */
int glv_format_is_raw(const struct glv_format *f);

/* How the image layer opens files an image names (external data files). */
struct glv_sibling_opener {
    /* A storage for name, resolved and checked like a backing file name;
     * NULL with the error set. */
    struct glv_storage *(*open)(void *ctx, const char *name, int writable);
    void *ctx;
};

struct glv_qcow2_options {
    uint64_t l2_cache_size;          /* bytes; 0: the default */
    const char *snapshot;            /* NULL: the current state */
    struct glv_sibling_opener data_file;
    int writable;                    /* the storage is writable and writes will come */
};

/* NULL with the error set (EINVAL for a damaged or hostile image, ENOTSUP for
 * a feature this version cannot read, or with options->writable cannot
 * write, EROFS for a writable open of an image marked corrupt or dirty,
 * ENOENT for an unknown snapshot). */
struct glv_format *glv_format_qcow2_open(struct glv_storage *storage,
                                         const struct glv_qcow2_options *options);

/*
 * Read [offset, offset + length of iov) from f's backing file: the bytes
 * past the backing file's end, or all of them when there is none, read as
 * zeros.  0, or -1 with the error set.
 */
static inline int glv_format_read_backing(struct glv_format *f, const struct iovec *iov,
                                          int iovcnt, uint64_t offset)
{
    if (f->backing.read)
        return f->backing.read(f->backing.arg, iov, iovcnt, offset);
    glv_iov_zero(iov, iovcnt, 0);
    return 0;
}

#endif

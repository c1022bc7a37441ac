/*
 * The qcow2 driver's read path, shared between its files:
 *   qcow2_l2_cache.c    L2 tables, each read once and kept in a bounded cache
 *   qcow2_cluster.c     guest offset -> extent (L1 -> L2 -> entry), coalesced
 *   qcow2_compressed.c  compressed clusters: descriptor, read, inflate
 *   format_qcow2.c      open, the format ops, the read loop, properties
 */
#ifndef GLUVIRT_QCOW2_DRIVER_H
#define GLUVIRT_QCOW2_DRIVER_H

#include <stdint.h>
#include <sys/uio.h>

#include "format/qcow2.h"

/* ------------------------------------------------------------ L2 cache */

struct qcow2_l2_cache;

/* The default bound on an image's cached L2 tables, in bytes. */
#define QCOW2_L2_CACHE_DEFAULT (4ull << 20)

/*
 * A cache of the L2 tables of the image in s, each table_bytes long: at
 * most cache_bytes of them (but at least two, and no more than max_tables,
 * the most an L1 table can point to).  NULL with the error set.
 */
struct qcow2_l2_cache *qcow2_l2_cache_new(struct glv_storage *s, uint64_t table_bytes,
                                          uint64_t cache_bytes, uint64_t max_tables);
void qcow2_l2_cache_free(struct qcow2_l2_cache *c);

/*
 * The entries (host-endian) of the L2 table at host offset table_offset,
 * read from storage on a miss; concurrent misses on one table read it once.
 * On success the cache is locked: the entries stay valid until
 * qcow2_l2_cache_unlock, which the caller must call soon (no I/O meanwhile).
 * NULL when the table cannot be read (error set), or, with cached_only and
 * the table not cached, NULL with errno EAGAIN and no message.
 */
const uint64_t *qcow2_l2_cache_lookup(struct qcow2_l2_cache *c, uint64_t table_offset,
                                      int cached_only);
void qcow2_l2_cache_unlock(struct qcow2_l2_cache *c);

/* How many tables the cache has read from storage (for tests). */
uint64_t qcow2_l2_cache_loads(struct qcow2_l2_cache *c);

/* For writers, after the new entries reached the disk: set entry index of
 * the table at table_offset in the cached copy, if the table is cached (a
 * table not cached is read from disk when next needed, new entries and
 * all).  A load of that table in progress is waited for first. */
void qcow2_l2_cache_set(struct qcow2_l2_cache *c, uint64_t table_offset, uint64_t index,
                        uint64_t value);

/* Drop the table at table_offset from the cache, if there: its cluster now
 * holds something else. */
void qcow2_l2_cache_forget(struct qcow2_l2_cache *c, uint64_t table_offset);

/* ------------------------------------------------------------ the image */

struct qcow2_decompressor; /* qcow2_compressed.c */
struct qcow2_writer;       /* qcow2_write.h */

struct qcow2_image {
    struct glv_format base;
    struct qcow2_header h;

    /* What is read: the active state or one snapshot. */
    const uint64_t *l1;
    uint32_t l1_size;
    uint64_t size;              /* virtual size */
    int extended_l2;            /* 128-bit L2 entries */
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits;           /* log2 of the entries in one L2 table */
    uint32_t subcluster_bits;   /* log2 of the allocation unit: cluster or subcluster */

    /* Where data clusters live: the image's file or its external data file. */
    struct glv_storage *data;
    struct glv_storage *data_file;  /* owned; NULL without an external data file */
    int data_file_raw;              /* the data file is the disk, byte for byte */

    /* Sizes known so far; refreshed from storage before an entry that points
     * past them is called corrupt (another process may be growing the file). */
    uint64_t file_size;
    uint64_t data_size;

    struct qcow2_l2_cache *l2_cache;

    /* Compressed cluster descriptors. */
    uint64_t compressed_offset_mask;
    uint32_t compressed_sectors_shift;
    uint64_t compressed_sectors_mask;

    /* Idle decompression contexts and their buffers, reused across requests. */
    pthread_mutex_t decompressor_lock;
    struct qcow2_decompressor *idle_decompressors;
    unsigned idle_count;

    /* The write side; NULL when the image is opened read-only.  The L1
     * table (h.l1) is then changed by writers: read its entries with
     * qcow2_l1_entry. */
    struct qcow2_writer *writer;
};

static inline uint64_t qcow2_l1_entry(const struct qcow2_image *q, uint64_t index)
{
    return __atomic_load_n(&q->l1[index], __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ mapping */

/* A run of guest bytes that one read can serve. */
struct qcow2_extent {
    struct glv_mapping m;
    uint64_t l2_entry;          /* COMPRESSED: the cluster's descriptor */
};

/*
 * Map the first bytes of [offset, offset + length) (inside the virtual
 * size, length > 0): one run of one kind, contiguous on the host for DATA,
 * within one L2 table; a COMPRESSED extent stays inside one cluster.
 * cached_only: -1 with errno EAGAIN (no message) rather than reading an L2
 * table or asking the storage for its size.  0, or -1 with the error set
 * (EIO for a damaged entry, naming the guest offset and the entry).
 */
int qcow2_map_extent(struct qcow2_image *q, uint64_t offset, uint64_t length, int cached_only,
                     struct qcow2_extent *e);

/* The storage's size now (also remembered in *known); -1 with the error set. */
int64_t qcow2_refresh_size(struct glv_storage *s, uint64_t *known);

/* ------------------------------------------------------------ compressed clusters */

/* Set up compressed reads for q (after the header is read).  0 or -1. */
int qcow2_compressed_init(struct qcow2_image *q);
void qcow2_compressed_release(struct qcow2_image *q);

/*
 * Read and inflate the compressed cluster that l2_entry describes (guest
 * cluster at guest_cluster), then fill iov with its bytes from skip on.
 * 0, or -1 with the error set (EIO when the data does not inflate to exactly
 * one cluster or the descriptor points outside the file).
 */
int qcow2_compressed_read(struct qcow2_image *q, uint64_t l2_entry, uint64_t guest_cluster,
                          uint64_t skip, const struct iovec *iov, int iovcnt);

/* ------------------------------------------------------------ checking */

/* The format op: check, and with fix repair, as 'qemu-img check' does
 * (qcow2_check_repair.c). */
int qcow2_check_op(struct glv_format *f, unsigned fix, int storage_writable,
                   struct glv_check_report *r);

#endif

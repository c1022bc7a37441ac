/*
 * The qcow2 driver's write side, shared between its files:
 *   qcow2_writable.c   the writable open: what is refused, the checks, the state
 *   qcow2_overlap.c    metadata writes, the overlap check, the corrupt bit
 *   qcow2_refcount.c   refcounts: the block cache, allocation, freeing, growth
 *   qcow2_write.c      guest writes: in place, or into newly allocated clusters
 *   qcow2_zero.c       write_zeroes, discard, flush
 *   qcow2_l1_refs.c    whole L1 tables: references raised or dropped, COPIED flags
 *   qcow2_resize.c     growing (a new L1 table) and shrinking the virtual size
 *   qcow2_snapshot_write.c  internal snapshots: create, apply, delete
 *
 * Locking.  Three kinds of callers run at once: readers, in-place writers
 * and metadata changers.
 *   - meta_lock (a mutex) serializes every change of metadata: allocating
 *     clusters, L1/L2 entries, refcounts, the refcount table, the header.
 *     Only its holder writes metadata or the fields below marked (meta).
 *   - in_place (a rwlock) is held shared by a write that goes to a cluster
 *     already its own (COPIED) for the whole look-up and data write, without
 *     meta_lock.  A metadata changer takes it exclusively, briefly and with
 *     no I/O inside, after it has unmapped clusters and before it frees them
 *     (so that no write still in flight lands in a cluster that could be
 *     handed out again), and while it swaps the refcount table that the
 *     overlap check reads.
 *   - Readers take neither: L1 entries are loaded and stored atomically, and
 *     the L2 cache is written through (disk first, then the cached copy).
 * Lock order: meta_lock, then in_place, then header_lock, then the L2
 * cache's own lock (never held across I/O).
 */
#ifndef GLUVIRT_QCOW2_WRITE_H
#define GLUVIRT_QCOW2_WRITE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "format/qcow2_driver.h"

/* Metadata kinds for the overlap check (a write may name kinds to skip:
 * the kind it is itself writing). */
enum qcow2_metadata_kind {
    QCOW2_META_HEADER = 1 << 0,
    QCOW2_META_L1 = 1 << 1,
    QCOW2_META_L2 = 1 << 2,
    QCOW2_META_REFTABLE = 1 << 3,
    QCOW2_META_REFBLOCK = 1 << 4,
    QCOW2_META_SNAPSHOTS = 1 << 5
};

/* Refcount blocks kept in memory (the writer's own cache, used under meta_lock). */
#define QCOW2_REFBLOCK_SLOTS 8

/*
 * Data clusters one refcount commit counts ahead of need (at most; fewer
 * when a cluster is larger than 64 KiB, QCOW2_RESERVE_BYTES in all), and
 * the room for them plus one allocation round's (MAX_RUN in qcow2_write.c).
 */
#define QCOW2_RESERVE_AHEAD 32
#define QCOW2_RESERVE_BYTES (2u << 20)
#define QCOW2_RESERVE_SLOTS 96

struct qcow2_refblock_slot {
    uint64_t offset;            /* host offset of the block; 0: slot empty */
    unsigned char *data;        /* the block as on disk (big-endian counts) */
    uint64_t dirty_from, dirty_to; /* bytes changed since written; from == to: clean */
    unsigned age;
};

struct qcow2_writer {
    pthread_mutex_t meta_lock;
    pthread_rwlock_t in_place;
    pthread_mutex_t header_lock;    /* read-modify-write of the header's first sector */

    /* The refcount table, host-endian (meta; in_place exclusive to swap). */
    uint64_t *reftable;
    uint64_t reftable_entries;
    uint64_t reftable_offset;
    uint32_t reftable_clusters;
    uint32_t refblock_bits;         /* log2 of the refcounts one block holds */
    struct qcow2_refblock_slot slots[QCOW2_REFBLOCK_SLOTS];
    unsigned clock;

    /* (meta) Data clusters counted on disk (refcount 1, written and
     * flushed) that no entry points at yet, in the order allocated from
     * reserved[reserved_first]: qcow2_take_data_clusters. */
    uint64_t reserved[QCOW2_RESERVE_SLOTS];
    unsigned reserved_first, reserved_count;

    uint64_t free_cluster_index;    /* (meta) no free cluster lies below it */
    uint64_t alloc_end;             /* (meta) clusters from here on are all free */
    uint64_t chunk;                 /* the unit of metadata writes: min(4096, cluster) */
    unsigned char *zeros;           /* one cluster of zeros, aligned, never written to */
    int corrupt;                    /* atomic: the image was found damaged, writes fail */
    int lazy_refcounts;             /* the image has the lazy_refcounts compatible bit */
    int marked_dirty;               /* atomic: this open set the dirty bit */
};

/* ------------------------------------------------------------ qcow2_writable.c */

/*
 * Whether q's header allows writing: -1 with ENOTSUP naming the feature
 * that stops it (EROFS for an image marked corrupt), else 0.  Called before
 * anything the header names is opened.
 */
int qcow2_writer_check(struct qcow2_image *q);

/*
 * Before the first change an open of a lazy_refcounts image makes: set the
 * dirty bit (flushed), as QEMU does, so that a crash leaves an image that
 * says its refcounts need a check.  (The refcounts are written eagerly all
 * the same.)  A no-op for other images and once done.  0 or -1.
 */
int qcow2_mark_dirty(struct qcow2_image *q);

/* After qcow2_writer_check: load the refcount table (EINVAL when an entry
 * is damaged) and set up q->writer.  0 or -1. */
int qcow2_writer_open(struct qcow2_image *q);
void qcow2_writer_free(struct qcow2_image *q);

/* An aligned buffer for storage that may be opened for direct I/O. */
void *qcow2_aligned_alloc(uint64_t bytes);

/* ------------------------------------------------------------ qcow2_overlap.c */

/*
 * Write len bytes of buf (or of the vector iov) at host offset in the
 * image file, after checking that [offset, offset + len) overlaps no
 * metadata except the kinds in skip.  An overlap marks the image corrupt
 * and fails with EIO.  0 or -1 with the error set.
 */
int qcow2_checked_write(struct qcow2_image *q, unsigned skip, const void *buf, uint64_t len,
                        uint64_t offset);
int qcow2_checked_writev(struct qcow2_image *q, unsigned skip, const struct iovec *iov,
                         int iovcnt, uint64_t offset);

/* A file was written up to end: raise the size readers know (*known) to it.
 * Readers check data offsets against that size. */
void qcow2_note_size(uint64_t *known, uint64_t end);

/* -1 with EIO when the image was marked corrupt by this open, else 0. */
int qcow2_refuse_if_corrupt(struct qcow2_image *q);

/* Set the corrupt bit (version 3) and refuse further writes.  Returns -1
 * with EIO, the message saying why (what). */
int qcow2_mark_corrupt(struct qcow2_image *q, const char *what);

/* Replace len bytes of the header at byte at (inside its first 512 bytes)
 * and flush.  0 or -1. */
int qcow2_header_write(struct qcow2_image *q, unsigned at, const void *bytes, unsigned len);

/* Set the bits set and clear the bits clear of the incompatible features
 * (version 3), on disk (flushed) and in q->h.  0 or -1. */
int qcow2_header_update_incompatible(struct qcow2_image *q, uint64_t set, uint64_t clear);

/* Flush the image file; 0 or -1. */
int qcow2_flush_file(struct qcow2_image *q);

/* ------------------------------------------------------------ qcow2_refcount.c (meta) */

/* Allocate one cluster: its refcount set to 1 (in the block cache; written
 * by qcow2_refcount_writeback).  *cluster_offset its host offset.  0 or -1. */
int qcow2_alloc_cluster(struct qcow2_image *q, uint64_t *cluster_offset);

/* Drop one reference to the cluster at host offset; a cluster no longer
 * referenced is reused by later allocations.  0 or -1. */
int qcow2_free_cluster(struct qcow2_image *q, uint64_t cluster_offset);

/* Write the refcount changes still in memory.  0 or -1. */
int qcow2_refcount_writeback(struct qcow2_image *q);

/* Write them and flush: what must precede an L2 entry pointing at a newly
 * allocated cluster.  0 or -1. */
int qcow2_refcount_commit(struct qcow2_image *q);

void qcow2_refcount_release(struct qcow2_writer *w);

/* The refcount of the cluster at host offset.  0 or -1. */
int qcow2_refcount_get(struct qcow2_image *q, uint64_t cluster_offset, uint64_t *count);

/* One more reference to the allocated cluster at host offset (ERANGE past
 * the width's largest count; a cluster counted 0 marks the image corrupt).
 * In the block cache, like qcow2_alloc_cluster.  0 or -1. */
int qcow2_refcount_incref(struct qcow2_image *q, uint64_t cluster_offset);

/* Allocate count clusters in one run (tables that span clusters), each
 * counted 1 in the block cache; *cluster_offset the first.  0 or -1. */
int qcow2_alloc_clusters(struct qcow2_image *q, uint64_t count, uint64_t *cluster_offset);

/*
 * count (at most QCOW2_RESERVE_SLOTS - QCOW2_RESERVE_AHEAD) new data
 * clusters into offsets, each counted once and that count already on disk
 * (written and flushed), so an L2 entry may point at them at once.  They
 * come from the writer's reserve; when it runs short, this allocates
 * count plus up to QCOW2_RESERVE_AHEAD more and commits them with one
 * flush, instead of one flush per allocation.  A crash leaks the reserve
 * (qemu-img check -r leaks, gluvirt check --repair give it back); it never
 * leaves an entry pointing at a cluster counted free.  0 or -1.
 */
int qcow2_take_data_clusters(struct qcow2_image *q, unsigned count, uint64_t *offsets);

/*
 * Give the reserve back: each cluster's count dropped to 0 in the block
 * cache (written by the next qcow2_refcount_writeback).  Before the image
 * closes, and before a check that counts references (a reserved cluster
 * would be a leak there).  0 or -1.
 */
int qcow2_drop_reserve(struct qcow2_image *q);

/* ------------------------------------------------------------ qcow2_write.c (meta) */

/* Extended L2 entries: the subcluster bitmap of a cluster allocated whole
 * (all 32 subclusters allocated, none zero), and of one that reads as
 * zeros whole.  The writer makes only these two (and 0): it allocates and
 * zeroes whole clusters, so a partly allocated cluster becomes whole when
 * written. */
#define QCOW2_L2_BITMAP_ALL_ALLOCATED 0x00000000ffffffffull
#define QCOW2_L2_BITMAP_ALL_ZERO      0xffffffff00000000ull

/* Entries of one L2 table to change: first index, count, new values (and,
 * with extended L2 entries, their bitmaps; else NULL). */
struct qcow2_l2_update {
    uint64_t table;             /* host offset of the table */
    uint64_t first;
    uint64_t count;
    const uint64_t *values;
    const uint64_t *bitmaps;
};

/* The host offset of the L2 table for L1 index l1_index (0: none).  With
 * create, a table to change: a new one is allocated and linked when there
 * is none, and one shared with a snapshot (no COPIED flag) is copied first. */
int qcow2_l2_table_for(struct qcow2_image *q, uint64_t l1_index, int create, uint64_t *table);

/* Copy count entries from first of the table into out (host-endian), and
 * with extended L2 entries their bitmaps into bitmaps (NULL: not wanted). */
int qcow2_l2_get(struct qcow2_image *q, uint64_t table, uint64_t first, uint64_t count,
                 uint64_t *out, uint64_t *bitmaps);

/* Whether a write may go in place to the cluster of entry e (bitmap: its
 * subcluster bitmap, with extended L2 entries): the image's own (COPIED),
 * a normal cluster, and with extended entries allocated whole. */
int qcow2_in_place_entry(const struct qcow2_image *q, uint64_t e, uint64_t bitmap);

/* Write entries to disk, then to the L2 cache.  0 or -1. */
int qcow2_l2_set(struct qcow2_image *q, const struct qcow2_l2_update *u);

/*
 * Unmapping: after the L2 entries were changed away from the old values in
 * entries (count of them; those holding no cluster are skipped), make that
 * durable, wait for the in-place writes in flight, and drop the references
 * the old entries held (one cluster, or the host clusters a compressed
 * cluster's bytes touch).  0 or -1.
 */
int qcow2_release_clusters(struct qcow2_image *q, const uint64_t *entries, uint64_t count);

/* ------------------------------------------------------------ qcow2_l1_refs.c (meta) */

/*
 * Add addend (1, -1, or 0 to only recompute flags) to the count of every
 * L2 table the l1_size entries of l1 name and of every cluster those tables
 * reach, and set COPIED flags from the new counts: in the L2 tables (written
 * after their counts are flushed) and in l1 (in memory; *l1_changed set
 * when an entry moved, the caller writes the table).  A table whose last
 * reference goes is freed without being rewritten.  0 or -1.
 */
int qcow2_l1_update_refcounts(struct qcow2_image *q, uint64_t *l1, uint32_t l1_size,
                              int addend, int *l1_changed);

/* Write the first entries of l1 as a table of table_entries entries (zeros
 * past entries) at host offset offset, overlap-checked but for the kinds in
 * skip, and flush.  0 or -1. */
int qcow2_l1_write_table(struct qcow2_image *q, const uint64_t *l1, uint32_t entries,
                         uint32_t table_entries, uint64_t offset, unsigned skip);

/* ------------------------------------------------------------ qcow2_resize.c */

/* Replace the active L1 table with one of exactly entries entries (none
 * when it has that many already), in QEMU's order.  Under meta_lock.  0 or -1. */
int qcow2_grow_l1(struct qcow2_image *q, uint32_t entries);

/* -1 with ENOTSUP when q cannot be resized (a version 2 image with
 * snapshots, an external data file), else 0. */
int qcow2_resize_check(struct qcow2_image *q);

/* Under meta_lock, after qcow2_resize_check: set the virtual size.  0 or -1. */
int qcow2_resize_locked(struct qcow2_image *q, uint64_t size);

/* ------------------------------------------------------------ the format ops */

int qcow2_truncate_op(struct glv_format *f, uint64_t size);
int qcow2_snapshot_create_op(struct glv_format *f, const char *name);
int qcow2_snapshot_apply_op(struct glv_format *f, const char *key);
int qcow2_snapshot_delete_op(struct glv_format *f, const char *key);
int qcow2_write_pwritev(struct glv_format *f, const struct iovec *iov, int iovcnt,
                        uint64_t offset);
int qcow2_write_zeroes(struct glv_format *f, uint64_t offset, uint64_t length, unsigned flags);
int qcow2_write_discard(struct glv_format *f, uint64_t offset, uint64_t length);
int qcow2_write_flush(struct glv_format *f);

#endif

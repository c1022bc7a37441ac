/*
 * Opening a qcow2 image for writing.  The writer handles the common
 * layouts: version 2 or 3, standard or extended L2 entries (subclusters),
 * any cluster size, refcounts of any width (1 to 64 bits), with or without
 * a backing file, with or without internal snapshots, compressed clusters
 * (zlib or zstd), lazy refcounts, and an external data file (raw or not:
 * data clusters there map the disk one to one and have no refcounts, as
 * QEMU allocates them).  Anything else is refused here, before a byte is
 * written, with ENOTSUP and a message naming the feature; the same image
 * still opens read-only.  A refused feature is one whose metadata this
 * version would not keep right: persistent bitmaps (which writes would
 * make stale without saying so), internal snapshots next to a data file.
 * An image marked dirty (left by a crash while using lazy refcounts) is
 * refused with EROFS until 'qemu-img check -r all' repairs it.
 *
 * Lazy refcounts: this writer always writes refcounts as it goes, which is
 * valid for such images too; it keeps QEMU's dirty bit protocol all the
 * same (qcow2_mark_dirty before the first change, cleared on a clean close).
 *
 * The open reads the header's fields and the refcount table; L2 tables are
 * read when a request reaches them.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

/* Autoclear bit 0: the persistent bitmaps are consistent with the data. */
#define AUTOCLEAR_BITMAPS (1ull << 0)
/* Byte 88 of a version 3 header: the autoclear bits. */
#define HEADER_AUTOCLEAR 88u

void *qcow2_aligned_alloc(uint64_t bytes)
{
    void *p;

    if (posix_memalign(&p, 4096, (size_t)bytes) != 0) {
        glv_set_oom();
        return NULL;
    }
    return p;
}

static int refuse(struct qcow2_image *q, const char *feature)
{
    glv_set_error(ENOTSUP, "%s: cannot open for writing: the image has %s, which this version "
                  "of libgluvirt does not write; read-only opens work (open it without "
                  "gluvirt_open_options_set_writable), or convert it with 'qemu-img convert -O "
                  "qcow2' first", q->base.storage->name, feature);
    return -1;
}

int qcow2_writer_check(struct qcow2_image *q)
{
    const struct qcow2_header *h = &q->h;

    if (q->l1 != h->l1) {
        glv_set_error(ENOTSUP, "%s: a snapshot cannot be opened for writing; open it "
                      "read-only, or without gluvirt_open_options_set_snapshot",
                      q->base.storage->name);
        return -1;
    }
    if (h->incompatible & QCOW2_INCOMPAT_CORRUPT) {
        glv_set_error(EROFS, "%s: cannot open for writing: the image is marked corrupt; "
                      "read-only opens work; check it with 'qemu-img check' and repair a copy "
                      "with 'qemu-img check -r all'", q->base.storage->name);
        return -1;
    }
    if ((h->incompatible & QCOW2_INCOMPAT_DATA_FILE) && h->nb_snapshots)
        return refuse(q, "internal snapshots with an external data file (QEMU makes none)");
    if (h->incompatible & QCOW2_INCOMPAT_DIRTY) {
        glv_set_error(EROFS, "%s: cannot open for writing: the image is marked dirty (it was "
                      "not closed cleanly while using lazy refcounts, so its refcounts may be "
                      "stale); read-only opens work; repair it first with 'qemu-img check -r "
                      "all'", q->base.storage->name);
        return -1;
    }
    if (h->autoclear & AUTOCLEAR_BITMAPS)
        return refuse(q, "persistent dirty bitmaps");
    return 0;
}

/* Load the refcount table and check its entries (they are written through
 * and trusted from now on). */
static int load_reftable(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;
    uint64_t bytes = (uint64_t)q->h.refcount_table_clusters << q->cluster_bits;
    struct iovec iov;

    w->reftable_offset = q->h.refcount_table_offset;
    w->reftable_clusters = q->h.refcount_table_clusters;
    w->reftable_entries = bytes / 8;
    if (!(w->reftable = qcow2_aligned_alloc(bytes)))
        return -1;
    iov.iov_base = w->reftable;
    iov.iov_len = (size_t)bytes;
    if (q->base.storage->ops->preadv(q->base.storage, &iov, 1, w->reftable_offset) < 0)
        return -1;
    for (uint64_t i = 0; i < w->reftable_entries; i++) {
        uint64_t e = be64toh(w->reftable[i]);

        if ((e & (q->cluster_size - 1)) || (e && e >= q->h.file_size)) {
            glv_set_error(EINVAL, "%s: cannot open for writing: refcount table entry %" PRIu64
                          " (0x%016" PRIx64 ") is not a cluster-aligned offset inside the file; "
                          "the image is damaged: see 'qemu-img check', and repair a copy with "
                          "'qemu-img check -r all'", q->base.storage->name, i, e);
            return -1;
        }
        w->reftable[i] = e;
    }
    return 0;
}

/* Autoclear bits a writer that does not keep them true must clear: all but
 * data_file_raw where the data file is read as the disk (this writer keeps
 * it so: zeroed clusters are zeroed there too). */
static int clear_autoclear(struct qcow2_image *q)
{
    uint64_t kept = q->data_file_raw ? q->h.autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW : 0;
    uint64_t be = htobe64(kept);

    if (q->h.version < 3 || q->h.autoclear == kept)
        return 0;
    if (qcow2_header_write(q, HEADER_AUTOCLEAR, &be, sizeof be) < 0)
        return -1;
    q->h.autoclear = kept;
    return 0;
}

int qcow2_mark_dirty(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;
    int rc = 0;

    if (!w->lazy_refcounts || __atomic_load_n(&w->marked_dirty, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&w->meta_lock);
    /* What was written before reaches the disk before the bit says the
     * image is being changed. */
    if (!w->marked_dirty && (rc = qcow2_refuse_if_corrupt(q)) == 0 &&
        (rc = qcow2_flush_file(q)) == 0 &&
        (rc = qcow2_header_update_incompatible(q, QCOW2_INCOMPAT_DIRTY, 0)) == 0)
        __atomic_store_n(&w->marked_dirty, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&w->meta_lock);
    return rc;
}

/* A clean close: everything written and flushed, then the dirty bit this
 * open set cleared (left set when anything fails, or the image was found
 * damaged). */
static void mark_clean(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;

    if (!w->marked_dirty || w->corrupt)
        return;
    if (qcow2_refcount_writeback(q) == 0 && qcow2_flush_file(q) == 0)
        qcow2_header_update_incompatible(q, 0, QCOW2_INCOMPAT_DIRTY);
}

/* The clusters counted ahead for allocations are given back (written and
 * flushed) before the image closes; an image found damaged keeps them (a
 * leak, which a repair gives back). */
static void drop_reserve(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;

    if (!w->reserved_count || w->corrupt)
        return;
    if (qcow2_drop_reserve(q) == 0 && qcow2_refcount_writeback(q) == 0)
        qcow2_flush_file(q);
}

int qcow2_writer_open(struct qcow2_image *q)
{
    struct qcow2_writer *w;
    pthread_rwlockattr_t attr;

    if (!(w = calloc(1, sizeof *w))) {
        glv_set_oom();
        return -1;
    }
    q->writer = w;
    pthread_mutex_init(&w->meta_lock, NULL);
    pthread_mutex_init(&w->header_lock, NULL);
    pthread_rwlockattr_init(&attr);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
    /* A metadata change waits for the in-place writes in flight, not for
     * every one that comes after it. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&w->in_place, &attr);
    pthread_rwlockattr_destroy(&attr);
    w->refblock_bits = q->cluster_bits + 3 - q->h.refcount_order;
    w->lazy_refcounts = (q->h.compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    w->chunk = q->cluster_size < 4096 ? q->cluster_size : 4096;
    w->alloc_end = (q->h.file_size + q->cluster_size - 1) >> q->cluster_bits;
    if (!(w->zeros = qcow2_aligned_alloc(q->cluster_size)))
        return -1;
    memset(w->zeros, 0, (size_t)q->cluster_size);
    if (load_reftable(q) < 0 || clear_autoclear(q) < 0)
        return -1;
    return 0;
}

void qcow2_writer_free(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;

    if (!w)
        return;
    drop_reserve(q);
    mark_clean(q);
    qcow2_refcount_release(w);
    free(w->zeros);
    pthread_mutex_destroy(&w->meta_lock);
    pthread_mutex_destroy(&w->header_lock);
    pthread_rwlock_destroy(&w->in_place);
    free(w);
    q->writer = NULL;
}

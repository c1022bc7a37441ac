/*
 * Guest writes to a qcow2 image.
 *
 * A write into clusters whose L2 entries carry the COPIED flag (the image
 * alone owns them, refcount 1) goes straight to them, in place, holding
 * in_place shared and nothing else: many such writes run at once, and
 * alongside reads and a metadata change.
 *
 * Any other cluster (unallocated, zero, compressed, or shared) gets a new
 * one, under meta_lock, in QEMU's order:
 *   1. the new cluster's refcount raised, written and flushed (taken from
 *      a reserve counted ahead, so that one flush serves many allocations:
 *      qcow2_take_data_clusters);
 *   2. the guest's bytes written to it, with the rest of the cluster copied
 *      from where the guest read it before: the old cluster (decompressed
 *      when compressed), zeros, or the backing file;
 *   3. the L2 entry pointed at it (written, then the cached table);
 *   4. the old cluster, if any, flushed out of the table and freed (for a
 *      compressed one, one reference to each host cluster its bytes touch).
 * A crash between steps leaks the new cluster at worst; no entry ever
 * points at a cluster whose count is not on disk.
 *
 * An L1 entry with no table gets one first: allocated and counted, written
 * as zeros, flushed, and only then linked from the L1 table (flushed too).
 * A table shared with internal snapshots (its L1 entry lacks the COPIED
 * flag) is copied the same way before any entry of it changes, and the old
 * one keeps serving the snapshots.  Clusters shared with snapshots (L2
 * entries without COPIED) are never written in place; replacing one drops
 * one of its references, so a snapshot's view never changes.
 *
 * With an external data file, data clusters live there at their guest
 * offset (QEMU's one-to-one mapping) and have no refcounts; with extended
 * L2 entries, clusters are allocated, zeroed and freed whole.
 */
#include "config.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

/* Clusters one allocation round handles at most (one meta_lock hold). */
#define MAX_RUN 64
_Static_assert(MAX_RUN <= QCOW2_RESERVE_SLOTS - QCOW2_RESERVE_AHEAD,
               "one allocation round fits in the reserve");

static struct qcow2_image *qcow2(struct glv_format *f)
{
    return (struct qcow2_image *)f;
}

/* Whether the (not compressed) entry e names a cluster: a host offset, or
 * in an external data file offset 0 with the COPIED flag (guest cluster 0,
 * mapped one to one). */
static int names_cluster(const struct qcow2_image *q, uint64_t e)
{
    return (e & QCOW2_L2E_OFFSET_MASK) || (q->data_file && (e & QCOW2_OFLAG_COPIED));
}

int qcow2_in_place_entry(const struct qcow2_image *q, uint64_t e, uint64_t bitmap)
{
    return (e & QCOW2_OFLAG_COPIED) && !(e & (QCOW2_OFLAG_COMPRESSED | QCOW2_OFLAG_ZERO)) &&
           names_cluster(q, e) && (!q->extended_l2 || bitmap == QCOW2_L2_BITMAP_ALL_ALLOCATED);
}

/* ------------------------------------------------------------ L1 and L2 entries */

/* 64-bit words per L2 entry: 2 with extended entries (entry, bitmap). */
static uint64_t entry_words(const struct qcow2_image *q)
{
    return q->extended_l2 ? 2 : 1;
}

int qcow2_l2_get(struct qcow2_image *q, uint64_t table, uint64_t first, uint64_t count,
                 uint64_t *out, uint64_t *bitmaps)
{
    const uint64_t width = entry_words(q);
    const uint64_t *entries = qcow2_l2_cache_lookup(q->l2_cache, table, 0);

    if (!entries)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        out[i] = entries[(first + i) * width];
        if (bitmaps)
            bitmaps[i] = width == 2 ? entries[(first + i) * 2 + 1] : 0;
    }
    qcow2_l2_cache_unlock(q->l2_cache);
    return 0;
}

/* Word w of the table as the update u leaves it (w inside u's range). */
static uint64_t updated_word(const struct qcow2_l2_update *u, uint64_t width, uint64_t w)
{
    uint64_t i = w / width - u->first;

    return width == 2 && (w & 1) ? u->bitmaps[i] : u->values[i];
}

int qcow2_l2_set(struct qcow2_image *q, const struct qcow2_l2_update *u)
{
    const uint64_t per_chunk = q->writer->chunk / 8, width = entry_words(q);
    const uint64_t first = u->first * width, end = (u->first + u->count) * width;
    uint64_t *buf = qcow2_aligned_alloc(q->writer->chunk);
    int rc = 0;

    if (!buf)
        return -1;
    for (uint64_t w = first; w < end && rc == 0;) {
        uint64_t start = w & ~(per_chunk - 1);
        const uint64_t *words = qcow2_l2_cache_lookup(q->l2_cache, u->table, 0);

        if (!words) {
            rc = -1;
            break;
        }
        for (uint64_t j = 0; j < per_chunk; j++)
            buf[j] = htobe64(words[start + j]);
        qcow2_l2_cache_unlock(q->l2_cache);
        for (; w < end && w < start + per_chunk; w++)
            buf[w - start] = htobe64(updated_word(u, width, w));
        rc = qcow2_checked_write(q, QCOW2_META_L2, buf, q->writer->chunk, u->table + start * 8);
    }
    free(buf);
    if (rc < 0)
        return -1;
    for (uint64_t w = first; w < end; w++)
        qcow2_l2_cache_set(q->l2_cache, u->table, w, updated_word(u, width, w));
    return 0;
}

/* Write the sector of the L1 table holding entry index, with value there. */
static int write_l1_entry(struct qcow2_image *q, uint64_t index, uint64_t value)
{
    const uint64_t per_chunk = q->writer->chunk / 8, start = index & ~(per_chunk - 1);
    uint64_t *buf = qcow2_aligned_alloc(q->writer->chunk);
    int rc;

    if (!buf)
        return -1;
    for (uint64_t j = 0; j < per_chunk; j++)
        buf[j] = htobe64(start + j == index ? value
                         : start + j < q->h.l1_size ? qcow2_l1_entry(q, start + j) : 0);
    rc = qcow2_checked_write(q, QCOW2_META_L1, buf, q->writer->chunk,
                             q->h.l1_offset + start * 8);
    free(buf);
    return rc;
}

/*
 * A new table for L1 entry l1_index: allocated and counted, filled with the
 * entries of the table at old (or zeros without one), written and flushed,
 * and only then linked from the L1 table with the COPIED flag (flushed).
 * The entries are copied as they are: the counts of the clusters they point
 * at already include every L1 table that reaches them through the old
 * table, so none is raised (QEMU's l2_allocate raises none either).  The
 * caller drops the old table's reference.
 */
static int new_l2_table(struct qcow2_image *q, uint64_t l1_index, uint64_t old,
                        uint64_t *table)
{
    uint64_t offset;
    void *contents = q->writer->zeros, *copy = NULL;

    if (old) {
        struct iovec iov;

        if (!(copy = qcow2_aligned_alloc(q->cluster_size)))
            return -1;
        iov.iov_base = copy;
        iov.iov_len = (size_t)q->cluster_size;
        if (q->base.storage->ops->preadv(q->base.storage, &iov, 1, old) < 0) {
            free(copy);
            return -1;
        }
        contents = copy;
    }
    if (qcow2_alloc_cluster(q, &offset) < 0) {
        free(copy);
        return -1;
    }
    qcow2_l2_cache_forget(q->l2_cache, offset);
    if (qcow2_refcount_writeback(q) < 0 ||
        qcow2_checked_write(q, 0, contents, q->cluster_size, offset) < 0 ||
        qcow2_flush_file(q) < 0 ||
        write_l1_entry(q, l1_index, offset | QCOW2_OFLAG_COPIED) < 0 ||
        qcow2_flush_file(q) < 0) {
        free(copy);
        qcow2_free_cluster(q, offset);
        return -1;
    }
    free(copy);
    __atomic_store_n(&q->h.l1[l1_index], offset | QCOW2_OFLAG_COPIED, __ATOMIC_RELEASE);
    *table = offset;
    return 0;
}

int qcow2_l2_table_for(struct qcow2_image *q, uint64_t l1_index, int create, uint64_t *table)
{
    uint64_t entry = qcow2_l1_entry(q, l1_index), offset = entry & QCOW2_L1E_OFFSET_MASK;

    *table = offset;
    if (!create || (offset && (entry & QCOW2_OFLAG_COPIED)))
        return 0;
    if (new_l2_table(q, l1_index, offset, table) < 0)
        return -1;
    /* A table shared with a snapshot (no COPIED flag): the snapshot keeps
     * it, one reference fewer. */
    if (offset && (qcow2_free_cluster(q, offset) < 0 || qcow2_refcount_writeback(q) < 0))
        return -1;
    return 0;
}

/* Whether the L2 entry e holds host clusters that unmapping it frees (none
 * in an external data file: its clusters have no refcounts). */
static int holds_clusters(const struct qcow2_image *q, uint64_t e)
{
    return !q->data_file && ((e & QCOW2_OFLAG_COMPRESSED) || (e & QCOW2_L2E_OFFSET_MASK));
}

/*
 * Drop the references the L2 entry e held: its cluster, or, for a
 * compressed cluster, every host cluster the compressed bytes touch (they
 * may share them with other compressed clusters, each holding a reference:
 * QEMU's qcow2_free_any_cluster frees the same range).
 */
static int free_entry(struct qcow2_image *q, uint64_t e)
{
    uint64_t host, sectors, end;

    if (!(e & QCOW2_OFLAG_COMPRESSED))
        return qcow2_free_cluster(q, e & QCOW2_L2E_OFFSET_MASK);
    host = e & q->compressed_offset_mask;
    sectors = ((e >> q->compressed_sectors_shift) & q->compressed_sectors_mask) + 1;
    end = (host & ~511ull) + sectors * 512;
    for (uint64_t c = host >> q->cluster_bits; c <= (end - 1) >> q->cluster_bits; c++)
        if (qcow2_free_cluster(q, c << q->cluster_bits) < 0)
            return -1;
    return 0;
}

int qcow2_release_clusters(struct qcow2_image *q, const uint64_t *entries, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count && !holds_clusters(q, entries[i]); i++)
        ;
    if (i == count)
        return 0;
    /* The tables that no longer point at them reach the disk first. */
    if (qcow2_flush_file(q) < 0)
        return -1;
    pthread_rwlock_wrlock(&q->writer->in_place);
    pthread_rwlock_unlock(&q->writer->in_place);
    for (; i < count; i++)
        if (holds_clusters(q, entries[i]) && free_entry(q, entries[i]) < 0)
            return -1;
    return qcow2_refcount_writeback(q);
}

/* ------------------------------------------------------------ writing */

/* A write request, and the part of it being done. */
struct write_request {
    struct qcow2_image *q;
    const struct iovec *iov;
    int iovcnt;
    uint64_t offset;            /* guest offset of iov's first byte */
    struct iovec *slices;       /* room for iovcnt entries */
};

/* Guest bytes to host offset host: into the image file (overlap-checked),
 * or into the external data file, which holds no metadata. */
static int write_data(struct qcow2_image *q, const struct iovec *iov, int iovcnt, uint64_t host)
{
    int64_t len = glv_iov_length(iov, iovcnt);

    if (!q->data_file)
        return qcow2_checked_writev(q, 0, iov, iovcnt, host);
    if (len < 0 || qcow2_refuse_if_corrupt(q) < 0 ||
        q->data_file->ops->pwritev(q->data_file, iov, iovcnt, host) < 0)
        return -1;
    qcow2_note_size(&q->data_size, host + (uint64_t)len);
    return 0;
}

/* Write bytes [from, from + len) of the request at host offset host. */
static int write_slice(struct write_request *r, uint64_t from, uint64_t len, uint64_t host)
{
    uint64_t got;
    int n = glv_iov_slice(r->iov, r->iovcnt, from, len, r->slices, r->iovcnt, &got);

    return write_data(r->q, r->slices, n, host);
}

static void copy_from_iov(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
                          unsigned char *to)
{
    for (int i = 0; i < iovcnt && len; i++) {
        uint64_t here = iov[i].iov_len;

        if (skip >= here) {
            skip -= here;
            continue;
        }
        here -= skip;
        if (here > len)
            here = len;
        memcpy(to, (const unsigned char *)iov[i].iov_base + skip, (size_t)here);
        to += here;
        len -= here;
        skip = 0;
    }
}

/*
 * Fill [from, to) of the cluster buffer with what the guest reads there now,
 * through the read path (which knows every subcluster's state: allocated,
 * zero, or the backing file's); past the virtual size, zeros.  Used for
 * extended L2 entries, whose subclusters may each be in another state.
 */
static int read_as_guest(struct qcow2_image *q, uint64_t guest_cluster, unsigned char *buf,
                         uint64_t from, uint64_t to)
{
    uint64_t end = q->size - guest_cluster < to ? q->size - guest_cluster : to;
    struct iovec iov = {buf + from, 0};

    if (end < from)
        end = from;
    memset(buf + end, 0, (size_t)(to - end));
    iov.iov_len = (size_t)(end - from);
    return end > from ? q->base.ops->preadv(&q->base, &iov, 1, guest_cluster + from) : 0;
}

/* Fill [from, to) of the cluster buffer with what the guest read there
 * before: the old cluster's bytes (inflated, for a compressed one), zeros,
 * or the backing file's. */
static int fill_old(struct qcow2_image *q, uint64_t old, uint64_t guest_cluster,
                    unsigned char *buf, uint64_t from, uint64_t to)
{
    struct iovec iov = {buf + from, (size_t)(to - from)};

    if (from >= to)
        return 0;
    if (q->extended_l2)
        return read_as_guest(q, guest_cluster, buf, from, to);
    if (old & QCOW2_OFLAG_COMPRESSED)
        return qcow2_compressed_read(q, old, guest_cluster, from, &iov, 1);
    if (old & QCOW2_OFLAG_ZERO) {
        memset(buf + from, 0, (size_t)(to - from));
        return 0;
    }
    if (names_cluster(q, old))
        return q->data->ops->preadv(q->data, &iov, 1, (old & QCOW2_L2E_OFFSET_MASK) + from);
    return glv_format_read_backing(&q->base, &iov, 1, guest_cluster + from);
}

/* The guest's bytes [from, from + len) of the request, all in the guest
 * cluster at guest_cluster, into the new cluster at host. */
static int write_new_cluster(struct write_request *r, uint64_t guest_cluster, uint64_t old,
                             uint64_t host, uint64_t from, uint64_t len, unsigned char **cow)
{
    struct qcow2_image *q = r->q;
    uint64_t a = r->offset + from - guest_cluster, b = a + len;

    if (a == 0 && b == q->cluster_size)
        return write_slice(r, from, len, host);
    if (!*cow && !(*cow = qcow2_aligned_alloc(q->cluster_size)))
        return -1;
    if (fill_old(q, old, guest_cluster, *cow, 0, a) < 0 ||
        fill_old(q, old, guest_cluster, *cow, b, q->cluster_size) < 0)
        return -1;
    copy_from_iov(r->iov, r->iovcnt, from, len, *cow + a);
    {
        struct iovec whole = {*cow, (size_t)q->cluster_size};

        return write_data(q, &whole, 1, host);
    }
}

/*
 * Under meta_lock: write bytes [from, from + len) of the request (inside
 * one L2 table's range), allocating clusters for the first run of them that
 * need it.  *done: the bytes written.
 */
static int allocate_and_write(struct write_request *r, uint64_t from, uint64_t len,
                              uint64_t *done)
{
    struct qcow2_image *q = r->q;
    const uint64_t cs = q->cluster_size, guest = r->offset + from;
    const uint64_t cluster = guest >> q->cluster_bits, in_cluster = guest & (cs - 1);
    const uint64_t index = cluster & ((1ull << q->l2_bits) - 1);
    uint64_t n = (in_cluster + len + cs - 1) >> q->cluster_bits, k, table, bytes;
    uint64_t old[MAX_RUN], old_bitmaps[MAX_RUN], fresh[MAX_RUN], freed[MAX_RUN];
    uint64_t values[MAX_RUN], bitmaps[MAX_RUN];
    unsigned char *cow = NULL;
    int rc = -1;

    if (n > MAX_RUN)
        n = MAX_RUN;
    if (qcow2_l2_table_for(q, cluster >> q->l2_bits, 1, &table) < 0 ||
        qcow2_l2_get(q, table, index, n, old, old_bitmaps) < 0)
        return -1;
    if (qcow2_in_place_entry(q, old[0], old_bitmaps[0])) {
        /* Allocated by another writer since this one looked. */
        *done = cs - in_cluster < len ? cs - in_cluster : len;
        return write_slice(r, from, *done, (old[0] & QCOW2_L2E_OFFSET_MASK) + in_cluster);
    }
    for (k = 1; k < n && !qcow2_in_place_entry(q, old[k], old_bitmaps[k]); k++)
        ;
    bytes = (k << q->cluster_bits) - in_cluster;
    *done = bytes < len ? bytes : len;

    if (q->data_file) {
        /* An external data file maps the disk one to one and has no
         * refcounts (as QEMU allocates there). */
        for (uint64_t j = 0; j < k; j++)
            fresh[j] = (cluster + j) << q->cluster_bits;
    } else if (qcow2_take_data_clusters(q, (unsigned)k, fresh) < 0) {
        return -1;
    }
    for (uint64_t j = 0, at = 0; j < k; j++) {
        uint64_t gc = (cluster + j) << q->cluster_bits;
        uint64_t piece = (j == 0 ? cs - in_cluster : cs);

        if (piece > *done - at)
            piece = *done - at;
        if (write_new_cluster(r, gc, old[j], fresh[j], from + at, piece, &cow) < 0)
            goto out;
        at += piece;
        values[j] = fresh[j] | QCOW2_OFLAG_COPIED;
        bitmaps[j] = QCOW2_L2_BITMAP_ALL_ALLOCATED;
        freed[j] = old[j];
    }
    {
        struct qcow2_l2_update u = {table, index, k, values, bitmaps};

        /* Past a failure here some entries may point at the new clusters
         * already: they stay counted (a leak at worst). */
        if (qcow2_l2_set(q, &u) == 0)
            rc = qcow2_release_clusters(q, freed, k);
    }
    free(cow);
    return rc;
out:
    /* Nothing points at the new clusters: give them back. */
    for (uint64_t j = 0; j < k && !q->data_file; j++)
        qcow2_free_cluster(q, fresh[j]);
    qcow2_refcount_writeback(q);
    free(cow);
    return rc;
}

/* Bytes [from, from + len) (inside one L2 table's range) in place, as far
 * as the clusters allow: *done 0 when the first cluster is not the image's own. */
static int write_in_place(struct write_request *r, uint64_t from, uint64_t len,
                          uint64_t *done)
{
    struct qcow2_image *q = r->q;
    const uint64_t cs = q->cluster_size, guest = r->offset + from;
    const uint64_t cluster = guest >> q->cluster_bits, in_cluster = guest & (cs - 1);
    uint64_t index = cluster & ((1ull << q->l2_bits) - 1), host, run, width = entry_words(q);
    uint64_t l1e = qcow2_l1_entry(q, cluster >> q->l2_bits);
    uint64_t table = l1e & QCOW2_L1E_OFFSET_MASK;
    const uint64_t *entries;

    *done = 0;
    /* Only into a table of the active state's own: one shared with a
     * snapshot is copied first, under meta_lock. */
    if (!table || !(l1e & QCOW2_OFLAG_COPIED))
        return 0;
    if (!(entries = qcow2_l2_cache_lookup(q->l2_cache, table, 0)))
        return -1;
    if (!qcow2_in_place_entry(q, entries[index * width], entries[index * width + width - 1])) {
        qcow2_l2_cache_unlock(q->l2_cache);
        return 0;
    }
    host = entries[index * width] & QCOW2_L2E_OFFSET_MASK;
    run = cs - in_cluster;
    for (uint64_t i = index + 1; run < len && i < (1ull << q->l2_bits); i++) {
        if (!qcow2_in_place_entry(q, entries[i * width], entries[i * width + width - 1]) ||
            (entries[i * width] & QCOW2_L2E_OFFSET_MASK) !=
                host + ((i - index) << q->cluster_bits))
            break;
        run += cs;
    }
    qcow2_l2_cache_unlock(q->l2_cache);
    *done = run < len ? run : len;
    return write_slice(r, from, *done, host + in_cluster);
}

int qcow2_write_pwritev(struct glv_format *f, const struct iovec *iov, int iovcnt,
                        uint64_t offset)
{
    struct qcow2_image *q = qcow2(f);
    struct qcow2_writer *w = q->writer;
    struct write_request r = {q, iov, iovcnt, offset, NULL};
    int64_t length = glv_iov_length(iov, iovcnt);
    const uint64_t table_span = 1ull << (q->l2_bits + q->cluster_bits);
    uint64_t from = 0;
    int rc = 0;

    if (length < 0 || qcow2_refuse_if_corrupt(q) < 0)
        return -1;
    if (length == 0)
        return 0;
    if (qcow2_mark_dirty(q) < 0)
        return -1;
    if (!(r.slices = malloc((size_t)iovcnt * sizeof *r.slices))) {
        glv_set_oom();
        return -1;
    }
    while (rc == 0 && from < (uint64_t)length) {
        uint64_t guest = offset + from, done = 0;
        uint64_t len = table_span - (guest & (table_span - 1));

        if (len > (uint64_t)length - from)
            len = (uint64_t)length - from;
        pthread_rwlock_rdlock(&w->in_place);
        rc = write_in_place(&r, from, len, &done);
        pthread_rwlock_unlock(&w->in_place);
        if (rc == 0 && done == 0) {
            pthread_mutex_lock(&w->meta_lock);
            rc = allocate_and_write(&r, from, len, &done);
            pthread_mutex_unlock(&w->meta_lock);
        }
        from += done;
    }
    free(r.slices);
    return rc;
}

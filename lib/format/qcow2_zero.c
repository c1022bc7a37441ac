/*
 * Zeroing, discarding and flushing a writable qcow2 image.
 *
 * Whole clusters change their L2 entries, as QEMU's do:
 *   - write_zeroes on version 3 sets the zero flag (with extended L2
 *     entries, every subcluster's zero bit); with GLV_ZERO_MAY_TRIM it
 *     frees the cluster, without it an allocated cluster keeps its offset
 *     (QEMU's "zero, allocated") so that later writes need no allocation;
 *     a compressed cluster is freed either way (the host clusters its
 *     bytes touch).  An unallocated cluster of an image without a backing
 *     file already reads as zeros and is left alone.  Version 2 has no
 *     zero flag: a cluster is unmapped when nothing would show through
 *     from the backing file (there is none, or its bytes there are zeros),
 *     and written with zeros otherwise; over a backing file, without
 *     GLV_ZERO_MAY_TRIM, an allocated cluster is written with zeros too
 *     (without a backing file QEMU unmaps either way, and so does this).
 *   - discard frees the clusters so that their space is reused.  Version 3
 *     leaves zero-flagged entries where something was (or the backing file
 *     would show), so discarded ranges read as zeros; version 2 leaves them
 *     unallocated, so the backing file shows through, as in QEMU.
 * The parts of clusters at the ends of a request are written with zeros by
 * write_zeroes and left as they are by discard (a discard is advice).
 *
 * An unmapped cluster is freed only after its new entry is on disk and the
 * in-place writes that might still target it are done
 * (qcow2_release_clusters).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

/* Clusters one meta_lock hold handles at most. */
#define MAX_SPAN 64

static struct qcow2_image *qcow2(struct glv_format *f)
{
    return (struct qcow2_image *)f;
}

static int has_backing(const struct qcow2_image *q)
{
    return q->base.backing.read != NULL;
}

/* Whether the backing file reads as zeros over the guest cluster at
 * guest_cluster (scratch: one cluster). */
static int backing_is_zero(struct qcow2_image *q, uint64_t guest_cluster, unsigned char *scratch,
                           int *zero)
{
    struct iovec iov = {scratch, (size_t)q->cluster_size};

    if (glv_format_read_backing(&q->base, &iov, 1, guest_cluster) < 0)
        return -1;
    *zero = scratch[0] == 0 && memcmp(scratch, scratch + 1, (size_t)q->cluster_size - 1) == 0;
    return 0;
}

/* How unmap_clusters changes whole clusters. */
enum unmap_how {
    UNMAP_DISCARD,   /* free them */
    UNMAP_ZERO_TRIM, /* read as zeros, freed (GLV_ZERO_MAY_TRIM) */
    UNMAP_ZERO_KEEP  /* read as zeros, allocated clusters kept */
};

/* Whether write_zeroes without GLV_ZERO_MAY_TRIM keeps old's cluster: a
 * normal (not compressed) allocated one, on version 3 or over a backing
 * file. */
static int keeps_cluster(const struct qcow2_image *q, enum unmap_how how, uint64_t old)
{
    return how == UNMAP_ZERO_KEEP && !(old & QCOW2_OFLAG_COMPRESSED) &&
           (q->h.version >= 3 || has_backing(q)) &&
           ((old & QCOW2_L2E_OFFSET_MASK) || (q->data_file && (old & QCOW2_OFLAG_COPIED)));
}

/*
 * Under meta_lock: the new entry for a whole cluster whose entry is old
 * (and, with extended L2 entries, the new bitmap for old_bitmap), or the
 * old ones when nothing changes; *write set when the cluster must be
 * written with zeros instead (version 2 over a backing file with data, or
 * an allocated cluster kept); *keep set when the old cluster stays
 * referenced by the new entry.
 */
static int new_entry(struct qcow2_image *q, enum unmap_how how, uint64_t old,
                     uint64_t old_bitmap, uint64_t guest_cluster, unsigned char **scratch,
                     uint64_t *entry, uint64_t *bitmap, int *write, int *keep)
{
    int zero;

    *entry = old;
    *bitmap = old_bitmap;
    *write = 0;
    *keep = keeps_cluster(q, how, old);
    if (*keep) {
        if (q->extended_l2)
            *bitmap = QCOW2_L2_BITMAP_ALL_ZERO;
        else if (q->h.version >= 3)
            *entry = old | QCOW2_OFLAG_ZERO;
        else
            *write = 1;
        return 0;
    }
    if (q->extended_l2) {
        /* Zero whole: every subcluster's zero bit, no cluster. */
        if (old == 0 && (old_bitmap == QCOW2_L2_BITMAP_ALL_ZERO ||
                         (old_bitmap == 0 && !has_backing(q))))
            return 0;
        *entry = 0;
        *bitmap = QCOW2_L2_BITMAP_ALL_ZERO;
        return 0;
    }
    if (q->h.version >= 3) {
        if (old == QCOW2_OFLAG_ZERO || (old == 0 && !has_backing(q)))
            return 0;
        *entry = QCOW2_OFLAG_ZERO;
        return 0;
    }
    if (how == UNMAP_DISCARD || !has_backing(q)) {
        *entry = 0;
        return 0;
    }
    if (!*scratch && !(*scratch = qcow2_aligned_alloc(q->cluster_size)))
        return -1;
    if (backing_is_zero(q, guest_cluster, *scratch, &zero) < 0)
        return -1;
    if (zero)
        *entry = 0;
    else
        *write = 1;
    return 0;
}

/*
 * An external data file kept raw (data_file_raw) is the disk byte for byte:
 * clusters the tables now say read as zeros (or unallocated, with no
 * backing file) get zeros there too, as QEMU writes them.
 */
static int zero_raw_data(struct qcow2_image *q, uint64_t offset, uint64_t length)
{
    struct glv_storage *d = q->data_file;

    /* In-place writes already in flight to these clusters land first, so
     * that none lands after the zeros. */
    pthread_rwlock_wrlock(&q->writer->in_place);
    pthread_rwlock_unlock(&q->writer->in_place);
    if (d->ops->write_zeroes)
        return d->ops->write_zeroes(d, offset, length, 0);
    for (uint64_t at = 0; at < length; at += q->cluster_size) {
        struct iovec iov = {q->writer->zeros, (size_t)q->cluster_size};

        if (d->ops->pwritev(d, &iov, 1, offset + at) < 0)
            return -1;
    }
    return 0;
}

/*
 * Under meta_lock: change the entries of whole clusters from cluster on
 * (count of them, inside one L2 table).  Bit j of *writes: cluster j still
 * needs zeros written.
 */
static int unmap_span(struct qcow2_image *q, enum unmap_how how, uint64_t cluster,
                      uint64_t count, uint64_t *writes)
{
    const uint64_t index = cluster & ((1ull << q->l2_bits) - 1);
    uint64_t old[MAX_SPAN], old_bitmaps[MAX_SPAN], values[MAX_SPAN], bitmaps[MAX_SPAN];
    uint64_t freed[MAX_SPAN], table, first = count, last = 0;
    unsigned char *scratch = NULL;
    int rc = -1;

    *writes = 0;
    if (qcow2_l2_table_for(q, cluster >> q->l2_bits, 0, &table) < 0)
        return -1;
    if (table) {
        if (qcow2_l2_get(q, table, index, count, old, old_bitmaps) < 0)
            return -1;
    } else {
        memset(old, 0, sizeof old);
        memset(old_bitmaps, 0, sizeof old_bitmaps);
    }
    for (uint64_t j = 0; j < count; j++) {
        int write, keep, changed;

        if (new_entry(q, how, old[j], old_bitmaps[j], (cluster + j) << q->cluster_bits,
                      &scratch, &values[j], &bitmaps[j], &write, &keep) < 0)
            goto out;
        *writes |= (uint64_t)write << j;
        changed = values[j] != old[j] || bitmaps[j] != old_bitmaps[j];
        freed[j] = changed && !keep ? old[j] : 0;
        if (changed) {
            first = j < first ? j : first;
            last = j;
        }
    }
    rc = 0;
    if (first < count) {
        struct qcow2_l2_update u = {0, index + first, last - first + 1, values + first,
                                    bitmaps + first};

        if (qcow2_l2_table_for(q, cluster >> q->l2_bits, 1, &table) < 0)
            rc = -1;
        u.table = table;
        if (rc == 0 && (rc = qcow2_l2_set(q, &u)) == 0)
            rc = qcow2_release_clusters(q, freed + first, last - first + 1);
        if (rc == 0 && q->data_file_raw)
            rc = zero_raw_data(q, (cluster + first) << q->cluster_bits,
                               (last - first + 1) << q->cluster_bits);
    }
out:
    free(scratch);
    return rc;
}

/* Whole clusters [cluster, cluster + count): unmapped or zeroed. */
static int unmap_clusters(struct qcow2_image *q, enum unmap_how how, uint64_t cluster,
                          uint64_t count)
{
    struct qcow2_writer *w = q->writer;
    const uint64_t per_table = 1ull << q->l2_bits;

    while (count) {
        uint64_t n = per_table - (cluster & (per_table - 1)), writes;
        int rc;

        if (n > count)
            n = count;
        if (n > MAX_SPAN)
            n = MAX_SPAN;
        pthread_mutex_lock(&w->meta_lock);
        rc = unmap_span(q, how, cluster, n, &writes);
        pthread_mutex_unlock(&w->meta_lock);
        if (rc < 0)
            return -1;
        for (uint64_t j = 0; j < n; j++) {
            struct iovec iov = {w->zeros, (size_t)q->cluster_size};

            if ((writes >> j & 1) &&
                qcow2_write_pwritev(&q->base, &iov, 1, (cluster + j) << q->cluster_bits) < 0)
                return -1;
        }
        cluster += n;
        count -= n;
    }
    return 0;
}

static int write_zero_bytes(struct qcow2_image *q, uint64_t offset, uint64_t length)
{
    struct iovec iov = {q->writer->zeros, (size_t)length};

    return length ? qcow2_write_pwritev(&q->base, &iov, 1, offset) : 0;
}

/*
 * Whether a zeroing of [offset, end) can change only metadata: ENOTSUP
 * (nothing changed) where it would write zero bytes, or might: ends inside
 * clusters, version 2 (no zero flag) over a backing file, a raw external
 * data file (zeroed through its storage, which may write).
 */
static int refuse_slow_zero(struct qcow2_image *q, uint64_t offset, uint64_t end)
{
    const char *why = NULL;

    if ((offset | end) & (q->cluster_size - 1))
        why = "the range does not start and end on cluster boundaries";
    else if (q->h.version < 3 && has_backing(q))
        why = "a version 2 image has no zero flag: over a backing file it writes zeros "
              "where the backing file has data or the clusters are to stay allocated";
    else if (q->data_file_raw)
        why = "the raw external data file is zeroed through its storage";
    if (!why)
        return 0;
    glv_set_error(ENOTSUP, "%s: no fast zeroing of %" PRIu64 "+%" PRIu64 ": %s",
                  q->base.storage->name, offset, end - offset, why);
    return -1;
}

int qcow2_write_zeroes(struct glv_format *f, uint64_t offset, uint64_t length, unsigned flags)
{
    struct qcow2_image *q = qcow2(f);
    const uint64_t cs = q->cluster_size, end = offset + length;
    uint64_t first = (offset + cs - 1) & ~(cs - 1), last = end & ~(cs - 1);
    enum unmap_how how = flags & GLV_ZERO_MAY_TRIM ? UNMAP_ZERO_TRIM : UNMAP_ZERO_KEEP;

    if ((flags & GLV_ZERO_NO_FALLBACK) && refuse_slow_zero(q, offset, end) < 0)
        return -1;
    if (qcow2_refuse_if_corrupt(q) < 0 || qcow2_mark_dirty(q) < 0)
        return -1;
    if (first >= last) {
        /* Inside one cluster, or across one boundary. */
        uint64_t split = first < end ? first : end;

        return write_zero_bytes(q, offset, split - offset) < 0 ? -1
               : write_zero_bytes(q, split, end - split);
    }
    if (write_zero_bytes(q, offset, first - offset) < 0 ||
        unmap_clusters(q, how, first >> q->cluster_bits, (last - first) >> q->cluster_bits) < 0)
        return -1;
    return write_zero_bytes(q, last, end - last);
}

int qcow2_write_discard(struct glv_format *f, uint64_t offset, uint64_t length)
{
    struct qcow2_image *q = qcow2(f);
    const uint64_t cs = q->cluster_size;
    uint64_t first = (offset + cs - 1) & ~(cs - 1), last = (offset + length) & ~(cs - 1);

    if (qcow2_refuse_if_corrupt(q) < 0 || qcow2_mark_dirty(q) < 0)
        return -1;
    if (first >= last)
        return 0;
    return unmap_clusters(q, UNMAP_DISCARD, first >> q->cluster_bits,
                          (last - first) >> q->cluster_bits);
}

int qcow2_write_flush(struct glv_format *f)
{
    struct qcow2_image *q = qcow2(f);
    int rc;

    pthread_mutex_lock(&q->writer->meta_lock);
    rc = qcow2_refcount_writeback(q);
    pthread_mutex_unlock(&q->writer->meta_lock);
    /* The data before the tables that point at it. */
    if (rc == 0 && q->data_file)
        rc = q->data_file->ops->flush(q->data_file);
    return rc < 0 ? -1 : qcow2_flush_file(q);
}

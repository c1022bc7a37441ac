/*
 * What internal snapshots and resizing do to whole L1 tables: raise or
 * lower by one the references of everything an L1 table reaches (its L2
 * tables and, through them, data and compressed clusters), and bring the
 * COPIED flags in line with the new counts, as QEMU's
 * qcow2_update_snapshot_refcount does.
 *
 * A data cluster's count is the number of L1 tables that reach it (an L2
 * table shared by two L1 tables gives each of its clusters two), so a
 * snapshot's copy of the active L1 table raises every reached cluster by
 * one, and dropping an L1 table lowers them by one.  An entry carries the
 * COPIED flag exactly when its cluster's count is 1 (a write may then go
 * in place); compressed entries never do.
 *
 * Order: the new counts of a table's clusters reach the disk (written and
 * flushed) before the table's new flags do, so a crash leaves counts too
 * high (leaks) and never a COPIED flag on a shared cluster.  An L2 table
 * whose last reference goes is not rewritten: its clusters lose one
 * reference each, then the table itself is freed.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "format/qcow2_write.h"

/* Raise (addend 1) or lower (-1) the counts of the host clusters that the
 * compressed entry e's bytes touch. */
static int adjust_compressed(struct qcow2_image *q, uint64_t e, int addend)
{
    uint64_t host = e & q->compressed_offset_mask;
    uint64_t sectors = ((e >> q->compressed_sectors_shift) & q->compressed_sectors_mask) + 1;
    uint64_t end = (host & ~511ull) + sectors * 512;

    for (uint64_t c = host >> q->cluster_bits; c <= (end - 1) >> q->cluster_bits; c++) {
        uint64_t offset = c << q->cluster_bits;

        if ((addend > 0 ? qcow2_refcount_incref(q, offset) : qcow2_free_cluster(q, offset)) < 0)
            return -1;
    }
    return 0;
}

static int adjust(struct qcow2_image *q, uint64_t offset, int addend)
{
    if (addend > 0)
        return qcow2_refcount_incref(q, offset);
    return addend < 0 ? qcow2_free_cluster(q, offset) : 0;
}

static int check_table(struct qcow2_image *q, uint64_t l1_index, uint64_t table)
{
    if (table + q->cluster_size > q->file_size &&
        qcow2_refresh_size(q->base.storage, &q->file_size) < 0)
        return -1;
    if (table + q->cluster_size <= q->file_size)
        return 0;
    glv_set_error(EIO, "%s: L1 entry %" PRIu64 " points at an L2 table at 0x%" PRIx64 " past "
                  "the end of the file; the image is damaged: see 'qemu-img check'",
                  q->base.storage->name, l1_index, table);
    return -1;
}

/* One L2 table's entries: counts changed by addend, flags set from the
 * new counts; *changed when a flag moved (buf then holds the new table). */
static int update_entries(struct qcow2_image *q, uint64_t *buf, int addend, int *changed)
{
    const uint64_t width = q->extended_l2 ? 2 : 1, entries = 1ull << q->l2_bits;

    *changed = 0;
    for (uint64_t j = 0; j < entries; j++) {
        uint64_t e = be64toh(buf[j * width]), offset, count, ne;

        if (e & QCOW2_OFLAG_COMPRESSED) {
            if (addend && adjust_compressed(q, e, addend) < 0)
                return -1;
            continue;
        }
        if (!(offset = e & QCOW2_L2E_OFFSET_MASK))
            continue;
        if (adjust(q, offset, addend) < 0 || qcow2_refcount_get(q, offset, &count) < 0)
            return -1;
        ne = count == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
        if (ne != e) {
            buf[j * width] = htobe64(ne);
            *changed = 1;
        }
    }
    return 0;
}

int qcow2_l1_update_refcounts(struct qcow2_image *q, uint64_t *l1, uint32_t l1_size,
                              int addend, int *l1_changed)
{
    uint64_t *buf = qcow2_aligned_alloc(q->cluster_size);
    int rc = -1;

    if (!buf)
        return -1;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t e = __atomic_load_n(&l1[i], __ATOMIC_ACQUIRE), ne, count;
        uint64_t table = e & QCOW2_L1E_OFFSET_MASK;
        struct iovec iov = {buf, (size_t)q->cluster_size};
        int changed;

        if (!table)
            continue;
        if (check_table(q, i, table) < 0 || qcow2_refcount_get(q, table, &count) < 0 ||
            q->base.storage->ops->preadv(q->base.storage, &iov, 1, table) < 0)
            goto out;
        if (addend < 0 && count == 1) {
            /* The table's last reference: its clusters lose one each. */
            if (update_entries(q, buf, addend, &changed) < 0)
                goto out;
            qcow2_l2_cache_forget(q->l2_cache, table);
            if (qcow2_free_cluster(q, table) < 0)
                goto out;
            continue;
        }
        if (update_entries(q, buf, addend, &changed) < 0)
            goto out;
        if (changed) {
            if (qcow2_refcount_commit(q) < 0 ||
                qcow2_checked_write(q, QCOW2_META_L2, buf, q->cluster_size, table) < 0)
                goto out;
            qcow2_l2_cache_forget(q->l2_cache, table);
        }
        if (adjust(q, table, addend) < 0 || qcow2_refcount_get(q, table, &count) < 0)
            goto out;
        ne = count == 1 ? table | QCOW2_OFLAG_COPIED : table;
        if (ne != e) {
            __atomic_store_n(&l1[i], ne, __ATOMIC_RELEASE);
            *l1_changed = 1;
        }
    }
    rc = qcow2_refcount_commit(q);
out:
    free(buf);
    return rc;
}

int qcow2_l1_write_table(struct qcow2_image *q, const uint64_t *l1, uint32_t entries,
                         uint32_t table_entries, uint64_t offset, unsigned skip)
{
    uint64_t bytes = ((uint64_t)table_entries * 8 + q->writer->chunk - 1) &
                     ~(q->writer->chunk - 1);
    uint64_t *buf = qcow2_aligned_alloc(bytes ? bytes : q->writer->chunk);
    int rc;

    if (!buf)
        return -1;
    for (uint64_t i = 0; i < bytes / 8; i++)
        buf[i] = htobe64(i < entries ? __atomic_load_n(&l1[i], __ATOMIC_ACQUIRE) : 0);
    rc = qcow2_checked_write(q, skip, buf, bytes, offset);
    free(buf);
    return rc < 0 ? -1 : qcow2_flush_file(q);
}

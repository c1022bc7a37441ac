/*
 * The walk of a qcow2 check: every cluster the image's metadata references
 * gets one expected reference, in QEMU's order (calculate_refcounts in its
 * block/qcow2-refcount.c): the header, the active L1 table and its L2
 * tables with their data and compressed clusters, every snapshot's L1 and
 * L2 tables, the snapshot table, the refcount table, the persistent
 * bitmaps, and the refcount blocks.  On the way it counts what QEMU calls
 * corruptions that need no refcount to see (reserved bits, misaligned
 * tables and clusters, COPIED on compressed clusters) and the figures
 * 'qemu-img check' prints: allocated, fragmented and compressed clusters.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_check.h"
#include "format/qcow2_snapshot.h"

/* Compressed cluster descriptors count whole 512-byte sectors. */
#define COMPRESSED_SECTOR 512u
/* Extended L2 entries: the allocation bits (low 32) and zero bits (high). */
#define L2_BITMAP_ALL_ALLOC 0xffffffffull

int qcow2_check_read(struct qcow2_check *c, void *buf, uint64_t len, uint64_t offset)
{
    uint64_t inside = 0;
    struct iovec iov;

    if (offset < c->file_size)
        inside = c->file_size - offset < len ? c->file_size - offset : len;
    if (inside) {
        iov.iov_base = buf;
        iov.iov_len = (size_t)inside;
        if (c->s->ops->preadv(c->s, &iov, 1, offset) < 0)
            return -1;
    }
    memset((char *)buf + inside, 0, (size_t)(len - inside));
    return 0;
}

int qcow2_check_cover(struct qcow2_check *c, uint64_t needed)
{
    uint64_t cap = c->capacity ? c->capacity : 1024;
    uint32_t *grown;

    if (needed > QCOW2_CHECK_MAX_CLUSTERS) {
        c->r->check_errors++;
        glv_set_error(EFBIG, "%s: the file spans %" PRIu64 " clusters, more than the %llu "
                      "this version checks", c->s->name, needed,
                      (unsigned long long)QCOW2_CHECK_MAX_CLUSTERS);
        return -1;
    }
    while (cap < needed)
        cap *= 2;
    if (cap > QCOW2_CHECK_MAX_CLUSTERS)
        cap = QCOW2_CHECK_MAX_CLUSTERS;
    if (cap > c->capacity) {
        if (!(grown = realloc(c->expected, (size_t)cap * sizeof *grown))) {
            c->r->check_errors++;
            glv_set_oom();
            return -1;
        }
        memset(grown + c->capacity, 0, (size_t)(cap - c->capacity) * sizeof *grown);
        c->expected = grown;
        c->capacity = cap;
    }
    if (needed > c->nb)
        c->nb = needed;
    return 0;
}

int qcow2_check_reference(struct qcow2_check *c, uint64_t offset, uint64_t size)
{
    uint64_t first, last;

    if (size == 0)
        return 0;
    /* The last cluster may be partly past the end of the file; a range
     * reaching a whole cluster past it is a corruption and is not counted
     * (QEMU's rule, which also keeps the table of counts the file's size). */
    if (offset > UINT64_MAX - size ||
        (offset + size > c->file_size && offset + size - c->file_size >= c->cs)) {
        c->r->corruptions++;
        glv_check_note(c->r, "ERROR: counting reference for region exceeding the end of the "
                       "file by one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64,
                       offset, size);
        return 0;
    }
    first = offset >> c->bits;
    last = (offset + size - 1) >> c->bits;
    if (last >= c->nb && qcow2_check_cover(c, last + 1) < 0)
        return -1;
    for (uint64_t k = first; k <= last; k++) {
        if (c->expected[k] >= c->max) {
            c->r->corruptions++;
            glv_check_note(c->r, "ERROR: overflow cluster offset=0x%" PRIx64, k << c->bits);
            continue;
        }
        c->expected[k]++;
    }
    return 0;
}

/* ------------------------------------------------------------ L1 and L2 */

struct l2_walk {
    int frag;                   /* the active state: count the figures */
    uint64_t next_contiguous;   /* where the next data cluster would follow */
};

static uint64_t l2_entry_at(const struct qcow2_check *c, uint64_t i, uint64_t *bitmap)
{
    if (c->q->extended_l2) {
        *bitmap = be64toh(c->l2[2 * i + 1]);
        return be64toh(c->l2[2 * i]);
    }
    *bitmap = 0;
    return be64toh(c->l2[i]);
}

static int check_compressed(struct qcow2_check *c, uint64_t entry, uint64_t bitmap,
                            struct l2_walk *w)
{
    struct qcow2_image *q = c->q;
    uint64_t coffset, sectors, csize;

    if (entry & QCOW2_OFLAG_COPIED) {
        glv_check_note(c->r, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set for "
                       "compressed clusters", entry & q->compressed_offset_mask);
        entry &= ~QCOW2_OFLAG_COPIED;
        c->r->corruptions++;
    }
    if (q->data_file) {
        glv_check_note(c->r, "ERROR compressed cluster with a data file, entry=0x%" PRIx64,
                       entry);
        c->r->corruptions++;
        return 0;
    }
    if (bitmap) {
        glv_check_note(c->r, "ERROR compressed cluster with non-zero subcluster allocation "
                       "bitmap, entry=0x%" PRIx64, entry);
        c->r->corruptions++;
        return 0;
    }
    coffset = entry & q->compressed_offset_mask;
    sectors = ((entry >> q->compressed_sectors_shift) & q->compressed_sectors_mask) + 1;
    csize = sectors * COMPRESSED_SECTOR - (coffset & (COMPRESSED_SECTOR - 1));
    if (qcow2_check_reference(c, coffset, csize) < 0)
        return -1;
    if (w->frag) {
        /* Compressed clusters count as fragmented, as QEMU counts them. */
        c->r->allocated_clusters++;
        c->r->compressed_clusters++;
        c->r->fragmented_clusters++;
    }
    return 0;
}

static int check_allocated(struct qcow2_check *c, uint64_t entry, uint64_t bitmap,
                           struct l2_walk *w)
{
    uint64_t offset = entry & QCOW2_L2E_OFFSET_MASK;

    if ((bitmap >> 32) & bitmap) {
        c->r->corruptions++;
        glv_check_note(c->r, "ERROR offset=%" PRIx64 ": Allocated cluster has corrupted "
                       "subcluster allocation bitmap", offset);
    }
    if (offset & (c->cs - 1)) {
        int has_data = c->q->extended_l2 ? (bitmap & L2_BITMAP_ALL_ALLOC) != 0
                                         : !(entry & QCOW2_OFLAG_ZERO);

        c->r->corruptions++;
        glv_check_note(c->r, has_data ? "ERROR offset=%" PRIx64 ": Data cluster is not properly "
                                        "aligned; L2 entry corrupted."
                                      : "ERROR offset=%" PRIx64 ": Preallocated cluster is not "
                                        "properly aligned; L2 entry corrupted.", offset);
    }
    if (w->frag) {
        c->r->allocated_clusters++;
        if (w->next_contiguous && offset != w->next_contiguous)
            c->r->fragmented_clusters++;
        w->next_contiguous = offset + c->cs;
    }
    /* Clusters in an external data file have no refcounts. */
    return c->q->data_file ? 0 : qcow2_check_reference(c, offset, c->cs);
}

static int check_l2(struct qcow2_check *c, uint64_t l2_offset, int frag)
{
    const int extended = c->q->extended_l2;
    uint64_t entries = c->cs / (extended ? 16 : 8);
    struct l2_walk w = {frag, 0};

    if (qcow2_check_read(c, c->l2, c->cs, l2_offset) < 0) {
        glv_check_note(c->r, "ERROR: I/O error in check_refcounts_l2");
        c->r->check_errors++;
        return -1;
    }
    for (uint64_t i = 0; i < entries; i++) {
        uint64_t bitmap, entry = l2_entry_at(c, i, &bitmap);
        uint64_t offset = entry & QCOW2_L2E_OFFSET_MASK;
        int rc = 0;

        if (entry & QCOW2_OFLAG_COMPRESSED) {
            if (check_compressed(c, entry, bitmap, &w) < 0)
                return -1;
            continue;
        }
        if (entry & QCOW2_L2E_STD_RESERVED_MASK) {
            glv_check_note(c->r, "ERROR found l2 entry with reserved bits set: %" PRIx64, entry);
            c->r->corruptions++;
        }
        if ((entry & QCOW2_OFLAG_ZERO) && !extended) {
            if (offset)
                rc = check_allocated(c, entry, bitmap, &w);
        } else if (offset || (c->q->data_file && (entry & QCOW2_OFLAG_COPIED))) {
            rc = check_allocated(c, entry, bitmap, &w);
        } else if (bitmap & L2_BITMAP_ALL_ALLOC) {
            c->r->corruptions++;
            glv_check_note(c->r, "ERROR: Unallocated cluster has non-zero subcluster allocation "
                           "bitmap");
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One L1 table: entries from mem (the active table, host-endian), or read
 * from the image. */
static int check_l1(struct qcow2_check *c, uint64_t l1_offset, uint32_t entries,
                    const uint64_t *mem, int frag)
{
    uint64_t *read = NULL;
    int rc = -1;

    if (!entries)
        return 0;
    if (qcow2_check_reference(c, l1_offset, (uint64_t)entries * 8) < 0)
        return -1;
    if (!mem) {
        /* entries is at most QCOW2_MAX_L1_ENTRIES: the header read checked it. */
        if (!(read = malloc((size_t)entries * 8))) {
            c->r->check_errors++;
            glv_set_oom();
            return -1;
        }
        if (qcow2_check_read(c, read, (uint64_t)entries * 8, l1_offset) < 0) {
            glv_check_note(c->r, "ERROR: I/O error in check_refcounts_l1");
            c->r->check_errors++;
            goto out;
        }
        for (uint32_t i = 0; i < entries; i++)
            read[i] = be64toh(read[i]);
    }
    for (uint32_t i = 0; i < entries; i++) {
        uint64_t e = mem ? __atomic_load_n(&mem[i], __ATOMIC_ACQUIRE) : read[i], l2_offset;

        if (!e)
            continue;
        if (e & QCOW2_L1E_RESERVED_MASK) {
            glv_check_note(c->r, "ERROR found L1 entry with reserved bits set: %" PRIx64, e);
            c->r->corruptions++;
        }
        l2_offset = e & QCOW2_L1E_OFFSET_MASK;
        if (qcow2_check_reference(c, l2_offset, c->cs) < 0)
            goto out;
        if (l2_offset & (c->cs - 1)) {
            glv_check_note(c->r, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; "
                           "L1 entry corrupted", l2_offset);
            c->r->corruptions++;
        }
        if (check_l2(c, l2_offset, frag) < 0)
            goto out;
    }
    rc = 0;
out:
    free(read);
    return rc;
}

/* ------------------------------------------------------------ the other tables */

/* The snapshot table's length in bytes, from its entries' own lengths
 * (the open checked that each lies inside the table's limits). */
static int snapshot_table_bytes(struct qcow2_check *c, uint64_t *bytes)
{
    const struct qcow2_header *h = &c->q->h;
    uint64_t pos = h->snapshots_offset;
    unsigned char e[QCOW2_SNAPSHOT_HEADER];

    for (uint32_t i = 0; i < h->nb_snapshots; i++) {
        pos = (pos + 7) & ~7ull;
        if (qcow2_check_read(c, e, sizeof e, pos) < 0) {
            c->r->check_errors++;
            return -1;
        }
        pos += QCOW2_SNAPSHOT_HEADER + (uint64_t)qcow2_be32(e + 36) + qcow2_be16(e + 12) +
               qcow2_be16(e + 14);
    }
    *bytes = pos - h->snapshots_offset;
    return 0;
}

/* The refcount blocks: each referenced once, inside the file, aligned. */
static int check_refblocks(struct qcow2_check *c)
{
    for (uint64_t i = 0; i < c->reftable_entries; i++) {
        uint64_t e = c->reftable[i], offset = e & QCOW2_REFT_OFFSET_MASK;
        uint64_t cluster = offset >> c->bits;

        if (e & QCOW2_REFT_RESERVED_MASK) {
            glv_check_note(c->r, "ERROR refcount table entry %" PRIu64 " has reserved bits set",
                           i);
            c->r->corruptions++;
            c->rebuild = 1;
            continue;
        }
        if (offset & (c->cs - 1)) {
            glv_check_note(c->r, "ERROR refcount block %" PRIu64 " is not cluster aligned; "
                           "refcount table entry corrupted", i);
            c->r->corruptions++;
            c->rebuild = 1;
            continue;
        }
        if (cluster >= c->nb) {
            /* QEMU grows the file to repair this; this version does not. */
            c->r->corruptions++;
            c->rebuild = 1;
            glv_check_note(c->r, "ERROR refcount block %" PRIu64 " is outside image", i);
            continue;
        }
        if (!offset)
            continue;
        if (qcow2_check_reference(c, offset, c->cs) < 0)
            return -1;
        if (c->expected[cluster] != 1) {
            glv_check_note(c->r, "ERROR refcount block %" PRIu64 " refcount=%" PRIu32, i,
                           c->expected[cluster]);
            c->r->corruptions++;
            c->rebuild = 1;
        }
    }
    return 0;
}

int qcow2_check_walk(struct qcow2_check *c)
{
    struct qcow2_image *q = c->q;
    const struct qcow2_header *h = &q->h;
    uint64_t snapshot_bytes = 0;

    c->r->total_clusters = (q->h.size + c->cs - 1) >> c->bits;
    if (qcow2_check_cover(c, c->file_clusters) < 0 || qcow2_check_reference(c, 0, c->cs) < 0 ||
        check_l1(c, h->l1_offset, h->l1_size, h->l1, 1) < 0)
        return -1;
    if (q->data_file && h->nb_snapshots) {
        glv_check_note(c->r, "ERROR %" PRIu32 " snapshots in image with data file",
                       h->nb_snapshots);
        c->r->corruptions++;
    }
    for (uint32_t i = 0; i < h->nb_snapshots; i++) {
        const struct qcow2_snapshot *sn = &h->snapshots[i];

        if (check_l1(c, sn->l1_offset, sn->l1_size, NULL, 0) < 0)
            return -1;
    }
    if (snapshot_table_bytes(c, &snapshot_bytes) < 0 ||
        qcow2_check_reference(c, h->snapshots_offset, snapshot_bytes) < 0 ||
        qcow2_check_reference(c, h->refcount_table_offset,
                              (uint64_t)h->refcount_table_clusters << c->bits) < 0 ||
        qcow2_check_bitmaps(c) < 0)
        return -1;
    return check_refblocks(c);
}

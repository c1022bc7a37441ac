/*
 * The second half of a qcow2 check: the expected refcounts (qcow2_check.c)
 * against the stored ones, the COPIED flags against the stored refcounts,
 * and the repairs 'qemu-img check -r' makes (compare_refcounts and
 * check_oflag_copied in QEMU's block/qcow2-refcount.c):
 *   - leaks (stored > expected): with -r leaks or all, the stored count is
 *     lowered to the expected one;
 *   - counts too low but not zero: with -r all, raised;
 *   - COPIED flags that disagree with the refcount: with -r all, or with
 *     -r leaks once nothing else is wrong, set or cleared;
 *   - with nothing left wrong, the dirty and corrupt bits cleared.
 * A cluster in use whose stored count is 0, or a broken refcount table or
 * block, needs the refcount structure rebuilt: -r all does that on an image
 * opened for repair (qcow2_check_rebuild.c); -r leaks, and a repair of an
 * image opened writable, refuse it before anything is written.
 *
 * Every write goes through the overlap check (qcow2_overlap.c).  An image
 * opened writable uses its own writer (its locks held for the whole check,
 * its refcount cache written back first and dropped after); an image opened
 * for repair gets a writer for the repair's time only.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_check.h"
#include "format/qcow2_refcount_entry.h"

/* Byte 72 of a version 3 header: the incompatible feature bits. */
#define HEADER_INCOMPATIBLE 72u
#define SECTOR 512u

/* ------------------------------------------------------------ stored refcounts */

static int flush_block(struct qcow2_check *c)
{
    if (!c->block_dirty)
        return 0;
    if (qcow2_checked_write(c->q, QCOW2_META_REFBLOCK, c->block, c->cs, c->block_offset) < 0)
        return -1;
    c->block_dirty = 0;
    return 0;
}

/* The block holding cluster's count: 1 (in c->block), 0 when none, -1. */
static int block_for(struct qcow2_check *c, uint64_t cluster, uint64_t *index)
{
    uint64_t slot = cluster >> c->refblock_bits, offset;

    if (slot >= c->reftable_entries ||
        !(offset = c->reftable[slot] & QCOW2_REFT_OFFSET_MASK))
        return 0;
    if (offset & (c->cs - 1)) {
        glv_set_error(EIO, "%s: refcount block offset 0x%" PRIx64 " is not cluster aligned "
                      "(refcount table index %" PRIu64 ")", c->s->name, offset, slot);
        return -1;
    }
    if (offset != c->block_offset) {
        if (flush_block(c) < 0)
            return -1;
        c->block_offset = 0;
        if (qcow2_check_read(c, c->block, c->cs, offset) < 0)
            return -1;
        c->block_offset = offset;
    }
    *index = cluster & ((UINT64_C(1) << c->refblock_bits) - 1);
    return 1;
}

int qcow2_check_stored(struct qcow2_check *c, uint64_t cluster, uint64_t *count)
{
    uint64_t index;
    int rc = block_for(c, cluster, &index);

    *count = rc > 0 ? qcow2_refcount_entry_get(c->block, c->q->h.refcount_order, index) : 0;
    return rc < 0 ? -1 : 0;
}

static int set_stored(struct qcow2_check *c, uint64_t cluster, uint64_t count)
{
    uint64_t index;

    if (block_for(c, cluster, &index) <= 0)
        return -1;
    qcow2_refcount_entry_set(c->block, c->q->h.refcount_order, index, count);
    c->block_dirty = 1;
    return 0;
}

/* Expected against stored, cluster by cluster; with fix, repair what fix
 * allows.  *highest: the last cluster either side counts. */
static int compare_refcounts(struct qcow2_check *c, unsigned fix, uint64_t *highest)
{
    struct glv_check_report *r = c->r;

    *highest = 0;
    for (uint64_t i = 0; i < c->nb; i++) {
        uint64_t stored, expected = c->expected[i], *fixed = NULL;

        if (qcow2_check_stored(c, i, &stored) < 0) {
            glv_check_note(r, "Can't get refcount for cluster %" PRIu64 ": %s", i,
                           gluvirt_errmsg());
            r->check_errors++;
            continue;
        }
        if (stored || expected)
            *highest = i;
        if (stored == expected)
            continue;
        if (stored == 0)
            c->rebuild = 1;
        else if (stored > expected && (fix & GLV_CHECK_FIX_LEAKS))
            fixed = &r->leaks_fixed;
        else if (stored < expected && (fix & GLV_CHECK_FIX_ERRORS))
            fixed = &r->corruptions_fixed;
        glv_check_note(r, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64,
                       fixed ? "Repairing" : stored < expected ? "ERROR" : "Leaked", i, stored,
                       expected);
        if (fixed) {
            if (set_stored(c, i, expected) < 0) {
                r->check_errors++;
                return -1;
            }
            (*fixed)++;
            continue;
        }
        if (stored < expected)
            r->corruptions++;
        else
            r->leaks++;
    }
    return flush_block(c) < 0 ? (r->check_errors++, -1) : 0;
}

/* ------------------------------------------------------------ COPIED flags */

static int write_l1_entry(struct qcow2_check *c, uint32_t index, uint64_t value)
{
    struct qcow2_image *q = c->q;
    uint64_t at = q->h.l1_offset + (uint64_t)index * 8, sector = at & ~(uint64_t)(SECTOR - 1);
    unsigned char *buf = qcow2_aligned_alloc(SECTOR);
    uint64_t be = htobe64(value);
    int rc = -1;

    if (!buf)
        return -1;
    if (qcow2_check_read(c, buf, SECTOR, sector) == 0) {
        memcpy(buf + (at - sector), &be, 8);
        if (qcow2_checked_write(q, QCOW2_META_L1, buf, SECTOR, sector) == 0) {
            __atomic_store_n(&q->h.l1[index], value, __ATOMIC_RELEASE);
            rc = 0;
        }
    }
    free(buf);
    return rc;
}

/* Whether an L2 entry holds a cluster whose COPIED flag means something. */
static int copied_applies(const struct qcow2_image *q, uint64_t entry)
{
    if (entry & QCOW2_OFLAG_COMPRESSED)
        return 0;
    if (entry & QCOW2_L2E_OFFSET_MASK)
        return 1;
    return q->data_file && !(entry & QCOW2_OFLAG_ZERO && !q->extended_l2) &&
           (entry & QCOW2_OFLAG_COPIED);
}

static int check_l2_copied(struct qcow2_check *c, uint64_t l2_offset, int repair)
{
    struct qcow2_image *q = c->q;
    struct glv_check_report *r = c->r;
    uint64_t step = q->extended_l2 ? 2 : 1, entries = c->cs / (8 * step), dirty = 0;

    if (qcow2_check_read(c, c->l2, c->cs, l2_offset) < 0) {
        glv_check_note(r, "ERROR: Could not read L2 table: %s", gluvirt_errmsg());
        r->check_errors++;
        return -1;
    }
    for (uint64_t j = 0; j < entries; j++) {
        uint64_t entry = be64toh(c->l2[j * step]), refcount = 1;

        if (!copied_applies(q, entry))
            continue;
        if (!q->data_file &&
            qcow2_check_stored(c, (entry & QCOW2_L2E_OFFSET_MASK) >> c->bits, &refcount) < 0)
            continue;
        if ((refcount == 1) == ((entry & QCOW2_OFLAG_COPIED) != 0))
            continue;
        r->corruptions++;
        glv_check_note(r, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64,
                       repair ? "Repairing" : "ERROR", entry, refcount);
        if (repair) {
            entry = refcount == 1 ? entry | QCOW2_OFLAG_COPIED : entry & ~QCOW2_OFLAG_COPIED;
            c->l2[j * step] = htobe64(entry);
            dirty++;
        }
    }
    if (!dirty)
        return 0;
    if (qcow2_checked_write(q, QCOW2_META_L2, c->l2, c->cs, l2_offset) < 0) {
        glv_check_note(r, "ERROR: Could not write L2 table: %s", gluvirt_errmsg());
        r->check_errors++;
        return -1;
    }
    qcow2_l2_cache_forget(q->l2_cache, l2_offset);
    r->corruptions -= dirty;
    r->corruptions_fixed += dirty;
    return 0;
}

static int check_copied(struct qcow2_check *c, unsigned fix)
{
    struct qcow2_image *q = c->q;
    struct glv_check_report *r = c->r;
    /* With leaks only, after the refcounts were repaired: only when that
     * left them right. */
    int repair = (fix & GLV_CHECK_FIX_ERRORS) ||
                 ((fix & GLV_CHECK_FIX_LEAKS) && !r->check_errors && !r->corruptions &&
                  !r->leaks);

    for (uint32_t i = 0; i < q->h.l1_size; i++) {
        uint64_t l1e = __atomic_load_n(&q->h.l1[i], __ATOMIC_ACQUIRE);
        uint64_t l2_offset = l1e & QCOW2_L1E_OFFSET_MASK, refcount;

        if (!l2_offset)
            continue;
        if (qcow2_check_stored(c, l2_offset >> c->bits, &refcount) < 0)
            continue;
        if ((refcount == 1) != ((l1e & QCOW2_OFLAG_COPIED) != 0)) {
            r->corruptions++;
            glv_check_note(r, "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu32 " l1_entry=%" PRIx64
                           " refcount=%" PRIu64, repair ? "Repairing" : "ERROR", i, l1e, refcount);
            if (repair) {
                if (write_l1_entry(c, i, refcount == 1 ? l1e | QCOW2_OFLAG_COPIED
                                                       : l1e & ~QCOW2_OFLAG_COPIED) < 0) {
                    r->check_errors++;
                    return -1;
                }
                r->corruptions--;
                r->corruptions_fixed++;
            }
        }
        if (check_l2_copied(c, l2_offset, repair) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the writer */

/* A writer for the repair of an image opened for repair (the driver has
 * none): the overlap check and the header write need one. */
static int borrow_writer(struct qcow2_check *c)
{
    struct qcow2_image *q = c->q;
    struct qcow2_writer *w = calloc(1, sizeof *w);

    if (!w || !(w->reftable = malloc((size_t)c->reftable_entries * 8 + 8))) {
        free(w);
        glv_set_oom();
        return -1;
    }
    memcpy(w->reftable, c->reftable, (size_t)c->reftable_entries * 8);
    pthread_mutex_init(&w->meta_lock, NULL);
    pthread_mutex_init(&w->header_lock, NULL);
    pthread_rwlock_init(&w->in_place, NULL);
    w->reftable_entries = c->reftable_entries;
    w->reftable_offset = q->h.refcount_table_offset;
    w->reftable_clusters = q->h.refcount_table_clusters;
    w->refblock_bits = c->refblock_bits;
    w->chunk = c->cs < 4096 ? c->cs : 4096;
    w->alloc_end = c->file_clusters;
    q->writer = w;
    c->borrowed_writer = 1;
    return 0;
}

/* After a repair on the image's own writer: its cached refcount blocks may
 * be stale, and freed clusters may lie below where it looks for free ones. */
static void refresh_writer(struct qcow2_writer *w)
{
    for (unsigned i = 0; i < QCOW2_REFBLOCK_SLOTS; i++) {
        free(w->slots[i].data);
        memset(&w->slots[i], 0, sizeof w->slots[i]);
    }
    w->free_cluster_index = 0;
}

/* ------------------------------------------------------------ the check */

static int load_reftable(struct qcow2_check *c)
{
    uint64_t bytes = (uint64_t)c->q->h.refcount_table_clusters << c->bits;

    /* The header read bounded the table (8 MiB) and placed it in the file. */
    c->reftable_entries = bytes / 8;
    if (!(c->reftable = malloc((size_t)bytes + 8))) {
        glv_set_oom();
        return -1;
    }
    if (qcow2_check_read(c, c->reftable, bytes, c->q->h.refcount_table_offset) < 0)
        return -1;
    for (uint64_t i = 0; i < c->reftable_entries; i++)
        c->reftable[i] = be64toh(c->reftable[i]);
    return 0;
}

static int setup(struct qcow2_check *c)
{
    struct qcow2_image *q = c->q;
    int64_t size = c->s->ops->size(c->s);
    uint64_t max = qcow2_refcount_max(q->h.refcount_order);

    if (size < 0)
        return -1;
    c->file_size = (uint64_t)size;
    c->cs = q->cluster_size;
    c->bits = q->cluster_bits;
    c->file_clusters = (c->file_size + c->cs - 1) >> c->bits;
    c->max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
    c->refblock_bits = qcow2_refcount_block_bits(c->bits, q->h.refcount_order);
    if (c->file_clusters >= QCOW2_CHECK_MAX_CLUSTERS) {
        glv_set_error(EFBIG, "%s: the file spans %" PRIu64 " clusters, more than the %llu this "
                      "version checks", c->s->name, c->file_clusters,
                      (unsigned long long)QCOW2_CHECK_MAX_CLUSTERS);
        return -1;
    }
    if (!(c->block = qcow2_aligned_alloc(c->cs)) || !(c->l2 = qcow2_aligned_alloc(c->cs)))
        return -1;
    return load_reftable(c);
}

/* Clear the dirty and corrupt bits once the repair left nothing wrong. */
static int mark_clean(struct qcow2_check *c)
{
    struct qcow2_image *q = c->q;
    const uint64_t bits = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT;
    uint64_t be;

    if (q->h.version < 3 || !(q->h.incompatible & bits))
        return 0;
    if (qcow2_flush_file(q) < 0)
        return -1;
    be = htobe64(q->h.incompatible & ~bits);
    if (qcow2_header_write(q, HEADER_INCOMPATIBLE, &be, sizeof be) < 0)
        return -1;
    q->h.incompatible &= ~bits;
    return 0;
}

/* Copy the counts of from into r, keeping r's lines. */
static void set_counts(struct glv_check_report *r, const struct glv_check_report *from)
{
    char **messages = r->messages;
    size_t count = r->message_count;
    uint64_t dropped = r->messages_dropped;

    *r = *from;
    r->messages = messages;
    r->message_count = count;
    r->messages_dropped = dropped;
}

static int refuse_rebuild(struct qcow2_check *c, unsigned fix)
{
    glv_check_note(c->r, "ERROR need to rebuild refcount structures");
    c->r->check_errors++;
    glv_set_error(EIO, "%s: the refcount structure is damaged and needs rebuilding; nothing "
                  "was changed; %s", c->s->name,
                  !(fix & GLV_CHECK_FIX_ERRORS)
                      ? "a repair of all errors (-r all, GLUVIRT_CHECK_REPAIR_ALL) rebuilds it"
                      : "rebuilding needs the image opened for repair "
                        "(gluvirt_open_options_set_repair), not writable");
    return -1;
}

/* After a rebuild, as QEMU: count again against the new structure; what
 * the first count found and this one does not was fixed. */
static int after_rebuild(struct qcow2_check *c, uint64_t *highest)
{
    struct glv_check_report *r = c->r, old = *r, walked;
    uint64_t fresh_leaks;

    memset(c->expected, 0, (size_t)c->capacity * sizeof *c->expected);
    c->nb = 0;
    c->rebuild = 0;
    r->corruptions = r->leaks = 0;
    if (qcow2_check_walk(c) < 0)
        return -1;
    walked = *r;
    r->corruptions = r->leaks = 0;
    if (compare_refcounts(c, GLV_CHECK_FIX_LEAKS, highest) < 0)
        return -1;
    if (c->rebuild)
        glv_check_note(r, "ERROR rebuilt refcount structure is still broken");
    fresh_leaks = r->leaks;
    set_counts(r, &walked);
    if (r->corruptions < old.corruptions)
        r->corruptions_fixed += old.corruptions - r->corruptions;
    if (r->leaks < old.leaks)
        r->leaks_fixed += old.leaks - r->leaks;
    r->leaks += fresh_leaks;
    return 0;
}

static int run(struct qcow2_check *c, unsigned fix)
{
    struct glv_check_report *r = c->r, before;
    uint64_t highest;

    if (setup(c) < 0 || (fix && !c->q->writer && borrow_writer(c) < 0)) {
        r->check_errors++;
        return -1;
    }
    if (qcow2_check_walk(c) < 0)
        return -1;
    before = *r;
    if (compare_refcounts(c, 0, &highest) < 0)
        return -1;
    if (fix && c->rebuild) {
        if (!(fix & GLV_CHECK_FIX_ERRORS) || !c->borrowed_writer)
            return refuse_rebuild(c, fix);
        if (qcow2_check_rebuild(c) < 0 || after_rebuild(c, &highest) < 0) {
            r->check_errors++;
            return -1;
        }
    } else if (fix && (r->leaks || r->corruptions)) {
        /* The counts of the second pass replace the first's; its lines
         * follow the first's, as QEMU prints both. */
        set_counts(r, &before);
        if (compare_refcounts(c, fix, &highest) < 0)
            return -1;
    }
    if (fix && qcow2_flush_file(c->q) < 0) {
        r->check_errors++;
        return -1;
    }
    if (check_copied(c, fix) < 0)
        return -1;
    r->image_end_offset = (highest + 1) << c->bits;
    if (fix && !r->check_errors && !r->corruptions && mark_clean(c) < 0) {
        r->check_errors++;
        return -1;
    }
    return 0;
}

int qcow2_check_op(struct glv_format *f, unsigned fix, int storage_writable,
                   struct glv_check_report *r)
{
    struct qcow2_image *q = (struct qcow2_image *)f;
    struct qcow2_check c;
    struct qcow2_writer *own = q->writer;
    int rc;

    memset(&c, 0, sizeof c);
    c.q = q;
    c.s = f->storage;
    c.r = r;
    c.fix = fix;
    if (fix && q->l1 != q->h.l1) {
        glv_set_error(EINVAL, "%s: an image opened at a snapshot cannot be repaired; open it "
                      "without gluvirt_open_options_set_snapshot", f->storage->name);
        return -1;
    }
    if (fix && !own && !storage_writable) {
        glv_set_error(EROFS, "%s: the image is opened read-only and cannot be repaired; open it "
                      "with gluvirt_open_options_set_repair (or writable)", f->storage->name);
        return -1;
    }
    if (own) {
        pthread_mutex_lock(&own->meta_lock);
        if (fix)
            pthread_rwlock_wrlock(&own->in_place);
        /* Clusters counted ahead for allocations would read as leaks. */
        if (qcow2_drop_reserve(q) < 0 || qcow2_refcount_writeback(q) < 0) {
            r->check_errors++;
            rc = -1;
            goto unlock;
        }
    }
    rc = run(&c, fix);
    if (!own)
        qcow2_writer_free(q); /* the one borrowed for a repair, if any */
unlock:
    if (own) {
        if (fix) {
            refresh_writer(own);
            pthread_rwlock_unlock(&own->in_place);
        }
        pthread_mutex_unlock(&own->meta_lock);
    }
    free(c.expected);
    free(c.reftable);
    free(c.block);
    free(c.l2);
    return rc;
}

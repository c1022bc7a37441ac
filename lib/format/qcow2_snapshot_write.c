/*
 * Creating, applying and deleting internal snapshots of a writable qcow2
 * image, in QEMU's order (block/qcow2-snapshot.c), so that a crash leaves
 * leaked clusters at worst:
 *
 * create  every cluster the active L1 table reaches gains a reference and
 *         loses its COPIED flag (qcow2_l1_update_refcounts), the counts
 *         flushed; a copy of the active L1 table is written to new clusters;
 *         then the snapshot table is written anew with the entry added, the
 *         header switched to it (nb_snapshots and snapshots_offset in one
 *         sector write), and the old table freed.  (QEMU writes the copy
 *         first; either way a crash before the header switch leaks, and
 *         this way a refcount that would overflow refuses before anything
 *         is allocated.)
 * apply   the image is resized to the snapshot's disk size when it differs,
 *         the L1 table grown to hold the snapshot's; everything the
 *         snapshot reaches gains a reference (flushed); the active L1 table
 *         is overwritten with the snapshot's entries; what the old active
 *         table reached loses one; COPIED flags follow the new counts.
 * delete  the snapshot table is written without the entry (header switched
 *         first), then everything the snapshot reached loses a reference,
 *         its L1 table is freed, and the active state's COPIED flags follow
 *         the new counts.
 *
 * New entries carry what 'qemu-img snapshot -c' records: the next numeric
 * id, the name as given (names may repeat, ids never do), the wall-clock
 * date in microseconds, no VM state, a guest clock and icount of 0, the
 * disk size, and 24 bytes of extra data.  Apply finds the snapshot by id,
 * then by name; delete by name only, as qemu-img does.  Images with an
 * external data file are refused (QEMU makes no snapshots of them).
 *
 * These run under meta_lock, after in-place writes in flight are done; the
 * image layer lets no other request run on the image meanwhile.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/qcow2_write.h"

/* Header fields: nb_snapshots (4 bytes) and snapshots_offset (8). */
#define HEADER_SNAPSHOTS 60u
/* The extra data this writer records: vm_state_size_large, disk_size, icount. */
#define KNOWN_EXTRA 24u

static struct qcow2_image *qcow2(struct glv_format *f)
{
    return (struct qcow2_image *)f;
}

static void put_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint64_t entry_bytes(const struct qcow2_snapshot *sn)
{
    return QCOW2_SNAPSHOT_HEADER + KNOWN_EXTRA + sn->unknown_extra_size + strlen(sn->id) +
           strlen(sn->name);
}

/* Lay out the table of n entries into buf (zeroed, long enough). */
static uint64_t serialize(const struct qcow2_snapshot *list, uint32_t n, unsigned char *buf)
{
    uint64_t pos = 0;

    for (uint32_t i = 0; i < n; i++) {
        const struct qcow2_snapshot *sn = &list[i];
        size_t id_len = strlen(sn->id), name_len = strlen(sn->name);
        unsigned char *p;

        pos = (pos + 7) & ~7ull;
        p = buf + pos;
        put_be64(p, sn->l1_offset);
        put_be32(p + 8, sn->l1_size);
        put_be16(p + 12, (uint16_t)id_len);
        put_be16(p + 14, (uint16_t)name_len);
        put_be32(p + 16, sn->date_sec);
        put_be32(p + 20, sn->date_nsec);
        put_be64(p + 24, sn->vm_clock_nsec);
        put_be32(p + 32, sn->vm_state_size <= UINT32_MAX ? (uint32_t)sn->vm_state_size : 0);
        put_be32(p + 36, KNOWN_EXTRA + sn->unknown_extra_size);
        p += QCOW2_SNAPSHOT_HEADER;
        put_be64(p, sn->vm_state_size);
        put_be64(p + 8, sn->disk_size);
        put_be64(p + 16, (uint64_t)sn->icount);
        p += KNOWN_EXTRA;
        if (sn->unknown_extra_size)
            memcpy(p, sn->unknown_extra, sn->unknown_extra_size);
        p += sn->unknown_extra_size;
        memcpy(p, sn->id, id_len);
        memcpy(p + id_len, sn->name, name_len);
        pos += entry_bytes(sn);
    }
    return pos;
}

static void free_clusters(struct qcow2_image *q, uint64_t offset, uint64_t bytes)
{
    for (uint64_t at = 0; offset && at < bytes; at += q->cluster_size)
        qcow2_free_cluster(q, offset + at);
}

/*
 * Make list (n entries) the image's snapshot table: written to new
 * clusters (flushed), the header switched to it, the old table freed.  On
 * success q->h takes list (and frees the old array, not the entries).
 */
static int write_table(struct qcow2_image *q, struct qcow2_snapshot *list, uint32_t n)
{
    uint64_t bytes = 0, rounded, offset = 0;
    uint64_t old_offset = q->h.snapshots_offset, old_bytes = q->h.snapshots_bytes;
    unsigned char *buf = NULL, fields[12];

    for (uint32_t i = 0; i < n; i++)
        bytes = ((bytes + 7) & ~7ull) + entry_bytes(&list[i]);
    if (bytes > QCOW2_MAX_SNAPSHOT_TABLE) {
        glv_set_error(EFBIG, "%s: the snapshot table would grow past 64 MiB; delete "
                      "snapshots first", q->base.storage->name);
        return -1;
    }
    rounded = (bytes + q->cluster_size - 1) & ~(q->cluster_size - 1);
    if (n) {
        if (!(buf = qcow2_aligned_alloc(rounded)))
            return -1;
        memset(buf, 0, (size_t)rounded);
        serialize(list, n, buf);
        if (qcow2_alloc_clusters(q, rounded >> q->cluster_bits, &offset) < 0) {
            free(buf);
            return -1;
        }
        if (qcow2_refcount_commit(q) < 0 ||
            qcow2_checked_write(q, 0, buf, rounded, offset) < 0 || qcow2_flush_file(q) < 0)
            goto fail;
    }
    put_be32(fields, n);
    put_be64(fields + 4, offset);
    if (qcow2_header_write(q, HEADER_SNAPSHOTS, fields, sizeof fields) < 0)
        goto fail;
    free(buf);
    free(q->h.snapshots);
    q->h.snapshots = list;
    q->h.nb_snapshots = n;
    q->h.snapshots_offset = offset;
    q->h.snapshots_bytes = bytes;
    free_clusters(q, old_offset, old_bytes);
    return qcow2_refcount_writeback(q);
fail:
    free(buf);
    free_clusters(q, offset, rounded);
    qcow2_refcount_writeback(q);
    return -1;
}

/* Run change(q, key) under meta_lock, after the in-place writes in flight,
 * on a writer that keeps snapshots. */
static int run_locked(struct qcow2_image *q, const char *what,
                      int (*change)(struct qcow2_image *q, const char *key), const char *key)
{
    int rc;

    if (q->data_file) {
        glv_set_error(ENOTSUP, "%s: cannot %s: the image keeps its data in an external data "
                      "file, which internal snapshots cannot share (QEMU makes none either)",
                      q->base.storage->name, what);
        return -1;
    }
    if (qcow2_refuse_if_corrupt(q) < 0 || qcow2_mark_dirty(q) < 0)
        return -1;
    pthread_mutex_lock(&q->writer->meta_lock);
    pthread_rwlock_wrlock(&q->writer->in_place);
    pthread_rwlock_unlock(&q->writer->in_place);
    rc = change(q, key);
    pthread_mutex_unlock(&q->writer->meta_lock);
    return rc;
}

/* The active L1 table rewritten after its entries changed in memory. */
static int write_active_l1(struct qcow2_image *q)
{
    return qcow2_l1_write_table(q, q->h.l1, q->h.l1_size, q->h.l1_size, q->h.l1_offset,
                                QCOW2_META_L1);
}

/* Bring the active state's COPIED flags in line with the counts. */
static int settle_active_flags(struct qcow2_image *q)
{
    int changed = 0;

    if (qcow2_l1_update_refcounts(q, q->h.l1, q->h.l1_size, 0, &changed) < 0)
        return -1;
    return changed ? write_active_l1(q) : 0;
}

static char *next_id(const struct qcow2_header *h)
{
    unsigned long max = 0;
    char buf[24], *copy;

    for (uint32_t i = 0; i < h->nb_snapshots; i++) {
        unsigned long id = strtoul(h->snapshots[i].id, NULL, 10);

        max = id > max ? id : max;
    }
    snprintf(buf, sizeof buf, "%lu", max + 1);
    if (!(copy = strdup(buf)))
        glv_set_oom();
    return copy;
}

static int create_locked(struct qcow2_image *q, const char *name)
{
    struct qcow2_header *h = &q->h;
    struct qcow2_snapshot *list, *sn;
    uint64_t *copy = NULL, bytes = (uint64_t)h->l1_size * 8;
    struct timespec now;
    int changed = 0;

    if (h->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        glv_set_error(EFBIG, "%s: the image already has %u snapshots, the most qcow2 allows; "
                      "delete some first", q->base.storage->name, QCOW2_MAX_SNAPSHOTS);
        return -1;
    }
    if (!(list = calloc(h->nb_snapshots + 1, sizeof *list))) {
        glv_set_oom();
        return -1;
    }
    if (h->nb_snapshots)
        memcpy(list, h->snapshots, h->nb_snapshots * sizeof *list);
    sn = &list[h->nb_snapshots];
    clock_gettime(CLOCK_REALTIME, &now);
    sn->date_sec = (uint32_t)now.tv_sec;
    sn->date_nsec = (uint32_t)(now.tv_nsec / 1000 * 1000);
    sn->l1_size = h->l1_size;
    sn->disk_size = q->size;
    sn->extended_l2 = h->extended_l2;
    if (!(sn->id = next_id(h)) || !(sn->name = strdup(name)) ||
        (bytes && !(copy = calloc(h->l1_size, 8)))) {
        glv_set_oom();
        goto fail;
    }
    /* The references first (a refcount that would overflow stops it before
     * anything is allocated), then the copy (its COPIED flags cleared with
     * the active table's), then the table that names it. */
    if (qcow2_l1_update_refcounts(q, h->l1, h->l1_size, 1, &changed) < 0 ||
        (changed && write_active_l1(q) < 0))
        goto fail;
    for (uint32_t i = 0; i < h->l1_size; i++)
        copy[i] = qcow2_l1_entry(q, i);
    if (bytes) {
        if (qcow2_alloc_clusters(q, (bytes + q->cluster_size - 1) >> q->cluster_bits,
                                 &sn->l1_offset) < 0)
            goto fail;
        if (qcow2_refcount_commit(q) < 0 ||
            qcow2_l1_write_table(q, copy, h->l1_size, h->l1_size, sn->l1_offset, 0) < 0)
            goto fail;
    }
    sn->icount = 0;
    if (write_table(q, list, h->nb_snapshots + 1) < 0)
        goto fail;
    free(copy);
    return 0;
fail:
    /* Past the copy's allocation this leaks at worst (as a crash would). */
    free(sn->id);
    free(sn->name);
    free(copy);
    free(list);
    return -1;
}

int qcow2_snapshot_create_op(struct glv_format *f, const char *name)
{
    struct qcow2_image *q = qcow2(f);

    if (strlen(name) > UINT16_MAX) {
        glv_set_error(EINVAL, "%s: a snapshot name has at most 65535 bytes, not %zu",
                      f->storage->name, strlen(name));
        return -1;
    }
    return run_locked(q, "create a snapshot", create_locked, name);
}

/* By id, then by name (qemu-img snapshot -a). */
static int find_for_apply(const struct qcow2_header *h, const char *key)
{
    int index = qcow2_snapshot_find_by(h, key, 1);

    return index >= 0 ? index : qcow2_snapshot_find_by(h, key, 0);
}

/* A snapshot's L1 table, loaded and checked against the file as it is now
 * (it may have grown since the open, and the table may be new). */
static int load_l1(struct qcow2_image *q, struct qcow2_snapshot *sn)
{
    int64_t size = qcow2_refresh_size(q->base.storage, &q->file_size);

    if (size < 0)
        return -1;
    if ((uint64_t)size > q->h.file_size)
        q->h.file_size = (uint64_t)size;
    return qcow2_snapshot_load_l1(q->base.storage, &q->h, sn);
}

static int not_found(struct qcow2_image *q, const char *key, const char *how)
{
    glv_set_error(ENOENT, "%s: no snapshot %s '%s'; 'gluvirt snapshot -l' lists them",
                  q->base.storage->name, how, key);
    return -1;
}

static int apply_locked(struct qcow2_image *q, const char *key)
{
    struct qcow2_header *h = &q->h;
    struct qcow2_snapshot *sn;
    uint64_t *old = NULL, *fresh = NULL;
    int index = find_for_apply(h, key), changed = 0, rc = -1;

    if (index < 0)
        return not_found(q, key, "with id or name");
    sn = &h->snapshots[index];
    if (load_l1(q, sn) < 0)
        return -1;
    if (sn->disk_size != q->size &&
        (qcow2_resize_check(q) < 0 || qcow2_resize_locked(q, sn->disk_size) < 0))
        return -1;
    if (qcow2_grow_l1(q, sn->l1_size) < 0)
        return -1;
    if (!(old = calloc(h->l1_size ? h->l1_size : 1, 8)) ||
        !(fresh = calloc(h->l1_size ? h->l1_size : 1, 8))) {
        glv_set_oom();
        goto out;
    }
    if (sn->l1_size)
        memcpy(fresh, sn->l1, (size_t)sn->l1_size * 8);
    /* The snapshot's clusters gain their references before anything
     * points at them from the active table. */
    if (qcow2_l1_update_refcounts(q, fresh, sn->l1_size, 1, &changed) < 0 ||
        qcow2_l1_write_table(q, fresh, h->l1_size, h->l1_size, h->l1_offset,
                             QCOW2_META_L1) < 0)
        goto out;
    for (uint32_t i = 0; i < h->l1_size; i++) {
        old[i] = qcow2_l1_entry(q, i);
        __atomic_store_n(&h->l1[i], fresh[i], __ATOMIC_RELEASE);
    }
    if (qcow2_l1_update_refcounts(q, old, h->l1_size, -1, &changed) < 0)
        goto out;
    rc = settle_active_flags(q);
out:
    free(old);
    free(fresh);
    return rc;
}

int qcow2_snapshot_apply_op(struct glv_format *f, const char *key)
{
    return run_locked(qcow2(f), "apply a snapshot", apply_locked, key);
}

static int delete_locked(struct qcow2_image *q, const char *key)
{
    struct qcow2_header *h = &q->h;
    struct qcow2_snapshot gone, *list = NULL;
    uint32_t n = h->nb_snapshots, index;
    int changed = 0, rc, found;

    if ((found = qcow2_snapshot_find_by(h, key, 0)) < 0)
        return not_found(q, key, "named");
    index = (uint32_t)found;
    if (load_l1(q, &h->snapshots[index]) < 0)
        return -1;
    gone = h->snapshots[index];
    if (n > 1) {
        if (!(list = calloc(n - 1, sizeof *list))) {
            glv_set_oom();
            return -1;
        }
        memcpy(list, h->snapshots, index * sizeof *list);
        memcpy(list + index, h->snapshots + index + 1, (n - 1 - index) * sizeof *list);
    }
    /* The entry goes first: from then on its clusters can only leak. */
    if (write_table(q, list, n - 1) < 0) {
        free(list);
        return -1;
    }
    rc = qcow2_l1_update_refcounts(q, gone.l1, gone.l1_size, -1, &changed);
    if (rc == 0) {
        free_clusters(q, gone.l1_offset, (uint64_t)gone.l1_size * 8);
        rc = qcow2_refcount_writeback(q);
    }
    if (rc == 0)
        rc = settle_active_flags(q);
    free(gone.id);
    free(gone.name);
    free(gone.l1);
    free(gone.unknown_extra);
    return rc;
}

int qcow2_snapshot_delete_op(struct glv_format *f, const char *key)
{
    return run_locked(qcow2(f), "delete a snapshot", delete_locked, key);
}

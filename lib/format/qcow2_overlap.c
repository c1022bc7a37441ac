/*
 * Every write a writable qcow2 image makes to its file goes through here:
 * first the overlap check, then the write.  The check compares the host
 * range with the clusters the image's metadata occupies (header, L1 tables,
 * the active L2 tables, refcount table and blocks, snapshot table), at
 * cluster granularity.  A write that would land on metadata means the
 * image's tables are damaged (a refcount of 0 on a table, an L2 entry
 * pointing at a table); writing anyway would destroy what is left, so the image is marked
 * corrupt instead (the incompatible bit QEMU also sets, on version 3) and
 * every later write fails.  Reads keep working, as they do in QEMU.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

/* Incompatible feature bits: byte 72 of a version 3 header. */
#define HEADER_INCOMPATIBLE 72u

static int clusters_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The metadata kind [offset, offset + len) overlaps, or 0.  Called with
 * in_place held (shared) or meta_lock: the refcount table stays put. */
static unsigned overlapping(const struct qcow2_image *q, unsigned skip, uint64_t offset,
                            uint64_t len)
{
    const struct qcow2_writer *w = q->writer;
    const uint64_t cs = q->cluster_size;
    uint64_t start = offset & ~(cs - 1), span = ((offset + len + cs - 1) & ~(cs - 1)) - start;

    if (!(skip & QCOW2_META_HEADER) && clusters_overlap(start, span, 0, cs))
        return QCOW2_META_HEADER;
    if (!(skip & QCOW2_META_L1) && q->h.l1_size &&
        clusters_overlap(start, span, q->h.l1_offset,
                         ((uint64_t)q->h.l1_size * 8 + cs - 1) & ~(cs - 1)))
        return QCOW2_META_L1;
    /* The snapshots' L1 tables (theirs alone: never written here). */
    for (uint32_t i = 0; i < q->h.nb_snapshots; i++) {
        const struct qcow2_snapshot *sn = &q->h.snapshots[i];

        if (sn->l1_size && clusters_overlap(start, span, sn->l1_offset,
                                            ((uint64_t)sn->l1_size * 8 + cs - 1) & ~(cs - 1)))
            return QCOW2_META_L1;
    }
    if (!(skip & QCOW2_META_REFTABLE) &&
        clusters_overlap(start, span, w->reftable_offset, (uint64_t)w->reftable_clusters * cs))
        return QCOW2_META_REFTABLE;
    if (!(skip & QCOW2_META_SNAPSHOTS) && q->h.nb_snapshots &&
        clusters_overlap(start, span, q->h.snapshots_offset,
                         q->h.snapshots_bytes ? (q->h.snapshots_bytes + cs - 1) & ~(cs - 1)
                                              : cs))
        return QCOW2_META_SNAPSHOTS;
    if (!(skip & QCOW2_META_L2)) {
        for (uint64_t i = 0; i < q->h.l1_size; i++) {
            uint64_t table = qcow2_l1_entry(q, i) & QCOW2_L1E_OFFSET_MASK;

            if (table && clusters_overlap(start, span, table, cs))
                return QCOW2_META_L2;
        }
    }
    if (!(skip & QCOW2_META_REFBLOCK)) {
        for (uint64_t i = 0; i < w->reftable_entries; i++) {
            uint64_t block = __atomic_load_n(&w->reftable[i], __ATOMIC_RELAXED);

            if (block && clusters_overlap(start, span, block, cs))
                return QCOW2_META_REFBLOCK;
        }
    }
    return 0;
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case QCOW2_META_HEADER:
        return "header";
    case QCOW2_META_L1:
        return "L1 table";
    case QCOW2_META_L2:
        return "L2 tables";
    case QCOW2_META_REFTABLE:
        return "refcount table";
    case QCOW2_META_REFBLOCK:
        return "refcount blocks";
    default:
        return "snapshot table";
    }
}

int qcow2_refuse_if_corrupt(struct qcow2_image *q)
{
    if (!__atomic_load_n(&q->writer->corrupt, __ATOMIC_ACQUIRE))
        return 0;
    glv_set_error(EIO, "%s: the image was found damaged and marked corrupt, so it takes no "
                  "more writes; reading still works; see 'qemu-img check'",
                  q->base.storage->name);
    return -1;
}

int qcow2_flush_file(struct qcow2_image *q)
{
    return q->base.storage->ops->flush(q->base.storage);
}

/* Under header_lock: replace bytes of the header's first sector; flushed. */
static int rewrite_header(struct qcow2_image *q, unsigned at, const void *bytes, unsigned len)
{
    struct glv_storage *s = q->base.storage;
    uint64_t chunk = q->writer->chunk;
    unsigned char *sector = qcow2_aligned_alloc(chunk);
    struct iovec iov = {sector, (size_t)chunk};
    int rc = -1;

    if (!sector)
        return -1;
    if (s->ops->preadv(s, &iov, 1, 0) == 0) {
        memcpy(sector + at, bytes, len);
        rc = s->ops->pwritev(s, &iov, 1, 0);
        if (rc == 0)
            rc = qcow2_flush_file(q);
    }
    free(sector);
    return rc;
}

int qcow2_header_write(struct qcow2_image *q, unsigned at, const void *bytes, unsigned len)
{
    int rc;

    pthread_mutex_lock(&q->writer->header_lock);
    rc = rewrite_header(q, at, bytes, len);
    pthread_mutex_unlock(&q->writer->header_lock);
    return rc;
}

int qcow2_header_update_incompatible(struct qcow2_image *q, uint64_t set, uint64_t clear)
{
    uint64_t bits, be;
    int rc;

    pthread_mutex_lock(&q->writer->header_lock);
    bits = (__atomic_load_n(&q->h.incompatible, __ATOMIC_RELAXED) | set) & ~clear;
    be = htobe64(bits);
    if ((rc = rewrite_header(q, HEADER_INCOMPATIBLE, &be, sizeof be)) == 0)
        __atomic_store_n(&q->h.incompatible, bits, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&q->writer->header_lock);
    return rc;
}

int qcow2_mark_corrupt(struct qcow2_image *q, const char *what)
{
    char *saved = NULL;
    int marked = 0;

    if (!__atomic_exchange_n(&q->writer->corrupt, 1, __ATOMIC_ACQ_REL) && q->h.version >= 3) {
        /* The caller's message is built first: a failing header write would
         * replace it. */
        saved = strdup(what);
        marked = qcow2_header_update_incompatible(q, QCOW2_INCOMPAT_CORRUPT, 0) == 0;
    }
    glv_set_error(EIO, "%s: %s; the image's metadata is damaged: the write was refused and "
                  "the image %s, so it takes no more writes (read-only opens still work; "
                  "see 'qemu-img check')", q->base.storage->name, saved ? saved : what,
                  marked ? "is now marked corrupt"
                         : q->h.version < 3 ? "is refused for writing by this open (version 2 "
                                              "images have no corrupt bit)"
                                            : "is refused for writing by this open");
    glv_log(GLUVIRT_LOG_ERROR, "%s", gluvirt_errmsg());
    free(saved);
    return -1;
}

static int refuse_overlap(struct qcow2_image *q, unsigned kind, uint64_t offset, uint64_t len)
{
    char what[200];

    snprintf(what, sizeof what, "a write of %" PRIu64 " bytes at host offset 0x%" PRIx64
             " would overwrite the image's %s", len, offset, kind_name(kind));
    return qcow2_mark_corrupt(q, what);
}

int qcow2_checked_writev(struct qcow2_image *q, unsigned skip, const struct iovec *iov,
                         int iovcnt, uint64_t offset)
{
    struct glv_storage *s = q->base.storage;
    int64_t len = glv_iov_length(iov, iovcnt);
    unsigned kind;

    if (len < 0 || qcow2_refuse_if_corrupt(q) < 0)
        return -1;
    if (len == 0)
        return 0;
    if ((kind = overlapping(q, skip, offset, (uint64_t)len)))
        return refuse_overlap(q, kind, offset, (uint64_t)len);
    if (s->ops->pwritev(s, iov, iovcnt, offset) < 0)
        return -1;
    qcow2_note_size(&q->file_size, offset + (uint64_t)len);
    return 0;
}

void qcow2_note_size(uint64_t *known, uint64_t end)
{
    uint64_t was = __atomic_load_n(known, __ATOMIC_RELAXED);

    while (end > was && !__atomic_compare_exchange_n(known, &was, end, 0, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
        ;
}

int qcow2_checked_write(struct qcow2_image *q, unsigned skip, const void *buf, uint64_t len,
                        uint64_t offset)
{
    struct iovec iov = {(void *)buf, (size_t)len};

    return qcow2_checked_writev(q, skip, &iov, 1, offset);
}

/*
 * The qcow2 format driver: open (header, snapshot choice, external data
 * file), the read path, block mapping, and the image's properties.  Writes
 * are qcow2_write.h's, on images opened writable, and so are resizing and
 * internal snapshots.
 *
 * A read walks the request extent by extent (qcow2_cluster.c) and merges
 * neighbouring extents that one transfer can serve: data clusters that
 * follow each other on the host become one storage read straight into the
 * caller's buffers, zero runs one memset, unallocated runs one read of the
 * backing file.  Only compressed clusters go one at a time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

static struct qcow2_image *qcow2(struct glv_format *f)
{
    return (struct qcow2_image *)f;
}

static int64_t qcow2_size(struct glv_format *f)
{
    return (int64_t)qcow2(f)->size;
}

/* ------------------------------------------------------------ reading */

/* Vectors up to this many entries are sliced on the stack. */
#define INLINE_SLICES 16

struct read_request {
    struct qcow2_image *q;
    const struct iovec *iov;
    int iovcnt;
    uint64_t offset;                    /* the guest offset of iov's first byte */
    struct iovec inline_slices[INLINE_SLICES];
    struct iovec *slices;               /* inline_slices, or the heap for long vectors */
};

/* The extent waiting to be read, starting 'start' bytes into the request. */
struct pending {
    struct qcow2_extent e;
    uint64_t start;
};

static int can_merge(const struct pending *p, const struct qcow2_extent *e)
{
    if (p->e.m.kind != e->m.kind || e->m.kind == GLV_MAP_COMPRESSED)
        return 0;
    return e->m.kind != GLV_MAP_DATA ||
           (p->e.m.host == e->m.host && p->e.m.host_offset + p->e.m.length == e->m.host_offset);
}

static int read_pending(struct read_request *r, const struct pending *p)
{
    struct qcow2_image *q = r->q;
    uint64_t guest = r->offset + p->start, sliced;
    int n = glv_iov_slice(r->iov, r->iovcnt, p->start, p->e.m.length, r->slices, r->iovcnt,
                          &sliced);

    switch (p->e.m.kind) {
    case GLV_MAP_DATA:
        return p->e.m.host->ops->preadv(p->e.m.host, r->slices, n, p->e.m.host_offset);
    case GLV_MAP_ZERO:
        glv_iov_zero(r->slices, n, 0);
        return 0;
    case GLV_MAP_UNALLOCATED:
        return glv_format_read_backing(&q->base, r->slices, n, guest);
    default:
        return qcow2_compressed_read(q, p->e.l2_entry, guest & ~(q->cluster_size - 1),
                                     guest & (q->cluster_size - 1), r->slices, n);
    }
}

static int qcow2_preadv(struct glv_format *f, const struct iovec *iov, int iovcnt,
                        uint64_t offset)
{
    struct read_request r;
    struct pending p;
    uint64_t done = 0;
    int64_t length = glv_iov_length(iov, iovcnt);
    int rc = 0, have_pending = 0;

    if (length <= 0)
        return length < 0 ? -1 : 0;
    r.q = qcow2(f);
    r.iov = iov;
    r.iovcnt = iovcnt;
    r.offset = offset;
    r.slices = r.inline_slices;
    if (iovcnt > INLINE_SLICES && !(r.slices = malloc((size_t)iovcnt * sizeof *r.slices))) {
        glv_set_oom();
        return -1;
    }
    while (done < (uint64_t)length) {
        struct qcow2_extent e;

        if ((rc = qcow2_map_extent(r.q, offset + done, (uint64_t)length - done, 0, &e)) < 0)
            break;
        if (have_pending && can_merge(&p, &e)) {
            p.e.m.length += e.m.length;
        } else {
            if (have_pending && (rc = read_pending(&r, &p)) < 0)
                break;
            p.e = e;
            p.start = done;
            have_pending = 1;
        }
        done += e.m.length;
    }
    if (rc == 0 && have_pending)
        rc = read_pending(&r, &p);
    if (r.slices != r.inline_slices)
        free(r.slices);
    return rc;
}

static int qcow2_map(struct glv_format *f, uint64_t offset, uint64_t length, int cached_only,
                     struct glv_mapping *m)
{
    struct qcow2_extent e;

    if (qcow2_map_extent(qcow2(f), offset, length, cached_only, &e) < 0)
        return -1;
    *m = e.m;
    return 0;
}

/* ------------------------------------------------------------ writing */

/* Opened read-only: the image layer refuses writes before they get here,
 * and these say the same should one arrive. */
static int read_only(struct glv_format *f)
{
    glv_set_error(EROFS, "%s: the qcow2 image is opened read-only", f->storage->name);
    return -1;
}

static int qcow2_pwritev(struct glv_format *f, const struct iovec *iov, int iovcnt,
                         uint64_t offset)
{
    return qcow2(f)->writer ? qcow2_write_pwritev(f, iov, iovcnt, offset) : read_only(f);
}

static int qcow2_flush(struct glv_format *f)
{
    return qcow2(f)->writer ? qcow2_write_flush(f) : 0; /* nothing was written */
}

static int qcow2_discard(struct glv_format *f, uint64_t offset, uint64_t length)
{
    return qcow2(f)->writer ? qcow2_write_discard(f, offset, length) : read_only(f);
}

static int qcow2_write_zeroes_op(struct glv_format *f, uint64_t offset, uint64_t length,
                                 unsigned flags)
{
    return qcow2(f)->writer ? qcow2_write_zeroes(f, offset, length, flags) : read_only(f);
}

static int qcow2_truncate(struct glv_format *f, uint64_t size)
{
    return qcow2(f)->writer ? qcow2_truncate_op(f, size) : read_only(f);
}

static int qcow2_snapshot_create(struct glv_format *f, const char *name)
{
    return qcow2(f)->writer ? qcow2_snapshot_create_op(f, name) : read_only(f);
}

static int qcow2_snapshot_apply(struct glv_format *f, const char *key)
{
    return qcow2(f)->writer ? qcow2_snapshot_apply_op(f, key) : read_only(f);
}

static int qcow2_snapshot_delete(struct glv_format *f, const char *key)
{
    return qcow2(f)->writer ? qcow2_snapshot_delete_op(f, key) : read_only(f);
}

/* ------------------------------------------------------------ properties */

static int64_t no_int(struct glv_format *f, const char *what, int key)
{
    glv_set_error(ENOENT, "%s: a qcow2 image has no %s %d", f->storage->name, what, key);
    return -1;
}

static const char *no_string(struct glv_format *f, const char *what, int key)
{
    glv_set_error(ENOENT, "%s: a qcow2 image has no %s %d", f->storage->name, what, key);
    return NULL;
}

static int64_t qcow2_info_int(struct glv_format *f, gluvirt_info_key key)
{
    const struct qcow2_header *h = &qcow2(f)->h;

    switch (key) {
    case GLUVIRT_INFO_CLUSTER_SIZE:
        return (int64_t)h->cluster_size;
    case GLUVIRT_INFO_QCOW2_VERSION:
        return h->version;
    case GLUVIRT_INFO_REFCOUNT_BITS:
        return (int64_t)1 << h->refcount_order;
    case GLUVIRT_INFO_DIRTY:
        return (h->incompatible & QCOW2_INCOMPAT_DIRTY) != 0;
    case GLUVIRT_INFO_CORRUPT:
        return (h->incompatible & QCOW2_INCOMPAT_CORRUPT) != 0;
    case GLUVIRT_INFO_LAZY_REFCOUNTS:
        return (h->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    case GLUVIRT_INFO_EXTENDED_L2:
        return h->extended_l2 != 0;
    case GLUVIRT_INFO_SNAPSHOT_COUNT:
        return h->nb_snapshots;
    default:
        return no_int(f, "integer property", (int)key);
    }
}

static const char *present(struct glv_format *f, const char *value, const char *what)
{
    if (!value)
        glv_set_error(ENOENT, "%s: the image has no %s", f->storage->name, what);
    return value;
}

static const char *qcow2_info_string(struct glv_format *f, gluvirt_info_key key)
{
    const struct qcow2_header *h = &qcow2(f)->h;

    switch (key) {
    case GLUVIRT_INFO_COMPRESSION_TYPE:
        return h->compression == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib";
    case GLUVIRT_INFO_BACKING_NAME:
        return present(f, h->backing_name, "backing file");
    case GLUVIRT_INFO_BACKING_FORMAT:
        return present(f, h->backing_format, "backing file format");
    case GLUVIRT_INFO_DATA_FILE:
        return present(f, h->data_file, "external data file");
    default:
        return no_string(f, "string property", (int)key);
    }
}

static const struct qcow2_snapshot *snapshot_at(struct glv_format *f, int index)
{
    const struct qcow2_header *h = &qcow2(f)->h;

    if (index >= 0 && (uint32_t)index < h->nb_snapshots)
        return &h->snapshots[index];
    glv_set_error(EINVAL, "%s: no snapshot with index %d (the image has %u)", f->storage->name,
                  index, h->nb_snapshots);
    return NULL;
}

static int64_t qcow2_snapshot_int(struct glv_format *f, int index, gluvirt_snapshot_key key)
{
    const struct qcow2_snapshot *sn = snapshot_at(f, index);

    if (!sn)
        return -1;
    switch (key) {
    case GLUVIRT_SNAPSHOT_VM_STATE_SIZE:
        return (int64_t)sn->vm_state_size;
    case GLUVIRT_SNAPSHOT_DATE_SEC:
        return sn->date_sec;
    case GLUVIRT_SNAPSHOT_DATE_NSEC:
        return sn->date_nsec;
    case GLUVIRT_SNAPSHOT_VM_CLOCK_NSEC:
        return (int64_t)sn->vm_clock_nsec;
    case GLUVIRT_SNAPSHOT_ICOUNT:
        return sn->icount;
    case GLUVIRT_SNAPSHOT_DISK_SIZE:
        return (int64_t)sn->disk_size;
    default:
        return no_int(f, "integer snapshot property", (int)key);
    }
}

static const char *qcow2_snapshot_string(struct glv_format *f, int index,
                                         gluvirt_snapshot_key key)
{
    const struct qcow2_snapshot *sn = snapshot_at(f, index);

    if (!sn)
        return NULL;
    switch (key) {
    case GLUVIRT_SNAPSHOT_ID:
        return sn->id;
    case GLUVIRT_SNAPSHOT_NAME:
        return sn->name;
    default:
        return no_string(f, "string snapshot property", (int)key);
    }
}

/* ------------------------------------------------------------ open and close */

static void qcow2_close(struct glv_format *f)
{
    struct qcow2_image *q = qcow2(f);

    qcow2_writer_free(q);
    qcow2_l2_cache_free(q->l2_cache);
    qcow2_compressed_release(q);
    if (q->data_file)
        q->data_file->ops->close(q->data_file);
    qcow2_header_release(&q->h);
    free(q);
}

static const struct glv_format_ops qcow2_ops = {
    .name = "qcow2",
    .size = qcow2_size,
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes_op,
    .truncate = qcow2_truncate,
    .close = qcow2_close,
    .map = qcow2_map,
    .info_int = qcow2_info_int,
    .info_string = qcow2_info_string,
    .snapshot_int = qcow2_snapshot_int,
    .snapshot_string = qcow2_snapshot_string,
    .check = qcow2_check_op,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_apply = qcow2_snapshot_apply,
    .snapshot_delete = qcow2_snapshot_delete,
};

/* Read a snapshot instead of the current state. */
static int choose_snapshot(struct qcow2_image *q, const char *key)
{
    struct qcow2_snapshot *sn;
    int index = qcow2_snapshot_find(&q->h, key);

    if (index < 0) {
        glv_set_error(ENOENT, "%s: no snapshot named or with id '%s'; `gluvirt info` lists them",
                      q->base.storage->name, key);
        return -1;
    }
    sn = &q->h.snapshots[index];
    if (!sn->l1 && qcow2_snapshot_load_l1(q->base.storage, &q->h, sn) < 0)
        return -1;
    q->l1 = sn->l1;
    q->l1_size = sn->l1_size;
    q->size = sn->disk_size;
    q->extended_l2 = sn->extended_l2;
    return 0;
}

static int open_data_file(struct qcow2_image *q, const struct glv_qcow2_options *options)
{
    const char *name = q->base.storage->name;

    if (!q->h.data_file) {
        glv_set_error(EINVAL, "%s: the image keeps its data in an external data file but does "
                      "not name one", name);
        return -1;
    }
    if (!options->data_file.open) {
        glv_set_error(ENOTSUP, "%s: the image keeps its data in the external file '%s', which "
                      "this open cannot reach", name, q->h.data_file);
        return -1;
    }
    if (!(q->data_file = options->data_file.open(options->data_file.ctx, q->h.data_file,
                                                 options->writable)))
        return -1;
    q->data = q->data_file;
    if (qcow2_refresh_size(q->data_file, &q->data_size) < 0)
        return -1;
    /* The data file is then the disk byte for byte; with a snapshot or a
     * backing file (neither goes with it) the tables still decide. */
    q->data_file_raw = (q->h.autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW) &&
                       q->l1 == q->h.l1 && !q->h.backing_name;
    return 0;
}

struct glv_format *glv_format_qcow2_open(struct glv_storage *storage,
                                         const struct glv_qcow2_options *options)
{
    static const struct glv_qcow2_options defaults;
    struct qcow2_image *q = calloc(1, sizeof *q);
    uint64_t cache_bytes;

    if (!q) {
        glv_set_oom();
        return NULL;
    }
    if (!options)
        options = &defaults;
    if (qcow2_header_read(storage, &q->h) < 0) {
        free(q);
        return NULL;
    }
    q->base.ops = &qcow2_ops;
    q->base.storage = storage;
    q->base.backing_name = q->h.backing_name;
    q->base.backing_format = q->h.backing_format;
    q->l1 = q->h.l1;
    q->l1_size = q->h.l1_size;
    q->size = q->h.size;
    q->extended_l2 = q->h.extended_l2;
    q->cluster_bits = q->h.cluster_bits;
    q->cluster_size = q->h.cluster_size;
    q->data = storage;
    q->file_size = q->h.file_size;
    qcow2_compressed_init(q);

    if (options->snapshot && choose_snapshot(q, options->snapshot) < 0)
        goto fail;
    /* 32 subclusters of at least 512 bytes each. */
    if (q->extended_l2 && q->cluster_bits < 14) {
        glv_set_error(EINVAL, "%s: extended L2 entries need clusters of at least 16384 bytes, "
                      "not %llu", storage->name, (unsigned long long)q->cluster_size);
        goto fail;
    }
    q->l2_bits = q->cluster_bits - (q->extended_l2 ? 4 : 3);
    q->subcluster_bits = q->extended_l2 ? q->cluster_bits - 5 : q->cluster_bits;
    if (options->writable && qcow2_writer_check(q) < 0)
        goto fail;
    if ((q->h.incompatible & QCOW2_INCOMPAT_DATA_FILE) && open_data_file(q, options) < 0)
        goto fail;

    cache_bytes = options->l2_cache_size ? options->l2_cache_size : QCOW2_L2_CACHE_DEFAULT;
    if (!(q->l2_cache = qcow2_l2_cache_new(storage, q->cluster_size, cache_bytes, q->l1_size)))
        goto fail;
    if (options->writable && qcow2_writer_open(q) < 0)
        goto fail;
    return &q->base;
fail:
    qcow2_close(&q->base);
    return NULL;
}

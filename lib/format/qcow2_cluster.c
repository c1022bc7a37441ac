/*
 * Guest offset -> extent: walk L1 -> L2 -> entry and grow the answer over
 * the following entries while they keep the same kind (and, for data, stay
 * contiguous on the host), so that a read of many clusters becomes one
 * storage transfer.  The whole walk of one table happens under the L2
 * cache's lock, taken once per extent; entries are only classified here,
 * never read through.
 *
 * Entries come from the file and are checked before use: a data offset must
 * be cluster-aligned and lie inside its file, a subcluster cannot be both
 * allocated and zero, and so on.  A bad entry fails the request that reaches
 * it with EIO, naming the guest offset and the entry; it never crashes and
 * never lets a read land outside the file.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>

#include "format/qcow2_driver.h"

/* What one allocation unit (a cluster, or with extended L2 a subcluster)
 * holds, as found in its entry. */
enum unit_problem {
    UNIT_OK,
    UNIT_UNALIGNED,         /* data offset not cluster-aligned */
    UNIT_ZERO_IN_V2,        /* the zero flag does not exist in version 2 */
    UNIT_NOT_AT_GUEST,      /* external data file: host offset != guest offset */
    UNIT_COMPRESSED_DATA_FILE,
    UNIT_ALLOC_AND_ZERO,    /* extended L2: both bitmap bits set */
    UNIT_ALLOC_UNALLOCATED  /* extended L2: allocated subclusters without a cluster */
};

struct unit_run {
    enum glv_map_kind kind;
    uint64_t host;          /* DATA: the host offset of the cluster (not the unit) */
    unsigned first, count;  /* units from first on sharing kind (same cluster) */
    enum unit_problem problem;
};

static unsigned units_per_cluster(const struct qcow2_image *q)
{
    return 1u << (q->cluster_bits - q->subcluster_bits);
}

/* The run of set bits in mask from bit 'from' on (mask holds 32 bits). */
static unsigned ones_from(uint32_t mask, unsigned from)
{
    uint32_t clear = ~mask >> from;

    return clear ? (unsigned)__builtin_ctz(clear) : 32 - from;
}

/*
 * Classify the entry of the guest cluster at guest_cluster (byte offset),
 * from unit 'first' on.  The entry's host offset is checked for alignment
 * and, with an external data file, against the guest offset; the file
 * bounds are checked by the caller, which can ask the storage.
 */
static void classify(const struct qcow2_image *q, const uint64_t *entries, uint64_t index,
                     uint64_t guest_cluster, unsigned first, struct unit_run *r)
{
    uint64_t entry = q->extended_l2 ? entries[2 * index] : entries[index];
    uint64_t host = entry & QCOW2_L2E_OFFSET_MASK;
    unsigned units = units_per_cluster(q);
    int allocated;

    r->first = first;
    r->count = units - first;
    r->host = 0;
    r->problem = UNIT_OK;
    if (entry & QCOW2_OFLAG_COMPRESSED) {
        r->kind = GLV_MAP_COMPRESSED;
        if (q->data_file)
            r->problem = UNIT_COMPRESSED_DATA_FILE;
        return;
    }
    /* With an external data file, guest cluster 0 lives at host offset 0:
     * the COPIED flag tells it from an unallocated entry. */
    allocated = host != 0 || (q->data_file && (entry & QCOW2_OFLAG_COPIED));
    if (allocated) {
        r->host = host;
        if (host & (q->cluster_size - 1))
            r->problem = UNIT_UNALIGNED;
        else if (q->data_file && host != guest_cluster)
            r->problem = UNIT_NOT_AT_GUEST;
        /* (Aligned and not 0, a data offset also lies past the header cluster.) */
    }

    if (!q->extended_l2) {
        if (entry & QCOW2_OFLAG_ZERO) {
            /* "Preallocated zero" (an offset with the flag) reads as zeros too. */
            r->kind = GLV_MAP_ZERO;
            r->problem = q->h.version < 3 ? UNIT_ZERO_IN_V2 : UNIT_OK;
        } else {
            r->kind = allocated ? GLV_MAP_DATA : GLV_MAP_UNALLOCATED;
        }
        return;
    }

    {
        uint64_t bitmap = entries[2 * index + 1];
        uint32_t alloc = (uint32_t)bitmap, zero = (uint32_t)(bitmap >> 32);

        if (!allocated && alloc) {
            r->kind = GLV_MAP_UNALLOCATED;
            r->problem = UNIT_ALLOC_UNALLOCATED;
            return;
        }
        if (alloc & zero) {
            r->kind = GLV_MAP_DATA;
            r->problem = UNIT_ALLOC_AND_ZERO;
            return;
        }
        if (zero & (1u << first)) {
            r->kind = GLV_MAP_ZERO;
            r->count = ones_from(zero, first);
            r->problem = UNIT_OK; /* no data is read: the offset does not matter */
        } else if (alloc & (1u << first)) {
            r->kind = GLV_MAP_DATA;
            r->count = ones_from(alloc, first);
        } else {
            r->kind = GLV_MAP_UNALLOCATED;
            r->count = ones_from(~(alloc | zero), first);
            r->problem = UNIT_OK;
        }
    }
}

static int report_problem(const struct qcow2_image *q, const uint64_t *entries, uint64_t index,
                          uint64_t offset, const struct unit_run *r)
{
    const char *name = q->base.storage->name;
    uint64_t entry = q->extended_l2 ? entries[2 * index] : entries[index];
    uint64_t bitmap = q->extended_l2 ? entries[2 * index + 1] : 0;
    const char *what;

    switch (r->problem) {
    case UNIT_UNALIGNED:
        what = "points to a host offset that is not cluster-aligned";
        break;
    case UNIT_ZERO_IN_V2:
        what = "has the zero flag, which version 2 images do not have";
        break;
    case UNIT_NOT_AT_GUEST:
        what = "puts the cluster elsewhere than at its guest offset, which an external data "
               "file requires";
        break;
    case UNIT_COMPRESSED_DATA_FILE:
        what = "is compressed, which images with an external data file cannot be";
        break;
    case UNIT_ALLOC_AND_ZERO:
        what = "marks a subcluster both allocated and zero";
        break;
    default:
        what = "marks subclusters allocated in a cluster that has no host offset";
        break;
    }
    if (q->extended_l2)
        glv_set_error(EIO, "%s: the L2 entry for guest offset %" PRIu64 " (0x%016" PRIx64
                      ", bitmap 0x%016" PRIx64 ") %s; the image is damaged (see 'qemu-img "
                      "check')", name, offset, entry, bitmap, what);
    else
        glv_set_error(EIO, "%s: the L2 entry for guest offset %" PRIu64 " (0x%016" PRIx64
                      ") %s; the image is damaged (see 'qemu-img check')", name, offset, entry,
                      what);
    return -1;
}

int64_t qcow2_refresh_size(struct glv_storage *s, uint64_t *known)
{
    int64_t size = s->ops->size(s);

    if (size >= 0)
        __atomic_store_n(known, (uint64_t)size, __ATOMIC_RELAXED);
    return size;
}

/* A data cluster must start inside its file.  The known size is what the
 * file had when last asked; only an entry past it costs a size query. */
static int check_data_bounds(struct qcow2_image *q, uint64_t offset, uint64_t entry,
                             uint64_t host, int cached_only)
{
    uint64_t *known = q->data_file ? &q->data_size : &q->file_size;
    int64_t size;

    if (host < __atomic_load_n(known, __ATOMIC_RELAXED))
        return 0;
    if (cached_only) {
        errno = EAGAIN;
        return -1;
    }
    if ((size = qcow2_refresh_size(q->data, known)) < 0)
        return -1;
    if (host < (uint64_t)size)
        return 0;
    glv_set_error(EIO, "%s: the L2 entry for guest offset %" PRIu64 " (0x%016" PRIx64 ") points "
                  "to host offset %" PRIu64 ", past the end of %s (%" PRId64 " bytes); the image "
                  "is damaged or truncated", q->base.storage->name, offset, entry, host,
                  q->data->name, size);
    return -1;
}

/* Nothing allocated from here to the end of the L2 table's range (first
 * bytes): the run goes on over the following L1 entries that have no table
 * either, so that a sparse disk maps in few steps whatever its cluster size. */
static int unmapped(const struct qcow2_image *q, uint64_t l1_index, uint64_t first,
                    uint64_t length, struct qcow2_extent *e)
{
    const uint64_t table_span = 1ull << (q->l2_bits + q->cluster_bits);
    uint64_t run = first;

    for (l1_index++; run < length; l1_index++) {
        if (l1_index >= q->l1_size) {
            run = length;
            break;
        }
        if (qcow2_l1_entry(q, l1_index) & QCOW2_L1E_OFFSET_MASK)
            break;
        run += table_span;
    }
    e->m.kind = GLV_MAP_UNALLOCATED;
    e->m.length = run < length ? run : length;
    e->m.host_offset = 0;
    e->m.host = NULL;
    e->l2_entry = 0;
    return 0;
}

int qcow2_map_extent(struct qcow2_image *q, uint64_t offset, uint64_t length, int cached_only,
                     struct qcow2_extent *e)
{
    const uint32_t cb = q->cluster_bits, ub = q->subcluster_bits;
    const uint64_t cluster_mask = q->cluster_size - 1;
    const uint64_t table_entries = 1ull << q->l2_bits;
    uint64_t cluster = offset >> cb;
    uint64_t l1_index = cluster >> q->l2_bits, index = cluster & (table_entries - 1);
    uint64_t in_cluster = offset & cluster_mask;
    uint64_t to_table_end = ((table_entries - index) << cb) - in_cluster;
    uint64_t limit = length < to_table_end ? length : to_table_end;
    uint64_t table, run, known_size, first_entry, first_host = 0, host_here = 0;
    const uint64_t *entries;
    struct unit_run r;
    unsigned units = units_per_cluster(q);

    /* Past the L1 table (possible for a snapshot): nothing is allocated there. */
    if (l1_index >= q->l1_size || !(table = qcow2_l1_entry(q, l1_index) & QCOW2_L1E_OFFSET_MASK))
        return unmapped(q, l1_index, to_table_end, length, e);
    if (table & cluster_mask) {
        glv_set_error(EIO, "%s: L1 entry %" PRIu64 " (0x%016" PRIx64 ") points to an L2 table "
                      "at a host offset that is not cluster-aligned; the image is damaged "
                      "(see 'qemu-img check')", q->base.storage->name, l1_index, qcow2_l1_entry(q, l1_index));
        return -1;
    }
    if (!(entries = qcow2_l2_cache_lookup(q->l2_cache, table, cached_only)))
        return -1;

    first_entry = entries[q->extended_l2 ? 2 * index : index];
    classify(q, entries, index, offset - in_cluster, (unsigned)(in_cluster >> ub), &r);
    if (r.problem != UNIT_OK) {
        report_problem(q, entries, index, offset, &r);
        qcow2_l2_cache_unlock(q->l2_cache);
        return -1;
    }
    e->m.kind = r.kind;
    e->m.host = NULL;
    e->m.host_offset = 0;
    e->l2_entry = 0;
    if (r.kind == GLV_MAP_COMPRESSED) {
        e->l2_entry = first_entry;
        qcow2_l2_cache_unlock(q->l2_cache);
        run = q->cluster_size - in_cluster;
        e->m.length = run < limit ? run : limit;
        return 0;
    }
    /* Zero and unallocated units of an allocated cluster keep their host
     * offset too: block status reports it, as qemu-img map does. */
    if (r.kind == GLV_MAP_DATA || r.host) {
        first_host = r.host;
        host_here = r.host + in_cluster;
        e->m.host = q->data;
        e->m.host_offset = host_here;
    }
    known_size = __atomic_load_n(q->data_file ? &q->data_size : &q->file_size, __ATOMIC_RELAXED);

    /* Bytes from offset to the end of the first run, then whole clusters
     * while the run goes on at their start. */
    run = ((uint64_t)(r.first + r.count) << ub) - in_cluster;
    while (run < limit && r.first + r.count == units) {
        index++;
        classify(q, entries, index, offset + run, 0, &r);
        if (r.problem != UNIT_OK || r.kind != e->m.kind || r.kind == GLV_MAP_COMPRESSED)
            break;
        if (r.kind == GLV_MAP_DATA && (r.host != host_here + run || r.host >= known_size))
            break;
        if (r.kind != GLV_MAP_DATA && (e->m.host ? r.host != host_here + run : r.host != 0))
            break;
        run += (uint64_t)r.count << ub;
    }
    qcow2_l2_cache_unlock(q->l2_cache);

    e->m.length = run < limit ? run : limit;
    if (e->m.kind == GLV_MAP_DATA &&
        check_data_bounds(q, offset, first_entry, first_host, cached_only) < 0)
        return -1;
    return 0;
}

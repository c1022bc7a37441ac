/*
 * How large a qcow2 image would be, before it is made: the figures
 * `qemu-img measure -O qcow2` prints come from this arithmetic (QEMU's
 * qcow2_calc_prealloc_size and qcow2_refcount_metadata_size): a header
 * cluster, an L2 table entry per cluster (whole tables), an L1 entry per L2
 * table (whole clusters), then enough refcount blocks and table clusters to
 * count every cluster, themselves included.
 */
#include <errno.h>
#include <inttypes.h>

#include "util/internal.h"
#include "format/qcow2_format.h"
#include "format/qcow2_measure.h"

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static uint64_t round_up(uint64_t a, uint64_t b)
{
    return div_round_up(a, b) * b;
}

static uint64_t l2_entry_size(const struct glv_qcow2_measure_params *p)
{
    return p->extended_l2 ? 16 : 8;
}

/* The L2 tables an image of virtual_size bytes needs (one L1 entry each). */
static uint64_t l2_tables(const struct glv_qcow2_measure_params *p, uint64_t virtual_size)
{
    uint64_t clusters = div_round_up(virtual_size, p->cluster_size);

    return div_round_up(clusters, p->cluster_size / l2_entry_size(p));
}

int glv_qcow2_measure_check(const struct glv_qcow2_measure_params *p, uint64_t virtual_size)
{
    uint64_t cluster;

    if (l2_tables(p, virtual_size) * 8 <= QCOW2_MAX_L1_BYTES)
        return 0;
    for (cluster = p->cluster_size * 2; cluster <= (2u << 20); cluster *= 2) {
        struct glv_qcow2_measure_params larger = *p;

        larger.cluster_size = cluster;
        if (l2_tables(&larger, virtual_size) * 8 <= QCOW2_MAX_L1_BYTES)
            break;
    }
    if (cluster <= (2u << 20))
        glv_set_error(EINVAL, "a qcow2 image of %" PRIu64 " bytes with %" PRIu64 "-byte clusters "
                      "needs an L1 table over QEMU's 32 MiB limit: use cluster_size=%" PRIu64
                      " or more", virtual_size, p->cluster_size, cluster);
    else
        glv_set_error(EINVAL, "a qcow2 image of %" PRIu64 " bytes is too large for any cluster "
                      "size (its L1 table would pass QEMU's 32 MiB limit)", virtual_size);
    return -1;
}

uint64_t glv_qcow2_refcount_metadata_size(uint64_t clusters, uint64_t cluster_size,
                                          unsigned refcount_order)
{
    uint64_t blocks_per_table_cluster = cluster_size / 8;
    uint64_t refcounts_per_block = cluster_size * 8 >> refcount_order;
    uint64_t table = 0, blocks = 0, total = 0, previous;

    /* Each round counts the clusters the last round added; the total stops
     * growing within a few rounds, since a refcount block counts thousands
     * of clusters or more. */
    do {
        previous = total;
        blocks = div_round_up(clusters + table + blocks, refcounts_per_block);
        table = div_round_up(blocks, blocks_per_table_cluster);
        total = clusters + blocks + table;
    } while (total != previous);
    return (blocks + table) * cluster_size;
}

uint64_t glv_qcow2_fully_allocated_size(const struct glv_qcow2_measure_params *p,
                                        uint64_t virtual_size)
{
    uint64_t cluster = p->cluster_size, entry = l2_entry_size(p);
    uint64_t aligned = round_up(virtual_size, cluster);
    uint64_t l2_entries = round_up(aligned / cluster, cluster / entry);
    uint64_t l1_entries = round_up(l2_entries * entry / cluster, cluster / 8);
    uint64_t metadata = cluster + l2_entries * entry + l1_entries * 8;

    metadata += glv_qcow2_refcount_metadata_size((metadata + aligned) / cluster, cluster,
                                                 p->refcount_order);
    return metadata + aligned;
}

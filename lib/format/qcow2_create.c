/*
 * Writing a new, empty qcow2 image (version 2 or 3) into a storage that the
 * caller has just created: header, header extensions, backing file name,
 * refcount table and blocks, L1 table and, with preallocation, every L2
 * table and data cluster.
 *
 * The layout is fixed and linear:
 *
 *   cluster 0              header, extensions, backing file name
 *   refcount table         rt_clusters
 *   refcount blocks        rb_count clusters, one after the other
 *   L1 table               l1_clusters
 *   L2 tables              preallocation only: one per L1 entry
 *   data                   preallocation only: virtual cluster i at
 *                          data_offset + i * cluster_size
 *
 * Every cluster up to the end of the image has refcount 1, so the refcount
 * blocks are runs of ones, and a preallocated image maps the virtual disk
 * onto one contiguous host range.  The header is written last: a creation
 * interrupted half-way leaves a file without the qcow2 magic rather than an
 * image that claims tables it does not have.
 *
 * Like the other format drivers this file sees only the storage interface;
 * image_create.c provides a storage for the new file and reserves or zeroes
 * the data range afterwards when the caller asked for falloc or full.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_create.h"
#include "format/qcow2_format.h"
#include "storage/storage.h"

struct qcow2_layout {
    unsigned cluster_bits;
    uint64_t cluster_size;
    uint64_t size;            /* virtual size */
    uint64_t l1_size;         /* entries */
    uint64_t l1_clusters;
    uint64_t l2_tables;       /* preallocation only */
    uint64_t data_clusters;   /* preallocation only */
    uint64_t rt_clusters;
    uint64_t rb_count;
    uint64_t total_clusters;  /* everything the refcounts cover */
    uint64_t rt_offset, rb_offset, l1_offset, l2_offset, data_offset;
};

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static void put_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* log2 of value when it is a power of two from 2^min to 2^max, else -1. */
static int power_of_two_bits(uint64_t value, unsigned min, unsigned max)
{
    unsigned bits;

    for (bits = min; bits <= max; bits++)
        if (value == (uint64_t)1 << bits)
            return (int)bits;
    return -1;
}

int glv_qcow2_cluster_bits(uint64_t bytes, unsigned *bits)
{
    int found = power_of_two_bits(bytes, QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);

    if (found < 0) {
        glv_set_error(EINVAL, "cluster size %" PRIu64 " is not a power of two from 512 to "
                      "2097152 (2 MiB)", bytes);
        return -1;
    }
    *bits = (unsigned)found;
    return 0;
}

int glv_qcow2_compat_version(const char *compat, unsigned *version)
{
    if (compat && (!strcmp(compat, "1.1") || !strcmp(compat, "v3"))) {
        *version = 3;
        return 0;
    }
    if (compat && (!strcmp(compat, "0.10") || !strcmp(compat, "v2"))) {
        *version = 2;
        return 0;
    }
    glv_set_error(EINVAL, "compat '%s' is not a qcow2 version: use 1.1 (or v3) or 0.10 (or v2)",
                  compat ? compat : "(null)");
    return -1;
}

int glv_qcow2_refcount_order(unsigned bits, unsigned *order)
{
    int found = power_of_two_bits(bits, 0, QCOW2_MAX_REFCOUNT_ORDER);

    if (found < 0) {
        glv_set_error(EINVAL, "refcount_bits %u: the refcount width is a power of two from 1 "
                      "to 64", bits);
        return -1;
    }
    *order = (unsigned)found;
    return 0;
}

/* The smallest cluster size whose L1 table holds size, for the message that
 * refuses a size. */
static uint64_t cluster_size_that_fits(uint64_t size)
{
    unsigned bits;

    for (bits = QCOW2_MIN_CLUSTER_BITS; bits <= QCOW2_MAX_CLUSTER_BITS; bits++) {
        uint64_t per_l2 = (1ull << bits) / 8 << bits;

        if (div_round_up(size, per_l2) * 8 <= QCOW2_MAX_L1_BYTES)
            return 1ull << bits;
    }
    return 0;
}

static int plan_layout(struct qcow2_layout *l, uint64_t size, unsigned cluster_bits,
                       int preallocate)
{
    uint64_t c = 1ull << cluster_bits;
    uint64_t per_l2 = (c / 8) << cluster_bits; /* virtual bytes one L2 table maps */
    uint64_t per_rb = c * 8 / (1u << QCOW2_DEFAULT_REFCOUNT_ORDER);
    uint64_t base;
    int round;

    memset(l, 0, sizeof *l);
    l->cluster_bits = cluster_bits;
    l->cluster_size = c;
    l->size = size;
    l->l1_size = div_round_up(size, per_l2);
    if (l->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        uint64_t fits = cluster_size_that_fits(size);

        if (fits)
            glv_set_error(EINVAL, "a qcow2 image of %" PRIu64 " bytes needs an L1 table larger "
                          "than 32 MiB with %" PRIu64 "-byte clusters; use clusters of %" PRIu64
                          " bytes or more (cluster_size=%" PRIu64 "k)", size, c, fits,
                          fits >> 10);
        else
            glv_set_error(EINVAL, "%" PRIu64 " bytes is too large for a qcow2 image, even with "
                          "2 MiB clusters", size);
        return -1;
    }
    l->l1_clusters = div_round_up(l->l1_size * 8, c); /* none for an empty disk, as qemu does */
    if (preallocate) {
        l->l2_tables = l->l1_size;
        l->data_clusters = div_round_up(size, c);
    }
    base = 1 + l->l1_clusters + l->l2_tables + l->data_clusters;
    /* The refcount blocks count themselves and the table that points at
     * them: grow both until they cover everything, themselves included. */
    l->rt_clusters = 1;
    l->rb_count = 1;
    for (round = 0; round < 64; round++) {
        uint64_t total = base + l->rt_clusters + l->rb_count;
        uint64_t rb = div_round_up(total, per_rb);
        uint64_t rt = div_round_up(rb * 8, c);

        if (rb == l->rb_count && rt == l->rt_clusters)
            break;
        l->rb_count = rb;
        l->rt_clusters = rt;
    }
    if (l->rt_clusters * c > QCOW2_MAX_REFTABLE_BYTES) {
        glv_set_error(EINVAL, "a preallocated qcow2 image of %" PRIu64 " bytes needs a "
                      "refcount table larger than 8 MiB with %" PRIu64 "-byte clusters; use "
                      "larger clusters", size, c);
        return -1;
    }
    l->total_clusters = base + l->rt_clusters + l->rb_count;
    l->rt_offset = c;
    l->rb_offset = l->rt_offset + l->rt_clusters * c;
    l->l1_offset = l->rb_offset + l->rb_count * c;
    l->l2_offset = l->l1_offset + l->l1_clusters * c;
    l->data_offset = l->l2_offset + l->l2_tables * c;
    return 0;
}

static int write_at(struct glv_storage *s, const void *buf, uint64_t length, uint64_t offset)
{
    struct iovec iov = {(void *)buf, (size_t)length};

    return s->ops->pwritev(s, &iov, 1, offset);
}

/* Refcount block i: ones for the clusters it covers that the image uses. */
static int write_refcount_blocks(struct glv_storage *s, const struct qcow2_layout *l,
                                 unsigned char *buf)
{
    uint64_t per_rb = l->cluster_size / 2, i, filled = 0;

    for (i = 0; i < l->rb_count; i++) {
        uint64_t first = i * per_rb;
        uint64_t used = l->total_clusters - first < per_rb ? l->total_clusters - first : per_rb;
        uint64_t k;

        if (used != filled) { /* a full block is built once and written again */
            memset(buf, 0, l->cluster_size);
            for (k = 0; k < used; k++)
                put_be16(buf + 2 * k, 1);
            filled = used;
        }
        if (write_at(s, buf, l->cluster_size, l->rb_offset + i * l->cluster_size) < 0)
            return -1;
    }
    return 0;
}

static int write_refcount_table(struct glv_storage *s, const struct qcow2_layout *l)
{
    uint64_t bytes = l->rt_clusters * l->cluster_size, i;
    unsigned char *table = calloc(1, (size_t)bytes);
    int rc;

    if (!table) {
        glv_set_oom();
        return -1;
    }
    for (i = 0; i < l->rb_count; i++)
        put_be64(table + 8 * i, l->rb_offset + i * l->cluster_size);
    rc = write_at(s, table, bytes, l->rt_offset);
    free(table);
    return rc;
}

/* Preallocation: L1 entries point at the L2 tables, whose entries point at
 * the data clusters in order.  Refcount 1 everywhere, so every entry carries
 * the COPIED flag that qemu-img check expects. */
static int write_mapping_tables(struct glv_storage *s, const struct qcow2_layout *l,
                                unsigned char *buf)
{
    uint64_t per_l2 = l->cluster_size / 8, per_l1_cluster = l->cluster_size / 8;
    uint64_t i, k;

    for (i = 0; i < l->l1_clusters && l->l2_tables; i++) {
        memset(buf, 0, l->cluster_size);
        for (k = 0; k < per_l1_cluster && i * per_l1_cluster + k < l->l2_tables; k++)
            put_be64(buf + 8 * k, (l->l2_offset + (i * per_l1_cluster + k) * l->cluster_size) |
                                      QCOW2_OFLAG_COPIED);
        if (write_at(s, buf, l->cluster_size, l->l1_offset + i * l->cluster_size) < 0)
            return -1;
    }
    for (i = 0; i < l->l2_tables; i++) {
        memset(buf, 0, l->cluster_size);
        for (k = 0; k < per_l2 && i * per_l2 + k < l->data_clusters; k++)
            put_be64(buf + 8 * k,
                     (l->data_offset + (i * per_l2 + k) * l->cluster_size) | QCOW2_OFLAG_COPIED);
        if (write_at(s, buf, l->cluster_size, l->l2_offset + i * l->cluster_size) < 0)
            return -1;
    }
    return 0;
}

/* Header, extensions and backing name; their length, or 0 when they do not
 * fit in cluster 0 (the error set). */
static size_t build_header(unsigned char *h, const struct qcow2_layout *l, unsigned version,
                           const char *backing_name, const char *backing_format)
{
    size_t pos = version == 3 ? QCOW2_V3_HEADER_LENGTH : QCOW2_V2_HEADER_LENGTH;
    size_t name_len = backing_name ? strlen(backing_name) : 0;
    size_t fmt_len = backing_format ? strlen(backing_format) : 0;
    size_t need = pos + (fmt_len ? 8 + ((fmt_len + 7) & ~(size_t)7) : 0) + 8 + name_len;

    if (need > l->cluster_size) {
        glv_set_error(EINVAL, "the backing file name (%zu bytes) does not fit in the header "
                      "cluster of %" PRIu64 " bytes; use larger clusters or a shorter name",
                      name_len, l->cluster_size);
        return 0;
    }
    memset(h, 0, l->cluster_size);
    put_be32(h + 0, QCOW2_MAGIC);
    put_be32(h + 4, version);
    put_be32(h + 20, l->cluster_bits);
    put_be64(h + 24, l->size);
    put_be32(h + 32, 0); /* no encryption */
    put_be32(h + 36, (uint32_t)l->l1_size);
    put_be64(h + 40, l->l1_offset);
    put_be64(h + 48, l->rt_offset);
    put_be32(h + 56, (uint32_t)l->rt_clusters);
    if (version == 3) {
        /* No incompatible, compatible or autoclear features; zlib. */
        put_be32(h + 96, QCOW2_DEFAULT_REFCOUNT_ORDER);
        put_be32(h + 100, QCOW2_V3_HEADER_LENGTH);
    }
    if (fmt_len) {
        put_be32(h + pos, QCOW2_EXT_BACKING_FORMAT);
        put_be32(h + pos + 4, (uint32_t)fmt_len);
        memcpy(h + pos + 8, backing_format, fmt_len);
        pos += 8 + ((fmt_len + 7) & ~(size_t)7);
    }
    pos += 8; /* the end-of-extensions marker: type 0, length 0 */
    if (name_len) {
        put_be64(h + 8, pos);
        put_be32(h + 16, (uint32_t)name_len);
        memcpy(h + pos, backing_name, name_len);
        pos += name_len;
    }
    return pos;
}

int glv_qcow2_create(struct glv_storage *s, const struct glv_qcow2_create_params *p,
                     uint64_t *data_offset, uint64_t *data_length)
{
    unsigned cluster_bits = p->cluster_bits, version = p->version;
    const char *backing_name = p->backing_name, *backing_format = p->backing_format;
    int preallocate = p->preallocate;
    struct qcow2_layout l;
    unsigned char *buf = NULL, *header = NULL;
    size_t header_len;
    uint64_t end;
    int rc = -1;

    *data_offset = *data_length = 0;
    if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS ||
        (version != 2 && version != 3)) {
        glv_set_error(EINVAL, "qcow2: cluster_bits %u or version %u out of range", cluster_bits,
                      version);
        return -1;
    }
    if (backing_name && strlen(backing_name) > QCOW2_MAX_BACKING_NAME) {
        glv_set_error(EINVAL, "the backing file name is %zu bytes long; qcow2 stores at most "
                      "%u", strlen(backing_name), QCOW2_MAX_BACKING_NAME);
        return -1;
    }
    if (backing_format && strlen(backing_format) > QCOW2_MAX_BACKING_FORMAT) {
        glv_set_error(EINVAL, "backing format name '%s' is too long", backing_format);
        return -1;
    }
    if (plan_layout(&l, p->size, cluster_bits, preallocate) < 0)
        return -1;
    if (!(buf = malloc((size_t)l.cluster_size)) || !(header = malloc((size_t)l.cluster_size))) {
        glv_set_oom();
        goto out;
    }
    if (!(header_len = build_header(header, &l, version, backing_name, backing_format)))
        goto out;
    if (!s) {
        rc = 0;
        goto out;
    }
    end = preallocate ? l.data_offset + l.data_clusters * l.cluster_size
                      : l.l1_offset + l.l1_clusters * l.cluster_size;
    /* The size first: the tables then land inside the file, and what is not
     * written (an empty L1 table, data clusters) reads as zeros. */
    if (s->ops->truncate(s, end) < 0 || write_refcount_table(s, &l) < 0 ||
        write_refcount_blocks(s, &l, buf) < 0 || write_mapping_tables(s, &l, buf) < 0 ||
        write_at(s, header, header_len, 0) < 0)
        goto out;
    if (preallocate) {
        *data_offset = l.data_offset;
        *data_length = l.data_clusters * l.cluster_size;
    }
    rc = 0;
out:
    free(buf);
    free(header);
    return rc;
}

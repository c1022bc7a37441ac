/*
 * qcow2 header, extensions and L1 table: read and validated once, at open.
 *
 * Everything the read path later trusts is checked here before it is used:
 * each field against the spec's limits (and QEMU's where QEMU is stricter,
 * so that no image QEMU refuses opens here), each offset for alignment and
 * against the size of the file.  Sums are only ever formed from values
 * already bounded far below 2^63, so none can overflow; no allocation is
 * sized by a field before that field has been checked against a cap and
 * against the file's size.
 *
 * Policy on damage found here: the open fails.  That includes a bad L1 entry
 * (reserved bits set, an L2 table that is not cluster-aligned or lies past
 * the end of the file): the header has no room to mark one entry bad, and
 * a reader that silently read zeros for its range would return wrong data.
 * Damage in what the driver loads later (L2 tables, compressed descriptors,
 * data clusters) fails only the reads that meet it.
 *
 * Lenient where the spec allows it or nothing depends on it: unknown
 * compatible and autoclear bits, unknown header extensions, the bitmaps
 * extension (a reader has no use for it), a backing format or data file
 * extension of length 0 (as if absent), and a data file extension in an
 * image without the data-file bit (ignored, as the bit decides).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_snapshot.h"

/* Read first: a version 3 header up to the compression byte's padding. */
#define FIXED_HEADER QCOW2_V3_HEADER_LENGTH

/* Header fields the driver does not keep. */
struct raw_header {
    uint64_t backing_offset;
    uint32_t backing_size;
    uint32_t crypt_method;
    unsigned compression_type;
};

/* What the extension walk found. */
struct extensions {
    int backing_format, feature_names, data_file;
};

int qcow2_invalid(const struct glv_storage *s, const char *hint, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    glv_set_error(EINVAL, "%s: %s; %s", s->name, what, hint);
    return -1;
}

int qcow2_read(struct glv_storage *s, void *buf, uint64_t len, uint64_t offset)
{
    struct iovec iov;

    if (len == 0)
        return 0;
    iov.iov_base = buf;
    iov.iov_len = (size_t)len;
    return s->ops->preadv(s, &iov, 1, offset);
}

uint64_t qcow2_l1_entries_for(const struct qcow2_header *h, uint64_t size)
{
    unsigned shift = h->cluster_bits + h->l2_bits;

    return (size >> shift) + ((size & ((1ull << shift) - 1)) != 0);
}

/* "…past the end of the file": the common message for a truncated image. */
static int past_end(struct glv_storage *s, const struct qcow2_header *h, const char *what,
                    uint64_t offset, uint64_t len)
{
    return qcow2_invalid(s, "the file looks truncated; copy the image again in full",
                         "%s at 0x%" PRIx64 " (%" PRIu64 " bytes) extends past the end of the "
                         "file (%" PRIu64 " bytes)", what, offset, len, h->file_size);
}

static int inside_file(const struct qcow2_header *h, uint64_t offset, uint64_t len)
{
    return offset <= h->file_size && len <= h->file_size - offset;
}

int qcow2_l1_check_place(struct glv_storage *s, const struct qcow2_header *h,
                         const char *which, uint64_t offset, uint32_t entries)
{
    if (entries > QCOW2_MAX_L1_ENTRIES)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "%s has %" PRIu32 " entries (l1_size), more than the limit of %"
                             PRIu32 " (32 MiB of table)", which, entries, QCOW2_MAX_L1_ENTRIES);
    if (offset & (h->cluster_size - 1))
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "%s at 0x%" PRIx64 " is not cluster-aligned (cluster size %" PRIu64
                             ")", which, offset, h->cluster_size);
    if (entries == 0)
        return 0;
    if (offset == 0)
        return qcow2_invalid(s, QCOW2_HINT_HEADER, "%s at offset 0 overlaps the header", which);
    if (!inside_file(h, offset, entries * 8ull))
        return past_end(s, h, which, offset, entries * 8ull);
    return 0;
}

int qcow2_l1_load(struct glv_storage *s, const struct qcow2_header *h, const char *which,
                  uint64_t offset, uint32_t entries, uint64_t **out)
{
    uint64_t *l1;

    *out = NULL;
    if (entries == 0)
        return 0;
    if (!(l1 = malloc(entries * sizeof *l1))) {
        glv_set_oom();
        return -1;
    }
    if (qcow2_read(s, l1, entries * 8ull, offset) < 0) {
        free(l1);
        return -1;
    }
    for (uint32_t i = 0; i < entries; i++) {
        uint64_t e = qcow2_be64((const unsigned char *)&l1[i]);
        uint64_t l2 = e & QCOW2_L1E_OFFSET_MASK;

        if (e & QCOW2_L1E_RESERVED_MASK) {
            qcow2_invalid(s, QCOW2_HINT_CHECK,
                          "%s entry %" PRIu32 " (0x%016" PRIx64 ") has reserved bits set "
                          "(0x%016" PRIx64 ")", which, i, e,
                          (uint64_t)(e & QCOW2_L1E_RESERVED_MASK));
            goto bad;
        }
        if (l2 & (h->cluster_size - 1)) {
            qcow2_invalid(s, QCOW2_HINT_CHECK,
                          "%s entry %" PRIu32 " points at an L2 table at 0x%" PRIx64 ", which "
                          "is not cluster-aligned (cluster size %" PRIu64 ")", which, i, l2,
                          h->cluster_size);
            goto bad;
        }
        if (l2 && !inside_file(h, l2, h->cluster_size)) {
            qcow2_invalid(s, QCOW2_HINT_CHECK,
                          "%s entry %" PRIu32 " points at an L2 table at 0x%" PRIx64 ", past "
                          "the end of the file (%" PRIu64 " bytes)", which, i, l2,
                          h->file_size);
            goto bad;
        }
        l1[i] = e;
    }
    *out = l1;
    return 0;
bad:
    free(l1);
    return -1;
}

/* ------------------------------------------------------------ the fixed header */

static int refuse_encrypted(struct glv_storage *s, const char *how)
{
    glv_set_error(ENOTSUP, "%s: encrypted qcow2 images are not supported (%s); decrypt a copy "
                  "first: qemu-img convert --object secret,id=sec0,file=PASSWORD-FILE "
                  "--image-opts -O qcow2 driver=qcow2,file.filename=%s,encrypt.key-secret=sec0 "
                  "plain.qcow2", s->name, how, s->name);
    return -1;
}

static int file_too_short(struct glv_storage *s, const struct qcow2_header *h, uint32_t header)
{
    if (h->file_size >= header)
        return 0;
    return qcow2_invalid(s, "the file looks truncated; copy the image again in full",
                         "the file is %" PRIu64 " bytes, shorter than its qcow2 version %" PRIu32
                         " header (%" PRIu32 " bytes)", h->file_size, h->version, header);
}

static int parse_fixed_header(struct glv_storage *s, struct qcow2_header *h,
                              const unsigned char *p, struct raw_header *raw)
{
    uint32_t magic = qcow2_be32(p);

    if (magic != QCOW2_MAGIC)
        return qcow2_invalid(s, "open it with the format it has (raw?)",
                             "not a qcow2 image: magic 0x%08" PRIx32 ", expected 0x%08x "
                             "(\"QFI\\xfb\")", magic, QCOW2_MAGIC);
    h->version = qcow2_be32(p + 4);
    if (h->version == 1) {
        glv_set_error(ENOTSUP, "%s: qcow version 1 images are not supported; convert it with "
                      "'qemu-img convert -O qcow2'", s->name);
        return -1;
    }
    if (h->version > 3) {
        glv_set_error(ENOTSUP, "%s: qcow2 version %" PRIu32 " is not supported (this version "
                      "of libgluvirt reads versions 2 and 3); a newer libgluvirt may read it",
                      s->name, h->version);
        return -1;
    }
    if (h->version < 2)
        return qcow2_invalid(s, QCOW2_HINT_HEADER, "qcow2 version is 0, not 2 or 3");
    if (file_too_short(s, h, h->version == 2 ? QCOW2_V2_HEADER_LENGTH : QCOW2_V3_HEADER_MIN) < 0)
        return -1;

    raw->backing_offset = qcow2_be64(p + 8);
    raw->backing_size = qcow2_be32(p + 16);
    h->cluster_bits = qcow2_be32(p + 20);
    h->size = qcow2_be64(p + 24);
    raw->crypt_method = qcow2_be32(p + 32);
    h->l1_size = qcow2_be32(p + 36);
    h->l1_offset = qcow2_be64(p + 40);
    h->refcount_table_offset = qcow2_be64(p + 48);
    h->refcount_table_clusters = qcow2_be32(p + 56);
    h->nb_snapshots = qcow2_be32(p + 60);
    h->snapshots_offset = qcow2_be64(p + 64);

    if (h->cluster_bits < 9 || h->cluster_bits > 21)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "cluster_bits is %" PRIu32 ", outside 9..21 (clusters of 512 bytes "
                             "to 2 MiB)", h->cluster_bits);
    h->cluster_size = 1ull << h->cluster_bits;

    if (h->version == 2) {
        h->header_length = QCOW2_V2_HEADER_LENGTH;
        h->refcount_order = 4;
    } else {
        h->incompatible = qcow2_be64(p + 72);
        h->compatible = qcow2_be64(p + 80);
        h->autoclear = qcow2_be64(p + 88);
        h->refcount_order = qcow2_be32(p + 96);
        h->header_length = qcow2_be32(p + 100);
        if (h->header_length < QCOW2_V3_HEADER_MIN || h->header_length % 8 != 0)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "header_length is %" PRIu32 "; a version 3 header is at least "
                                 "104 bytes and a multiple of 8", h->header_length);
        if (h->header_length > h->cluster_size)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "header_length %" PRIu32 " exceeds the cluster size %" PRIu64,
                                 h->header_length, h->cluster_size);
        raw->compression_type = h->header_length > QCOW2_V3_HEADER_MIN ? p[104] : 0;
    }
    if (file_too_short(s, h, h->header_length) < 0)
        return -1;
    if (raw->crypt_method != 0) {
        char how[40];

        snprintf(how, sizeof how, "crypt_method %" PRIu32 "%s", raw->crypt_method,
                 raw->crypt_method == 1 ? ", AES" : raw->crypt_method == 2 ? ", LUKS" : "");
        return refuse_encrypted(s, how);
    }
    return 0;
}

/* Where the backing file name lies; fixes the end of the extension area. */
static int check_backing_name_place(struct glv_storage *s, const struct qcow2_header *h,
                                    const struct raw_header *raw)
{
    uint64_t off = raw->backing_offset;
    uint32_t len = raw->backing_size;

    if (off == 0)
        return 0;
    if (off > h->cluster_size)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "backing_file_offset 0x%" PRIx64 " lies past the first cluster (%"
                             PRIu64 " bytes)", off, h->cluster_size);
    if (off < h->header_length)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "backing_file_offset %" PRIu64 " lies inside the header "
                             "(header_length %" PRIu32 ")", off, h->header_length);
    if (len > QCOW2_MAX_BACKING_NAME)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "backing_file_size is %" PRIu32 ": backing file name too long "
                             "(the limit is %u bytes)", len, QCOW2_MAX_BACKING_NAME);
    if (len > h->cluster_size - off)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the backing file name (backing_file_size %" PRIu32 " at offset %"
                             PRIu64 ") extends past the first cluster (%" PRIu64 " bytes)",
                             len, off, h->cluster_size);
    if (!inside_file(h, off, len))
        return past_end(s, h, "the backing file name", off, len);
    return 0;
}

/* A string from an extension or the header: no NUL bytes inside. */
static char *image_string(struct glv_storage *s, const unsigned char *p, size_t len,
                          const char *what)
{
    char *str;

    if (memchr(p, '\0', len)) {
        qcow2_invalid(s, QCOW2_HINT_HEADER, "%s contains a NUL byte", what);
        return NULL;
    }
    if (!(str = malloc(len + 1))) {
        glv_set_oom();
        return NULL;
    }
    memcpy(str, p, len);
    str[len] = '\0';
    return str;
}

/* ------------------------------------------------------------ extensions */

static int duplicate(struct glv_storage *s, uint32_t type, int *seen)
{
    if (*seen)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "header extension 0x%08" PRIx32 " appears twice", type);
    *seen = 1;
    return 0;
}

static int read_feature_names(struct glv_storage *s, struct qcow2_header *h,
                              const unsigned char *d, uint32_t len)
{
    /* A partial entry at the end names nothing; it is ignored. */
    unsigned n = len / QCOW2_FEATURE_ENTRY;

    if (n == 0)
        return 0;
    if (!(h->feature_names = calloc(n, sizeof *h->feature_names))) {
        glv_set_oom();
        return -1;
    }
    for (unsigned i = 0; i < n; i++, d += QCOW2_FEATURE_ENTRY) {
        struct qcow2_feature_name *f = &h->feature_names[i];

        f->type = d[0];
        f->bit = d[1];
        for (unsigned j = 0; j < QCOW2_FEATURE_NAME_BYTES && d[2 + j]; j++)
            f->name[j] = d[2 + j] >= 0x20 && d[2 + j] < 0x7f ? (char)d[2 + j] : '?';
    }
    h->feature_name_count = n;
    return 0;
}

static int read_extension(struct glv_storage *s, struct qcow2_header *h, struct extensions *seen,
                          uint32_t type, const unsigned char *d, uint32_t len)
{
    switch (type) {
    case QCOW2_EXT_BACKING_FORMAT:
        if (duplicate(s, type, &seen->backing_format) < 0)
            return -1;
        if (len == 0)
            return 0;
        if (len > QCOW2_MAX_BACKING_FORMAT)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "the backing format extension is %" PRIu32 " bytes long; "
                                 "format names are at most %u", len, QCOW2_MAX_BACKING_FORMAT);
        for (uint32_t i = 0; i < len; i++)
            if (d[i] <= 0x20 || d[i] >= 0x7f)
                return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                     "the backing format extension holds byte 0x%02x, which "
                                     "no format name has", d[i]);
        h->backing_format = image_string(s, d, len, "the backing format");
        return h->backing_format ? 0 : -1;
    case QCOW2_EXT_FEATURE_NAMES:
        if (duplicate(s, type, &seen->feature_names) < 0)
            return -1;
        return read_feature_names(s, h, d, len);
    case QCOW2_EXT_DATA_FILE:
        if (duplicate(s, type, &seen->data_file) < 0)
            return -1;
        if (len == 0)
            return 0;
        if (len > QCOW2_MAX_DATA_FILE_NAME)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "the external data file name is %" PRIu32 " bytes long; the "
                                 "limit is %u", len, QCOW2_MAX_DATA_FILE_NAME);
        h->data_file = image_string(s, d, len, "the external data file name");
        return h->data_file ? 0 : -1;
    case QCOW2_EXT_ENCRYPTION:
        /* Only an encrypted image has one; crypt_method 0 says otherwise,
         * and which of the two lies cannot be known: refuse. */
        return refuse_encrypted(s, "full disk encryption header extension 0x0537be77");
    case QCOW2_EXT_BITMAPS:
    default:
        return 0;
    }
}

/* Walk the extensions, from the end of the header to the backing file name
 * (or the end of the first cluster). */
static int read_extensions(struct glv_storage *s, struct qcow2_header *h,
                           const unsigned char *cluster0, uint64_t end)
{
    struct extensions seen = {0, 0, 0};
    uint64_t pos = h->header_length;

    /* Fewer than 8 bytes left can hold no extension: the area ends there. */
    while (pos < end && end - pos >= 8) {
        uint32_t type = qcow2_be32(cluster0 + pos);
        uint32_t len = qcow2_be32(cluster0 + pos + 4);

        if (type == 0)
            break;
        if (len > end - pos - 8)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "header extension 0x%08" PRIx32 " at offset %" PRIu64 " is %"
                                 PRIu32 " bytes long, past the end of the extension area (%"
                                 PRIu64 ")", type, pos, len, end);
        if (read_extension(s, h, &seen, type, cluster0 + pos + 8, len) < 0)
            return -1;
        pos += 8 + (((uint64_t)len + 7) & ~7ull);
    }
    if (h->data_file && !(h->incompatible & QCOW2_INCOMPAT_DATA_FILE)) {
        free(h->data_file);
        h->data_file = NULL;
    }
    return 0;
}

/* ------------------------------------------------------------ features */

static int refuse_unknown_features(struct glv_storage *s, const struct qcow2_header *h)
{
    uint64_t unknown = h->incompatible & ~QCOW2_INCOMPAT_KNOWN;
    char list[640];
    size_t used = 0;

    list[0] = '\0';
    for (unsigned bit = 0; bit < 64 && used < sizeof list; bit++) {
        const char *name;
        int n;

        if (!(unknown & (1ull << bit)))
            continue;
        name = qcow2_feature_name(h, 0, bit);
        n = snprintf(list + used, sizeof list - used, "%sbit %u%s%s%s", used ? ", " : "", bit,
                     name ? " (\"" : "", name ? name : "", name ? "\")" : "");
        used = n < 0 ? sizeof list : used + (size_t)n;
    }
    glv_set_error(ENOTSUP, "%s: unknown incompatible feature %s; this version of libgluvirt "
                  "cannot read the image: a newer one may, or convert it with a qemu-img that "
                  "knows the feature", s->name, list);
    return -1;
}

static int check_features(struct glv_storage *s, struct qcow2_header *h,
                          const struct raw_header *raw)
{
    if (h->incompatible & ~QCOW2_INCOMPAT_KNOWN)
        return refuse_unknown_features(s, h);
    if ((h->incompatible & QCOW2_INCOMPAT_DATA_FILE) && !h->data_file)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "incompatible feature bit 2 (external data file) is set, but "
                             "the image has no data file extension (0x44415441) naming it");
    if (raw->compression_type > 1) {
        glv_set_error(ENOTSUP, "%s: compression_type %u is not supported (0 is zlib, 1 is "
                      "zstd); convert the image with 'qemu-img convert -O qcow2'", s->name,
                      raw->compression_type);
        return -1;
    }
    if (raw->compression_type != 0 && !(h->incompatible & QCOW2_INCOMPAT_COMPRESSION))
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "compression_type is %u, but incompatible feature bit 3 "
                             "(compression type) is clear", raw->compression_type);
    if (raw->compression_type == 0 && (h->incompatible & QCOW2_INCOMPAT_COMPRESSION))
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "incompatible feature bit 3 (compression type) is set, but "
                             "compression_type is 0 (zlib)");
    h->compression = raw->compression_type == 1 ? QCOW2_COMPRESSION_ZSTD : QCOW2_COMPRESSION_ZLIB;
    if (h->incompatible & QCOW2_INCOMPAT_EXTENDED_L2) {
        if (h->cluster_bits < 14)
            return qcow2_invalid(s, QCOW2_HINT_HEADER,
                                 "extended L2 entries (incompatible feature bit 4) need "
                                 "cluster_bits of at least 14 (16 KiB clusters), and the "
                                 "image has %" PRIu32, h->cluster_bits);
        h->extended_l2 = 1;
    }
    h->l2_bits = h->cluster_bits - (h->extended_l2 ? 4 : 3);
    if (h->refcount_order > 6)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "refcount_order is %" PRIu32 "; refcounts are at most 64 bits "
                             "wide (order 6)", h->refcount_order);
    return 0;
}

/* ------------------------------------------------------------ tables */

static int check_tables(struct glv_storage *s, struct qcow2_header *h)
{
    uint64_t needed, reftable_bytes;

    if (h->size > (uint64_t)INT64_MAX)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the virtual size %" PRIu64 " is larger than 2^63-1 bytes",
                             h->size);
    if (qcow2_l1_check_place(s, h, "the active L1 table (l1_table_offset)", h->l1_offset,
                             h->l1_size) < 0)
        return -1;
    needed = qcow2_l1_entries_for(h, h->size);
    if (needed > h->l1_size)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "l1_size %" PRIu32 " is too small for the virtual size %" PRIu64
                             " bytes, which needs %" PRIu64 " L1 entries", h->l1_size,
                             h->size, needed);

    if (h->refcount_table_clusters == 0)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "refcount_table_clusters is 0: the image has no refcount table");
    if (h->refcount_table_clusters > QCOW2_MAX_REFTABLE_BYTES >> h->cluster_bits)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "refcount_table_clusters %" PRIu32 " makes a refcount table "
                             "larger than the limit of 8 MiB", h->refcount_table_clusters);
    reftable_bytes = (uint64_t)h->refcount_table_clusters << h->cluster_bits;
    if (h->refcount_table_offset & (h->cluster_size - 1))
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the refcount table (refcount_table_offset) at 0x%" PRIx64 " is "
                             "not cluster-aligned (cluster size %" PRIu64 ")",
                             h->refcount_table_offset, h->cluster_size);
    if (h->refcount_table_offset == 0)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the refcount table (refcount_table_offset) at offset 0 "
                             "overlaps the header");
    if (!inside_file(h, h->refcount_table_offset, reftable_bytes))
        return past_end(s, h, "the refcount table (refcount_table_offset)",
                        h->refcount_table_offset, reftable_bytes);

    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "nb_snapshots is %" PRIu32 ", more than the limit of %u",
                             h->nb_snapshots, QCOW2_MAX_SNAPSHOTS);
    if (h->snapshots_offset & (h->cluster_size - 1))
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the snapshot table (snapshots_offset) at 0x%" PRIx64 " is not "
                             "cluster-aligned (cluster size %" PRIu64 ")", h->snapshots_offset,
                             h->cluster_size);
    if (h->nb_snapshots == 0)
        return 0;
    if (h->snapshots_offset == 0)
        return qcow2_invalid(s, QCOW2_HINT_HEADER,
                             "the snapshot table (snapshots_offset) at offset 0 overlaps the "
                             "header");
    /* Each entry takes at least its fixed part: a bound before anything is
     * allocated for the table. */
    if (!inside_file(h, h->snapshots_offset, (uint64_t)h->nb_snapshots * QCOW2_SNAPSHOT_HEADER))
        return past_end(s, h, "the snapshot table (snapshots_offset, nb_snapshots)",
                        h->snapshots_offset, (uint64_t)h->nb_snapshots * QCOW2_SNAPSHOT_HEADER);
    return 0;
}

/* ------------------------------------------------------------ the whole */

int qcow2_header_read(struct glv_storage *s, struct qcow2_header *h)
{
    unsigned char fixed[FIXED_HEADER];
    unsigned char *cluster0 = NULL;
    struct raw_header raw = {0, 0, 0, 0};
    int64_t file_size;

    memset(h, 0, sizeof *h);
    if ((file_size = s->ops->size(s)) < 0)
        return -1;
    h->file_size = (uint64_t)file_size;
    if (qcow2_read(s, fixed, sizeof fixed, 0) < 0 || parse_fixed_header(s, h, fixed, &raw) < 0 ||
        check_backing_name_place(s, h, &raw) < 0)
        goto fail;

    /* The first cluster holds the extensions and the backing file name;
     * its size is checked (at most 2 MiB), and bytes past the end of the
     * file read as zeros. */
    if (!(cluster0 = calloc(1, h->cluster_size))) {
        glv_set_oom();
        goto fail;
    }
    if (qcow2_read(s, cluster0, h->file_size < h->cluster_size ? h->file_size : h->cluster_size,
                   0) < 0 ||
        read_extensions(s, h, cluster0, raw.backing_offset ? raw.backing_offset
                                                           : h->cluster_size) < 0 ||
        check_features(s, h, &raw) < 0 || check_tables(s, h) < 0)
        goto fail;
    if (raw.backing_offset && raw.backing_size &&
        !(h->backing_name = image_string(s, cluster0 + raw.backing_offset, raw.backing_size,
                                         "the backing file name")))
        goto fail;
    free(cluster0);
    cluster0 = NULL;

    if (qcow2_l1_load(s, h, "the active L1 table", h->l1_offset, h->l1_size, &h->l1) < 0 ||
        qcow2_snapshots_read(s, h) < 0)
        goto fail;
    return 0;
fail:
    free(cluster0);
    qcow2_header_release(h);
    return -1;
}

void qcow2_header_release(struct qcow2_header *h)
{
    if (!h)
        return;
    qcow2_snapshots_release(h);
    free(h->backing_name);
    free(h->backing_format);
    free(h->data_file);
    free(h->feature_names);
    free(h->l1);
    memset(h, 0, sizeof *h);
}

const char *qcow2_feature_name(const struct qcow2_header *h, unsigned type, unsigned bit)
{
    for (unsigned i = 0; h && i < h->feature_name_count; i++) {
        const struct qcow2_feature_name *f = &h->feature_names[i];

        if (f->type == type && f->bit == bit && f->name[0])
            return f->name;
    }
    return NULL;
}

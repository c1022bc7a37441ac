/*
 * Persistent dirty bitmaps in a check: the bitmap directory, each bitmap's
 * table and the clusters its entries name hold references too.  QEMU
 * counts them only while the autoclear bit that vouches for them is set
 * (a writer that knows no bitmaps clears it, and their clusters are then
 * leaks), and so does this check.  The reader ignores bitmaps, so the
 * extension is found and bounded here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_check.h"
#include "format/qcow2_snapshot.h"

#define AUTOCLEAR_BITMAPS (1ull << 0)
/* Bitmap table entries: the offset, the reserved bits, "all ones". */
#define BME_OFFSET_MASK   0x00fffffffffffe00ull
#define BME_RESERVED_MASK 0xff000000000001feull
#define BME_ALL_ONES      1ull
/* A directory entry: 24 bytes, then extra data and the name, padded to 8. */
#define BITMAP_DIR_ENTRY  24u
/* QEMU's limits: 64 MiB of directory, 64 MiB per table. */
#define MAX_DIRECTORY     (64ull << 20)
#define MAX_TABLE_BYTES   (64ull << 20)

struct bitmaps_ext {
    uint32_t count;
    uint64_t dir_size, dir_offset;
};

/* The bitmaps extension of the first cluster, if any: 1, 0 when none, -1. */
static int find_extension(struct qcow2_check *c, struct bitmaps_ext *out)
{
    const struct qcow2_header *h = &c->q->h;
    unsigned char *first = malloc((size_t)c->cs);
    uint64_t pos = h->header_length, end = c->cs, backing;
    int found = 0;

    if (!first) {
        c->r->check_errors++;
        glv_set_oom();
        return -1;
    }
    if (qcow2_check_read(c, first, c->cs, 0) < 0) {
        c->r->check_errors++;
        free(first);
        return -1;
    }
    backing = qcow2_be64(first + 8);
    if (backing && backing < end)
        end = backing;
    while (pos < end && end - pos >= 8) {
        uint32_t type = qcow2_be32(first + pos), len = qcow2_be32(first + pos + 4);

        if (type == 0 || len > end - pos - 8)
            break;
        if (type == QCOW2_EXT_BITMAPS && len >= 24) {
            out->count = qcow2_be32(first + pos + 8);
            out->dir_size = qcow2_be64(first + pos + 16);
            out->dir_offset = qcow2_be64(first + pos + 24);
            found = 1;
            break;
        }
        pos += 8 + (((uint64_t)len + 7) & ~7ull);
    }
    free(first);
    return found;
}

static int inside_file(const struct qcow2_check *c, uint64_t offset, uint64_t len)
{
    return offset <= c->file_size && len <= c->file_size - offset;
}

static int bad_directory(struct qcow2_check *c, const char *what)
{
    c->r->corruptions++;
    glv_check_note(c->r, "ERROR bitmap directory: %s", what);
    glv_set_error(EINVAL, "%s: the bitmap directory is damaged (%s); remove the bitmaps with "
                  "'qemu-img bitmap --remove' or convert the image", c->s->name, what);
    return -1;
}

/* One bitmap's table: the table itself and the clusters it names. */
static int check_table(struct qcow2_check *c, uint64_t offset, uint32_t entries)
{
    uint64_t bytes = (uint64_t)entries * 8, *table;
    int rc = 0;

    if (qcow2_check_reference(c, offset, bytes) < 0)
        return -1;
    if (!entries)
        return 0;
    if ((offset & (c->cs - 1)) || bytes > MAX_TABLE_BYTES || !inside_file(c, offset, bytes)) {
        c->r->corruptions++;
        glv_check_note(c->r, "ERROR bitmap table at 0x%" PRIx64 " of %" PRIu32 " entries is "
                       "misaligned or outside the file", offset, entries);
        return 0;
    }
    if (!(table = malloc((size_t)bytes))) {
        c->r->check_errors++;
        glv_set_oom();
        return -1;
    }
    if (qcow2_check_read(c, table, bytes, offset) < 0) {
        c->r->check_errors++;
        free(table);
        return -1;
    }
    for (uint32_t i = 0; i < entries && rc == 0; i++) {
        uint64_t e = qcow2_be64((const unsigned char *)&table[i]), at = e & BME_OFFSET_MASK;

        if ((e & BME_RESERVED_MASK) || (at & (c->cs - 1)) || (at && (e & BME_ALL_ONES))) {
            c->r->corruptions++;
            glv_check_note(c->r, "ERROR bitmap table entry 0x%" PRIx64 " is invalid", e);
            continue;
        }
        if (at)
            rc = qcow2_check_reference(c, at, c->cs);
    }
    free(table);
    return rc;
}

int qcow2_check_bitmaps(struct qcow2_check *c)
{
    struct bitmaps_ext ext;
    unsigned char *dir;
    uint64_t pos = 0;
    int found, rc = 0;

    if (c->q->h.version < 3 || !(c->q->h.autoclear & AUTOCLEAR_BITMAPS))
        return 0;
    if ((found = find_extension(c, &ext)) <= 0)
        return found;
    if (ext.count == 0)
        return 0;
    if (qcow2_check_reference(c, ext.dir_offset, ext.dir_size) < 0)
        return -1;
    if (ext.dir_size > MAX_DIRECTORY || !inside_file(c, ext.dir_offset, ext.dir_size))
        return bad_directory(c, "it is larger than 64 MiB or lies outside the file");
    if (!(dir = malloc((size_t)ext.dir_size + 1))) {
        c->r->check_errors++;
        glv_set_oom();
        return -1;
    }
    if (qcow2_check_read(c, dir, ext.dir_size, ext.dir_offset) < 0) {
        c->r->check_errors++;
        free(dir);
        return -1;
    }
    for (uint32_t i = 0; i < ext.count && rc == 0; i++) {
        uint64_t len;

        if (ext.dir_size - pos < BITMAP_DIR_ENTRY) {
            rc = bad_directory(c, "it holds fewer entries than the extension says");
            break;
        }
        len = BITMAP_DIR_ENTRY + (uint64_t)qcow2_be32(dir + pos + 20) +
              qcow2_be16(dir + pos + 18);
        if (len > ext.dir_size - pos) {
            rc = bad_directory(c, "an entry runs past its end");
            break;
        }
        rc = check_table(c, qcow2_be64(dir + pos), qcow2_be32(dir + pos + 8));
        len = (len + 7) & ~7ull;
        pos = len > ext.dir_size - pos ? ext.dir_size : pos + len;
    }
    free(dir);
    return rc;
}

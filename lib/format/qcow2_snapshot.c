/*
 * qcow2 internal snapshots: the table, read and validated at open (from
 * qcow2_header_read), and each snapshot's L1 table, loaded when the driver
 * opens the image at that snapshot.
 *
 * Checked at open, for every entry: the whole table stays within 64 MiB and
 * inside the file (entries start on 8-byte boundaries, as the spec lays them
 * out), at most 1024 bytes of extra data and, in version 3 images, at least
 * the 16 that record the snapshot's disk size; id and name without NUL
 * bytes; the snapshot's L1 table placed like the active one (at most 32 MiB,
 * cluster-aligned, inside the file) and large enough for the disk size the
 * entry records.  An entry that records no disk size (version 2 images) gets
 * the current virtual size, cut down to what its L1 table maps, so that the
 * driver never looks past the end of that table.
 *
 * The L1 entries themselves are checked when the table is loaded
 * (qcow2_snapshot_load_l1), with the same rules as the active table's.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_snapshot.h"

/* The table is read through a window, so that many small entries cost few
 * reads (each a network round trip on gluster).  An entry is at most
 * 40 + 1024 + 2 * 65535 bytes, so one window holds any of them. */
#define WINDOW (256u << 10)

struct window {
    unsigned char *buf;
    uint64_t start, len; /* buf holds the table's bytes [start, start + len) */
    uint64_t limit;      /* where the table must end: the file, or 64 MiB */
};

/* The bytes [pos, pos + len) of the table; the caller has checked that they
 * lie before w->limit, and len is at most WINDOW. */
static const unsigned char *window_at(struct glv_storage *s, struct window *w, uint64_t pos,
                                      uint64_t len)
{
    if (pos >= w->start && pos - w->start <= w->len && len <= w->len - (pos - w->start))
        return w->buf + (pos - w->start);
    w->start = pos;
    w->len = w->limit - pos < WINDOW ? w->limit - pos : WINDOW;
    if (qcow2_read(s, w->buf, w->len, pos) < 0) {
        w->len = 0;
        return NULL;
    }
    return w->buf;
}

/* May entry index occupy [at, at + len)? */
static int check_room(struct glv_storage *s, const struct qcow2_header *h, uint32_t index,
                      uint64_t at, uint64_t len)
{
    uint64_t used = at - h->snapshots_offset;

    if (used > QCOW2_MAX_SNAPSHOT_TABLE || len > QCOW2_MAX_SNAPSHOT_TABLE - used)
        return qcow2_invalid(s, QCOW2_HINT_CHECK,
                             "the snapshot table (nb_snapshots %" PRIu32 ") grows past the "
                             "limit of 64 MiB at entry %" PRIu32, h->nb_snapshots, index);
    if (at > h->file_size || len > h->file_size - at)
        return qcow2_invalid(s, "the file looks truncated; copy the image again in full",
                             "snapshot table entry %" PRIu32 " at 0x%" PRIx64 " (%" PRIu64
                             " bytes) extends past the end of the file (%" PRIu64 " bytes)",
                             index, at, len, h->file_size);
    return 0;
}

static char *entry_string(struct glv_storage *s, uint32_t index, const char *what,
                          const unsigned char *p, size_t len)
{
    char *str;

    if (memchr(p, '\0', len)) {
        qcow2_invalid(s, QCOW2_HINT_CHECK, "snapshot table entry %" PRIu32 ": its %s contains "
                      "a NUL byte", index, what);
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

/* The entry's L1 table: where it lies, and that it maps the disk size the
 * entry records. */
static int check_snapshot_l1(struct glv_storage *s, const struct qcow2_header *h,
                             uint32_t index, struct qcow2_snapshot *sn, int has_disk_size)
{
    char which[96];
    uint64_t needed;

    snprintf(which, sizeof which, "the L1 table of snapshot table entry %" PRIu32 " (id %.32s)",
             index, sn->id);
    if (qcow2_l1_check_place(s, h, which, sn->l1_offset, sn->l1_size) < 0)
        return -1;
    if (!has_disk_size) {
        uint64_t mapped = (uint64_t)sn->l1_size << (h->cluster_bits + h->l2_bits);

        sn->disk_size = h->size < mapped ? h->size : mapped;
        return 0;
    }
    if (sn->disk_size > (uint64_t)INT64_MAX)
        return qcow2_invalid(s, QCOW2_HINT_CHECK,
                             "snapshot table entry %" PRIu32 " records a disk size of %"
                             PRIu64 " bytes, larger than 2^63-1", index, sn->disk_size);
    needed = qcow2_l1_entries_for(h, sn->disk_size);
    if (needed > sn->l1_size)
        return qcow2_invalid(s, QCOW2_HINT_CHECK,
                             "%s has %" PRIu32 " entries (l1_size), too few for the "
                             "snapshot's disk size of %" PRIu64 " bytes, which needs %" PRIu64,
                             which, sn->l1_size, sn->disk_size, needed);
    return 0;
}

/* Read entry index, which starts at or after *pos; *pos becomes its end. */
static int read_entry(struct glv_storage *s, struct qcow2_header *h, struct window *w,
                      uint32_t index, uint64_t *pos)
{
    struct qcow2_snapshot *sn = &h->snapshots[index];
    uint64_t at = (*pos + 7) & ~7ull, len;
    const unsigned char *p, *extra;
    uint32_t extra_size;
    uint16_t id_size, name_size;
    int has_disk_size;

    if (check_room(s, h, index, at, QCOW2_SNAPSHOT_HEADER) < 0 ||
        !(p = window_at(s, w, at, QCOW2_SNAPSHOT_HEADER)))
        return -1;
    sn->l1_offset = qcow2_be64(p);
    sn->l1_size = qcow2_be32(p + 8);
    id_size = qcow2_be16(p + 12);
    name_size = qcow2_be16(p + 14);
    sn->date_sec = qcow2_be32(p + 16);
    sn->date_nsec = qcow2_be32(p + 20);
    sn->vm_clock_nsec = qcow2_be64(p + 24);
    sn->vm_state_size = qcow2_be32(p + 32);
    extra_size = qcow2_be32(p + 36);
    sn->icount = -1;
    sn->extended_l2 = h->extended_l2;

    if (extra_size > QCOW2_MAX_SNAPSHOT_EXTRA)
        return qcow2_invalid(s, QCOW2_HINT_CHECK,
                             "snapshot table entry %" PRIu32 " has %" PRIu32 " bytes of extra "
                             "data (extra_data_size), more than the limit of %u", index,
                             extra_size, QCOW2_MAX_SNAPSHOT_EXTRA);
    if (h->version >= 3 && extra_size < 16)
        return qcow2_invalid(s, QCOW2_HINT_CHECK,
                             "snapshot table entry %" PRIu32 " has %" PRIu32 " bytes of extra "
                             "data (extra_data_size); version 3 images record at least 16",
                             index, extra_size);
    len = QCOW2_SNAPSHOT_HEADER + (uint64_t)extra_size + id_size + name_size;
    if (check_room(s, h, index, at, len) < 0 || !(p = window_at(s, w, at, len)))
        return -1;

    extra = p + QCOW2_SNAPSHOT_HEADER;
    if (extra_size >= 8)
        sn->vm_state_size = qcow2_be64(extra);
    has_disk_size = extra_size >= 16;
    if (has_disk_size)
        sn->disk_size = qcow2_be64(extra + 8);
    if (extra_size >= 24)
        sn->icount = (int64_t)qcow2_be64(extra + 16);
    if (extra_size > 24) {
        if (!(sn->unknown_extra = malloc(extra_size - 24))) {
            glv_set_oom();
            return -1;
        }
        memcpy(sn->unknown_extra, extra + 24, extra_size - 24);
        sn->unknown_extra_size = extra_size - 24;
    }
    if (!(sn->id = entry_string(s, index, "id", extra + extra_size, id_size)) ||
        !(sn->name = entry_string(s, index, "name", extra + extra_size + id_size, name_size)))
        return -1;
    if (check_snapshot_l1(s, h, index, sn, has_disk_size) < 0)
        return -1;
    *pos = at + len;
    return 0;
}

int qcow2_snapshots_read(struct glv_storage *s, struct qcow2_header *h)
{
    struct window w = {NULL, 0, 0, 0};
    uint64_t pos = h->snapshots_offset;
    int rc = -1;

    if (h->nb_snapshots == 0)
        return 0;
    /* The header checks bounded nb_snapshots (at most 65536, and 40 bytes
     * each inside the file) before this allocation. */
    if (!(h->snapshots = calloc(h->nb_snapshots, sizeof *h->snapshots))) {
        glv_set_oom();
        return -1;
    }
    w.limit = h->file_size - h->snapshots_offset > QCOW2_MAX_SNAPSHOT_TABLE
                  ? h->snapshots_offset + QCOW2_MAX_SNAPSHOT_TABLE
                  : h->file_size;
    if (!(w.buf = malloc(w.limit - pos < WINDOW ? w.limit - pos : WINDOW))) {
        glv_set_oom();
        return -1;
    }
    for (uint32_t i = 0; i < h->nb_snapshots; i++)
        if (read_entry(s, h, &w, i, &pos) < 0)
            goto out;
    h->snapshots_bytes = pos - h->snapshots_offset;
    rc = 0;
out:
    free(w.buf);
    return rc;
}

void qcow2_snapshots_release(struct qcow2_header *h)
{
    for (uint32_t i = 0; h->snapshots && i < h->nb_snapshots; i++) {
        free(h->snapshots[i].id);
        free(h->snapshots[i].name);
        free(h->snapshots[i].l1);
        free(h->snapshots[i].unknown_extra);
    }
    free(h->snapshots);
    h->snapshots = NULL;
}

int qcow2_snapshot_load_l1(struct glv_storage *s, const struct qcow2_header *h,
                           struct qcow2_snapshot *sn)
{
    char which[128];

    if (sn->l1)
        return 0;
    snprintf(which, sizeof which, "the L1 table of snapshot '%.48s' (id %.24s)", sn->name,
             sn->id);
    /* Where the table lies was checked at open; its entries are checked now. */
    return qcow2_l1_load(s, h, which, sn->l1_offset, sn->l1_size, &sn->l1);
}

int qcow2_snapshot_find_by(const struct qcow2_header *h, const char *key, int by_id)
{
    for (uint32_t i = 0; h && key && i < h->nb_snapshots; i++)
        if (strcmp(by_id ? h->snapshots[i].id : h->snapshots[i].name, key) == 0)
            return (int)i;
    return -1;
}

int qcow2_snapshot_find(const struct qcow2_header *h, const char *key)
{
    int index = qcow2_snapshot_find_by(h, key, 0);

    return index >= 0 ? index : qcow2_snapshot_find_by(h, key, 1);
}

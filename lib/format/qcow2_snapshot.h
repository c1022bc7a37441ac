/*
 * What qcow2_header.c and qcow2_snapshot.c share while validating an image
 * at open: big-endian loads, the error helper, the bounds of a table and the
 * L1 loader, and the snapshot table reader.  Private to those two files.
 */
#ifndef GLUVIRT_QCOW2_SNAPSHOT_H
#define GLUVIRT_QCOW2_SNAPSHOT_H

#include <stdint.h>

#include "format/qcow2.h"

/* What to do about a damaged image, appended to the messages. */
#define QCOW2_HINT_HEADER "the header is damaged; restore the image from a backup"
#define QCOW2_HINT_CHECK \
    "the image is damaged: see 'qemu-img check', and repair a copy with 'qemu-img check -r all'"

static inline uint16_t qcow2_be16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t qcow2_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t qcow2_be64(const unsigned char *p)
{
    return (uint64_t)qcow2_be32(p) << 32 | qcow2_be32(p + 4);
}

/* Record EINVAL: "<image>: <what>; <hint>".  Returns -1. */
int qcow2_invalid(const struct glv_storage *s, const char *hint, const char *fmt, ...)
    GLV_PRINTF(3, 4);

/* Read len bytes at offset into buf (zeros past the end of the file). */
int qcow2_read(struct glv_storage *s, void *buf, uint64_t len, uint64_t offset);

/* The L1 entries that map the first size bytes of a virtual disk. */
uint64_t qcow2_l1_entries_for(const struct qcow2_header *h, uint64_t size);

/*
 * Check where an L1 table of entries entries at offset lies: the size cap,
 * cluster alignment, clear of the header cluster and inside the file.
 * which names the table in messages ("the active L1 table").  0 or -1.
 */
int qcow2_l1_check_place(struct glv_storage *s, const struct qcow2_header *h,
                         const char *which, uint64_t offset, uint32_t entries);

/*
 * Read an L1 table whose place has been checked, convert it to host order and
 * check every entry (reserved bits clear, L2 table aligned and inside the
 * file).  *out is malloc'd (NULL for an empty table).  0 or -1.
 */
int qcow2_l1_load(struct glv_storage *s, const struct qcow2_header *h, const char *which,
                  uint64_t offset, uint32_t entries, uint64_t **out);

/* Read and check the snapshot table into h->snapshots (qcow2_snapshot.c).
 * The header fields it starts from have been checked.  0 or -1. */
int qcow2_snapshots_read(struct glv_storage *s, struct qcow2_header *h);

/* Free h->snapshots and everything each entry holds. */
void qcow2_snapshots_release(struct qcow2_header *h);

#endif

/*
 * Checking a qcow2 image's metadata as 'qemu-img check' does, shared
 * between its files:
 *   qcow2_check.c          the walk: every cluster the metadata references,
 *                          counted into the expected refcounts; the figures
 *   qcow2_check_bitmaps.c  persistent bitmaps: the directory and tables
 *   qcow2_check_repair.c   the comparison with the stored refcounts, the
 *                          COPIED flags, the repairs, the format op
 *   qcow2_check_rebuild.c  a new refcount structure, for -r all
 *
 * Every offset read from the image is checked before it is used: a
 * reference past the end of the file is a corruption and is not counted,
 * so the table of expected refcounts never outgrows the file.
 */
#ifndef GLUVIRT_QCOW2_CHECK_H
#define GLUVIRT_QCOW2_CHECK_H

#include <stdint.h>

#include "format/qcow2_write.h"

/* Refcount table entries: the offset, and the low bits that must be zero. */
#define QCOW2_REFT_OFFSET_MASK   0xfffffffffffffe00ull
#define QCOW2_REFT_RESERVED_MASK 0x1ffull
/* Bits of a standard L2 entry that must be zero. */
#define QCOW2_L2E_STD_RESERVED_MASK 0x3f000000000001feull

/* The most clusters the expected refcounts may cover (1 GiB of counts):
 * bigger files are not checked. */
#define QCOW2_CHECK_MAX_CLUSTERS (1ull << 28)

struct qcow2_check {
    struct qcow2_image *q;
    struct glv_storage *s;
    struct glv_check_report *r;
    unsigned fix;
    uint64_t cs;                /* cluster size */
    unsigned bits;              /* cluster_bits */
    uint64_t file_size;
    uint64_t file_clusters;     /* clusters the file spans */

    /* Expected refcounts, one per cluster, for clusters [0, nb): nb grows
     * to one past file_clusters when metadata references the partial
     * cluster at the end of the file. */
    uint32_t *expected;
    uint64_t nb, capacity;
    uint32_t max;               /* the largest refcount an entry holds */
    int rebuild;                /* the refcount structure itself is broken */

    /* The refcount table as stored (host-endian, entries unchecked). */
    uint64_t *reftable;
    uint64_t reftable_entries;
    unsigned refblock_bits;     /* log2 of the refcounts in one block */

    /* One refcount block read at a time. */
    unsigned char *block;
    uint64_t block_offset;      /* 0: none held */
    int block_dirty;

    uint64_t *l2;               /* one L2 table */
    int borrowed_writer;        /* q->writer exists for this repair only */
};

/* Make the expected refcounts cover clusters [0, needed) (zeros where new).
 * 0, or -1 with the error set (EFBIG past QCOW2_CHECK_MAX_CLUSTERS). */
int qcow2_check_cover(struct qcow2_check *c, uint64_t needed);

/* Write a new refcount structure from the expected refcounts and point the
 * header at it (qcow2_check_rebuild.c).  Only with a borrowed writer.  0, or
 * -1 with the error set (the image then still uses the old structure). */
int qcow2_check_rebuild(struct qcow2_check *c);

/* Count one more reference to each cluster [offset, offset + size)
 * touches.  0, or -1 with the error set and r->check_errors counted. */
int qcow2_check_reference(struct qcow2_check *c, uint64_t offset, uint64_t size);

/* Read len bytes at offset of the image file, zeros past its end (as QEMU
 * reads them).  0 or -1 with the error set. */
int qcow2_check_read(struct qcow2_check *c, void *buf, uint64_t len, uint64_t offset);

/* The walk: fill c->expected and the figures.  0 or -1 (qcow2_check.c). */
int qcow2_check_walk(struct qcow2_check *c);

/* Persistent bitmaps (qcow2_check_bitmaps.c).  0 or -1. */
int qcow2_check_bitmaps(struct qcow2_check *c);

/* The stored refcount of cluster (0 past the refcount table, or where no
 * block covers it); -1 with the error set when its block cannot be read. */
int qcow2_check_stored(struct qcow2_check *c, uint64_t cluster, uint64_t *count);

#endif

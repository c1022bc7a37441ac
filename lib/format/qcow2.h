/*
 * The qcow2 driver's shared structures.  qcow2_header.c reads and validates
 * everything the header leads to (header, extensions, L1 table, snapshot
 * table) once, at open; the read path (qcow2_l2_cache.c, qcow2_cluster.c,
 * qcow2_compressed.c, format_qcow2.c) then trusts what it holds and checks only what it reads
 * later (L2 tables, compressed descriptors).
 */
#ifndef GLUVIRT_QCOW2_H
#define GLUVIRT_QCOW2_H

#include <pthread.h>
#include <stdint.h>

#include "format/format.h"
#include "format/qcow2_format.h"

enum qcow2_compression { QCOW2_COMPRESSION_ZLIB = 0, QCOW2_COMPRESSION_ZSTD = 1 };

struct qcow2_feature_name {
    uint8_t type; /* 0 incompatible, 1 compatible, 2 autoclear */
    uint8_t bit;
    char name[47]; /* NUL-terminated (the image's 46 bytes, printable only) */
};

struct qcow2_snapshot {
    char *id;
    char *name;
    uint64_t l1_offset;        /* validated: aligned, table inside the file */
    uint32_t l1_size;
    uint64_t *l1;              /* loaded on demand by the driver; NULL until then */
    uint64_t vm_state_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    int64_t icount;            /* -1 when the entry does not record it */
    uint64_t disk_size;        /* the virtual size at the snapshot */
    int extended_l2;           /* the snapshot's L2 tables have extended entries */
    unsigned char *unknown_extra; /* extra data past the 24 bytes known (kept on rewrite) */
    uint32_t unknown_extra_size;
};

/* Everything the header and its tables say, validated. */
struct qcow2_header {
    uint32_t version;          /* 2 or 3 */
    uint32_t cluster_bits;     /* 9..21 */
    uint64_t cluster_size;
    uint64_t size;             /* virtual size */
    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_bytes;  /* the snapshot table's length (0 without snapshots) */
    uint64_t incompatible, compatible, autoclear;
    uint32_t refcount_order;
    uint32_t header_length;
    enum qcow2_compression compression;
    int extended_l2;           /* 128-bit L2 entries with subcluster bitmaps */
    uint32_t l2_bits;          /* log2 of the entries per L2 table */
    uint64_t file_size;        /* the image file's size when it was opened */

    char *backing_name;        /* NULL when none */
    char *backing_format;      /* from the extension; NULL when absent */
    char *data_file;           /* external data file name; NULL when none */
    struct qcow2_feature_name *feature_names;
    unsigned feature_name_count;

    uint64_t *l1;              /* host-endian, l1_size entries, each checked */
    struct qcow2_snapshot *snapshots; /* nb_snapshots entries */
};

/*
 * Read and validate the header, its extensions, the L1 table and the
 * snapshot table of the image in s.  On failure: -1, the error set
 * (EINVAL naming the field, the value and the limit; ENOTSUP for encryption
 * or an unknown incompatible feature, named from the feature name table),
 * and *h left empty.  (qcow2_header.c)
 */
int qcow2_header_read(struct glv_storage *s, struct qcow2_header *h);
void qcow2_header_release(struct qcow2_header *h);

/* Load and check a snapshot's L1 table into sn->l1.  0 or -1. */
int qcow2_snapshot_load_l1(struct glv_storage *s, const struct qcow2_header *h,
                           struct qcow2_snapshot *sn);

/* The index of the snapshot named (or, failing that, with id) key, or -1. */
int qcow2_snapshot_find(const struct qcow2_header *h, const char *key);

/* The index of the first snapshot whose id (by_id) or name is key, or -1. */
int qcow2_snapshot_find_by(const struct qcow2_header *h, const char *key, int by_id);

/* The feature name the image gives an incompatible bit, or NULL. */
const char *qcow2_feature_name(const struct qcow2_header *h, unsigned type, unsigned bit);

#endif

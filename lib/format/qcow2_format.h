/*
 * The qcow2 format as it lies on disk: the magic, the header's lengths, its
 * feature bits, the header extensions, the table entry bits, and the limits
 * an image must keep.  The reader (qcow2_header.c and the files after it)
 * and the writer (qcow2_create.c) both take them from here.  The limits are
 * QEMU's, so that every image QEMU opens opens here, and every image made
 * here opens in QEMU.
 */
#ifndef GLUVIRT_FORMAT_QCOW2_FORMAT_H
#define GLUVIRT_FORMAT_QCOW2_FORMAT_H

#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* The header: version 2 ends at byte 72; version 3 has at least 104 bytes,
 * and 112 with the compression type byte and its padding. */
#define QCOW2_V2_HEADER_LENGTH 72u
#define QCOW2_V3_HEADER_MIN    104u
#define QCOW2_V3_HEADER_LENGTH 112u

/* Incompatible feature bits this version reads. */
#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTENDED_L2  (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN        0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* Header extension types. */
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES  0x6803f857u
#define QCOW2_EXT_BITMAPS        0x23852875u
#define QCOW2_EXT_ENCRYPTION     0x0537be77u
#define QCOW2_EXT_DATA_FILE      0x44415441u

/* A feature name table entry: type, bit, and the name in 46 bytes. */
#define QCOW2_FEATURE_ENTRY      48u
#define QCOW2_FEATURE_NAME_BYTES 46u

/* L1 and L2 entry bits (standard clusters). */
#define QCOW2_OFLAG_COPIED      (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED  (1ull << 62)
#define QCOW2_OFLAG_ZERO        1ull
#define QCOW2_L1E_OFFSET_MASK   0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK   0x00fffffffffffe00ull
/* Bits 0-8 and 56-62 of an L1 entry are reserved and must be zero. */
#define QCOW2_L1E_RESERVED_MASK 0x7f000000000001ffull

/* Refcounts of 16 bits (order 4): the only width version 2 knows, and
 * QEMU's default.  Version 3 allows 1 to 64 bits (orders 0 to 6). */
#define QCOW2_DEFAULT_REFCOUNT_ORDER 4u
#define QCOW2_MAX_REFCOUNT_ORDER     6u

/* Clusters of 512 bytes to 2 MiB; 64 KiB by default, as in QEMU. */
#define QCOW2_MIN_CLUSTER_BITS     9u
#define QCOW2_MAX_CLUSTER_BITS     21u
#define QCOW2_DEFAULT_CLUSTER_BITS 16u

/* Limits. */
#define QCOW2_MAX_BACKING_NAME    1023u
#define QCOW2_MAX_BACKING_FORMAT  15u
#define QCOW2_MAX_DATA_FILE_NAME  4095u
#define QCOW2_MAX_L1_BYTES        (32ull << 20)
#define QCOW2_MAX_L1_ENTRIES      ((uint32_t)(QCOW2_MAX_L1_BYTES / 8))
#define QCOW2_MAX_REFTABLE_BYTES  (8ull << 20)
#define QCOW2_MAX_SNAPSHOTS       65536u
#define QCOW2_MAX_SNAPSHOT_TABLE  (64ull << 20)
#define QCOW2_MAX_SNAPSHOT_EXTRA  1024u
#define QCOW2_SNAPSHOT_HEADER     40u

#endif

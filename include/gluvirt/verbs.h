/*
 * libgluvirt — maintenance verbs: compare two images, measure what an image
 * would take, resize an image, create, apply and delete internal
 * snapshots, with the answers `qemu-img compare`, `qemu-img measure`,
 * `qemu-img resize` and `qemu-img snapshot` give.
 *
 * Each verb takes a gluvirt_verb_options object (NULL for the defaults)
 * that carries its knobs and a progress callback.  The callback hears how
 * far the verb has got and may stop it: the verb then returns -1 with
 * ECANCELED, leaving its images as they were before the step it was on.
 *
 * Calls on distinct images may run in several threads at once.
 */
#ifndef GLUVIRT_VERBS_H
#define GLUVIRT_VERBS_H

#include <stdint.h>
#include <gluvirt/common.h>
#include <gluvirt/image.h>
#include <gluvirt/create.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_verb_options gluvirt_verb_options;

/*
 * gluvirt_progress_fn: how far a verb has got: done of total bytes (done
 * grows, never past total; total may be 0 for an empty image).  Runs on the
 * thread that called the verb, between its steps.  Return 0 to go on, any
 * other value to stop: the verb returns -1 with ECANCELED.  Since 1.1.
 */
typedef int (*gluvirt_progress_fn)(void *user_data, uint64_t done, uint64_t total);

/*
 * gluvirt_verb_options_new: options with every default: no progress
 * callback, compare not strict, resize refuses to shrink, measure for a
 * raw target with qcow2's defaults (64 KiB clusters, compat 1.1, 16-bit
 * refcounts, no extended L2 entries, no preallocation, no backing file).
 * NULL with ENOMEM.  Free with gluvirt_verb_options_free (accepts NULL).
 * Since 1.1.
 */
GLUVIRT_API gluvirt_verb_options *gluvirt_verb_options_new(void);
GLUVIRT_API void gluvirt_verb_options_free(gluvirt_verb_options *options);

/* The progress callback (NULL: none) and its user_data.  Since 1.1. */
GLUVIRT_API int gluvirt_verb_options_set_progress(gluvirt_verb_options *options,
                                                  gluvirt_progress_fn progress,
                                                  void *user_data);

/* compare: strict mode (qemu-img compare -s): images of different sizes
 * differ, and so do ranges one image allocates and the other does not, even
 * when both read as the same bytes.  Default 0.  Since 1.1. */
GLUVIRT_API int gluvirt_verb_options_set_strict(gluvirt_verb_options *options, int strict);

/* resize: allow a new size below the current one (qemu-img resize
 * --shrink).  Default 0: shrinking fails with EINVAL.  Since 1.1. */
GLUVIRT_API int gluvirt_verb_options_set_shrink(gluvirt_verb_options *options, int shrink);

/*
 * measure: the image to measure for, as qemu-img measure -O FMT -o ...:
 *   format           GLUVIRT_FORMAT_RAW (default) or GLUVIRT_FORMAT_QCOW2
 *   cluster_size     qcow2: a power of two, 512 to 2 MiB (with extended L2
 *                    entries at least 16 KiB); default 64 KiB
 *   compat           qcow2: "1.1"/"v3" (default) or "0.10"/"v2"
 *   refcount_bits    qcow2: 1, 2, 4, 8, 16 (default), 32 or 64; other than
 *                    16 needs compat 1.1
 *   extended_l2      qcow2: 0 (default) or 1; needs compat 1.1
 *   preallocation    GLUVIRT_PREALLOC_*: FALLOC and FULL count every data
 *                    cluster as required
 *   backing          qcow2: nonzero when the new image will have a backing
 *                    file (then every cluster of a measured image counts, as
 *                    qemu-img assumes the worst)
 * A value out of range is EINVAL, naming it.  Since 1.1.
 */
GLUVIRT_API int gluvirt_verb_options_set_format(gluvirt_verb_options *options,
                                                gluvirt_format format);
GLUVIRT_API int gluvirt_verb_options_set_cluster_size(gluvirt_verb_options *options,
                                                      uint64_t bytes);
GLUVIRT_API int gluvirt_verb_options_set_compat(gluvirt_verb_options *options,
                                                const char *compat);
GLUVIRT_API int gluvirt_verb_options_set_refcount_bits(gluvirt_verb_options *options,
                                                       unsigned bits);
GLUVIRT_API int gluvirt_verb_options_set_extended_l2(gluvirt_verb_options *options,
                                                     int extended_l2);
GLUVIRT_API int gluvirt_verb_options_set_preallocation(gluvirt_verb_options *options,
                                                       gluvirt_preallocation mode);
GLUVIRT_API int gluvirt_verb_options_set_backing(gluvirt_verb_options *options, int backing);

/* What gluvirt_image_compare found. */
typedef enum gluvirt_compare_result {
    GLUVIRT_COMPARE_IDENTICAL = 0,        /* the same bytes (sizes may differ: the
                                           * longer image holds only zeros past
                                           * the shorter one's end) */
    GLUVIRT_COMPARE_CONTENT_MISMATCH = 1, /* different bytes in the 512-byte sector
                                           * at *offset */
    GLUVIRT_COMPARE_SIZE_MISMATCH = 2,    /* strict: the sizes differ */
    GLUVIRT_COMPARE_STATUS_MISMATCH = 3   /* strict: the images' allocation differs
                                           * at *offset */
} gluvirt_compare_result;

/*
 * gluvirt_image_compare: compare what two images read as, as qemu-img
 * compare does: ranges both images know to be zeros are skipped without
 * reading, the rest is read in large requests, several in flight.
 * *offset (may be NULL) gets the offset of a mismatch qemu-img would report
 * ("Content mismatch at offset N!"), or 0.
 *
 * Returns a gluvirt_compare_result (>= 0), or -1 with the error set: EIO
 * and the storage's errors for a read or a block status that failed (the
 * message names the image and offset), ECANCELED when the progress
 * callback stopped it, EINVAL for a NULL image.  The progress callback
 * hears bytes out of the larger size.  Both images may be the same handle.
 * Since 1.1.
 */
GLUVIRT_API int gluvirt_image_compare(gluvirt_image *a, gluvirt_image *b,
                                      const gluvirt_verb_options *options, uint64_t *offset);

/*
 * gluvirt_image_measure: the bytes an image in the format options describe
 * would take, as qemu-img measure computes them: *required for its
 * metadata and the data it would hold, *fully_allocated when every cluster
 * is allocated.  The image holds source's contents (its block status
 * decides which clusters hold data; source's size rounded up to the
 * cluster size for qcow2, to whole 512-byte sectors for raw), or, when
 * source is NULL, size bytes that read as zeros.  Either out pointer may be NULL.
 *
 * Returns 0, or -1 with the error set: EINVAL for an option the format
 * cannot take or a size it cannot hold (the message names the cluster size
 * that would do), ECANCELED when the progress callback stopped it, and
 * source's read errors.  Since 1.1.
 */
GLUVIRT_API int gluvirt_image_measure(gluvirt_image *source, uint64_t size,
                                      const gluvirt_verb_options *options,
                                      uint64_t *required, uint64_t *fully_allocated);

/*
 * gluvirt_image_resize: set the virtual size of an image opened writable,
 * as qemu-img resize does: growing adds a range that reads as zeros; a
 * size below the current one needs the shrink option and drops the data
 * past it.  Raw images take the size as given (no rounding); qcow2 images
 * take a multiple of 512, grow their L1 table when the size needs it, and
 * on shrinking release the clusters past the new end (internal snapshots
 * keep what they share).  The size must be above 0.  No other request may
 * be in flight on the image meanwhile.
 *
 * Returns 0, or -1 with the error set: EINVAL (no shrink option for a
 * smaller size, size 0 or past INT64_MAX, a qcow2 size not a multiple of
 * 512), EROFS (opened read-only), ENOTSUP (a version 2 qcow2 image with
 * internal snapshots, which QEMU refuses too; a qcow2 image with an
 * external data file), EFBIG (a qcow2 L1 table past 32 MiB, or from the
 * storage), ENOSPC from the storage, ECANCELED when the progress callback
 * stopped it before the size changed.  Since 1.1 (qcow2 images since 1.2).
 */
GLUVIRT_API int gluvirt_image_resize(gluvirt_image *image, uint64_t size,
                                     const gluvirt_verb_options *options);

/*
 * gluvirt_image_snapshot_create: record the current state of a qcow2 image
 * opened writable as an internal snapshot named name, as 'qemu-img
 * snapshot -c' does: the next free numeric id, the date now, no VM state.
 * Names may repeat (as in QEMU); ids do not.  Every cluster the image
 * holds becomes shared with the snapshot, so later writes copy them.  No
 * other request may be in flight on the image meanwhile.  List snapshots
 * with gluvirt_image_info_int (GLUVIRT_INFO_SNAPSHOT_COUNT) and
 * gluvirt_image_snapshot_int / gluvirt_image_snapshot_string.
 *
 * Returns 0, or -1 with the error set: EINVAL (NULL image or name, a name
 * over 65535 bytes), EROFS (opened read-only), ENOTSUP (a raw image, or a
 * qcow2 image with an external data file), EFBIG (65536 snapshots
 * already, or a snapshot table past 64 MiB), EIO (the image's metadata is
 * damaged: it is marked corrupt), and the storage's errors.  A failure
 * part way leaves clusters leaked at worst ('qemu-img check -r leaks').
 * Since 1.2.
 */
GLUVIRT_API int gluvirt_image_snapshot_create(gluvirt_image *image, const char *name);

/*
 * gluvirt_image_snapshot_apply: make the current state of a qcow2 image
 * opened writable what the snapshot with id (or, failing that, name)
 * id_or_name recorded, as 'qemu-img snapshot -a' does: the virtual size
 * becomes the snapshot's, and what was written since is dropped.  The
 * snapshot stays.  No other request may be in flight on the image
 * meanwhile.
 *
 * Returns 0, or -1 with the error set: ENOENT (no such snapshot), EINVAL
 * (NULL argument), EROFS, ENOTSUP (a raw image; a version 2 image whose
 * snapshot has another size, which QEMU cannot resize either), EIO for
 * damaged metadata, and the storage's errors.  Since 1.2.
 */
GLUVIRT_API int gluvirt_image_snapshot_apply(gluvirt_image *image, const char *id_or_name);

/*
 * gluvirt_image_snapshot_delete: delete the internal snapshot named name
 * (the first with that name; ids are not matched, as 'qemu-img snapshot
 * -d' matches none) from a qcow2 image opened writable, freeing the
 * clusters only it held.  No other request may be in flight on the image
 * meanwhile.
 *
 * Returns 0, or -1 with the error set: ENOENT (no snapshot of that name),
 * EINVAL, EROFS, ENOTSUP (a raw image), EIO for damaged metadata, and the
 * storage's errors.  A failure after the entry is gone leaves clusters
 * leaked at worst.  Since 1.2.
 */
GLUVIRT_API int gluvirt_image_snapshot_delete(gluvirt_image *image, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_VERBS_H */

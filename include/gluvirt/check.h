/*
 * libgluvirt — checking an image's metadata, and repairing it, as
 * 'qemu-img check' and 'qemu-img check -r leaks|all' do.
 *
 * A check walks everything the image's metadata references (qcow2: the
 * header, the L1 and L2 tables of the image and of every snapshot, the
 * data and compressed clusters, the snapshot table, the refcount table and
 * blocks, persistent bitmaps), counts how often each cluster is used, and
 * compares that with the refcounts the image stores:
 *
 *   leaks         clusters whose stored refcount is higher than their use:
 *                 space wasted, no harm to data
 *   corruptions   refcounts lower than the use (a later write may
 *                 overwrite data still in use), COPIED flags that disagree
 *                 with the refcount, tables or clusters misaligned or past
 *                 the end of the file, reserved bits set
 *   check errors  what stopped parts of the check (an unreadable table)
 *
 * The result also carries the figures qemu-img prints: total, allocated,
 * fragmented and compressed clusters, and the image end offset.  The
 * numbers are QEMU's for the same image.
 *
 * Repair (flags GLUVIRT_CHECK_REPAIR_LEAKS or _ALL) needs an image opened
 * writable, or opened with gluvirt_open_options_set_repair.  It lowers the
 * refcounts of leaked clusters, and with _ALL raises those that are too
 * low (but not zero) and sets the COPIED flags right; when it leaves
 * nothing wrong it clears the image's dirty and corrupt bits.  A cluster
 * in use with a stored refcount of 0, or a damaged refcount table or
 * block, needs the refcount structure rebuilt: _ALL on an image opened
 * with gluvirt_open_options_set_repair writes a new one past the end of
 * the file and then points the header at it; _LEAKS, and _ALL on an image
 * opened writable, fail with EIO before anything is written.
 *
 * Raw images have no metadata: the check fails with ENOTSUP, as qemu-img
 * says "This image format does not support checks".
 */
#ifndef GLUVIRT_CHECK_H
#define GLUVIRT_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <gluvirt/common.h>
#include <gluvirt/image.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_check_result gluvirt_check_result;

/* What a check may repair (flags of gluvirt_image_check). */
#define GLUVIRT_CHECK_REPAIR_LEAKS 1u   /* 'qemu-img check -r leaks' */
#define GLUVIRT_CHECK_REPAIR_ALL   3u   /* 'qemu-img check -r all' */

/* The numbers of a result, by the names 'qemu-img check --output=json'
 * gives them. */
typedef enum gluvirt_check_value {
    GLUVIRT_CHECK_CORRUPTIONS = 0,         /* "corruptions": left after any repair */
    GLUVIRT_CHECK_LEAKS = 1,               /* "leaks": left after any repair */
    GLUVIRT_CHECK_CHECK_ERRORS = 2,        /* "check-errors" */
    GLUVIRT_CHECK_CORRUPTIONS_FIXED = 3,   /* "corruptions-fixed" */
    GLUVIRT_CHECK_LEAKS_FIXED = 4,         /* "leaks-fixed" */
    GLUVIRT_CHECK_IMAGE_END_OFFSET = 5,    /* "image-end-offset": bytes */
    GLUVIRT_CHECK_TOTAL_CLUSTERS = 6,      /* "total-clusters": of the virtual size */
    GLUVIRT_CHECK_ALLOCATED_CLUSTERS = 7,  /* "allocated-clusters" */
    GLUVIRT_CHECK_FRAGMENTED_CLUSTERS = 8, /* "fragmented-clusters" */
    GLUVIRT_CHECK_COMPRESSED_CLUSTERS = 9  /* "compressed-clusters" */
} gluvirt_check_value;

/*
 * gluvirt_image_check: check image (the top of its chain; backing files are
 * not checked) and, with flags, repair it.  On 0, *result holds what was
 * found (free it with gluvirt_check_result_free), corruptions and leaks
 * included: a check that finds damage still succeeds.  Like 'qemu-img
 * check -r', the numbers are those of a second check after a repair, with
 * the fixed counts of the repair.
 *
 * Returns -1 (and *result NULL) when the check could not run to its end:
 * ENOTSUP for a format without checks (raw), EROFS for a repair of an image
 * opened read-only, EINVAL for unknown flags or an image opened at a
 * snapshot, EIO when a repair would need a rebuild it may not do (nothing
 * written) or a write failed, EFBIG for a file of more than 2^28 clusters,
 * or the error of a read that failed.
 *
 * Thread-safety: may run while other threads read and write the image; on
 * an image opened writable it holds the image's metadata lock meanwhile.
 * Since 1.1.
 */
GLUVIRT_API int gluvirt_image_check(gluvirt_image *image, unsigned flags,
                                    gluvirt_check_result **result);

/* gluvirt_check_result_value: one number of the result, or -1 (EINVAL) for
 * an unknown key or a NULL result.  Since 1.1. */
GLUVIRT_API int64_t gluvirt_check_result_value(const gluvirt_check_result *result,
                                               gluvirt_check_value key);

/*
 * gluvirt_check_result_message_count / _message: the lines describing each
 * problem found and each repair made, in the words qemu-img prints on
 * stderr ("Leaked cluster 5 refcount=2 reference=1").  At most 1000 are
 * kept; a last line says how many more there were.  The strings belong to
 * the result; NULL for an index out of range.  Since 1.1.
 */
GLUVIRT_API size_t gluvirt_check_result_message_count(const gluvirt_check_result *result);
GLUVIRT_API const char *gluvirt_check_result_message(const gluvirt_check_result *result,
                                                     size_t index);

/* gluvirt_check_result_free: release a result.  Accepts NULL.  Since 1.1. */
GLUVIRT_API void gluvirt_check_result_free(gluvirt_check_result *result);

/*
 * gluvirt_open_options_set_repair: open the image's file writable for a
 * repair by gluvirt_image_check, without opening the image for writing:
 * writes to the image still fail with EROFS, and the opens that refuse
 * writing (an image marked corrupt or dirty, internal snapshots,
 * compressed clusters, other refcount widths) succeed, as 'qemu-img check
 * -r' opens them.  Default 0.  Since 1.1.
 */
GLUVIRT_API int gluvirt_open_options_set_repair(gluvirt_open_options *options, int repair);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_CHECK_H */

/*
 * libgluvirt — creating images (raw or qcow2) on a gluster volume or in a
 * local file.
 *
 * gluvirt_image_create makes a new image as `qemu-img create` does: the same
 * formats, sizes and options, and images that qemu-img check finds clean.
 * On a volume the file is created through gfapi, so nothing is mounted and
 * there is no 10 s glfs_fini wait at the end.
 *
 * An existing file is never replaced unless the caller asks for it
 * (gluvirt_create_options_set_overwrite); by default creating an image that
 * exists fails with EEXIST and leaves the file as it was.  A creation that
 * fails half-way removes what it made.
 *
 * Calls on distinct option objects may run in several threads at once.
 */
#ifndef GLUVIRT_CREATE_H
#define GLUVIRT_CREATE_H

#include <stdint.h>
#include <gluvirt/common.h>
#include <gluvirt/pool.h>
#include <gluvirt/image.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_create_options gluvirt_create_options;

/*
 * How much of the image is allocated when it is made:
 *   GLUVIRT_PREALLOC_OFF       nothing beyond the format's own metadata
 *                              (a raw image is a sparse file);
 *   GLUVIRT_PREALLOC_METADATA  qcow2 only: every L2 table and data cluster is
 *                              mapped, so guest writes never allocate; the
 *                              file stays sparse;
 *   GLUVIRT_PREALLOC_FALLOC    as METADATA for qcow2, then the file's blocks
 *                              are reserved (fallocate) without being written;
 *   GLUVIRT_PREALLOC_FULL      as METADATA for qcow2, then every byte is
 *                              written (zero-filled).
 * On gluster FALLOC uses glfs_fallocate and FULL glfs_zerofill (both work on
 * replicated and sharded GlusterFS 10 volumes); where a volume refuses
 * them, zeros are written instead.  Locally FALLOC uses posix_fallocate.
 */
typedef enum gluvirt_preallocation {
    GLUVIRT_PREALLOC_OFF = 0,
    GLUVIRT_PREALLOC_METADATA = 1,
    GLUVIRT_PREALLOC_FALLOC = 2,
    GLUVIRT_PREALLOC_FULL = 3
} gluvirt_preallocation;

/* Pass as the size to take the virtual size of the backing file. */
#define GLUVIRT_CREATE_SIZE_OF_BACKING UINT64_MAX

/* The default qcow2 cluster size, as qemu-img uses. */
#define GLUVIRT_CREATE_DEFAULT_CLUSTER_SIZE 65536u

/*
 * gluvirt_create_options_new: options with every default: raw, no
 * preallocation, no backing file, never overwrite; for qcow2, 64 KiB
 * clusters and compat "1.1" (version 3), 16-bit refcounts.  Free them with
 * gluvirt_create_options_free (accepts NULL).  NULL with ENOMEM.  Since 1.0.
 */
GLUVIRT_API gluvirt_create_options *gluvirt_create_options_new(void);
GLUVIRT_API void gluvirt_create_options_free(gluvirt_create_options *options);

/* GLUVIRT_FORMAT_RAW or GLUVIRT_FORMAT_QCOW2 (PROBE is EINVAL).  Since 1.0. */
GLUVIRT_API int gluvirt_create_options_set_format(gluvirt_create_options *options,
                                                  gluvirt_format format);

/* qcow2 cluster size in bytes: a power of two from 512 to 2 MiB (EINVAL
 * otherwise).  Since 1.0. */
GLUVIRT_API int gluvirt_create_options_set_cluster_size(gluvirt_create_options *options,
                                                        uint32_t bytes);

/*
 * qcow2 version, in qemu-img's words: "1.1" or "v3" (version 3, the
 * default) or "0.10" or "v2" (version 2, for QEMU older than 1.1).  Anything
 * else is EINVAL.  Since 1.0.
 */
GLUVIRT_API int gluvirt_create_options_set_compat(gluvirt_create_options *options,
                                                  const char *compat);

/* See gluvirt_preallocation.  METADATA on a raw image fails at create time
 * with EINVAL.  Since 1.0. */
GLUVIRT_API int gluvirt_create_options_set_preallocation(gluvirt_create_options *options,
                                                         gluvirt_preallocation mode);

/*
 * gluvirt_create_options_set_backing: make a qcow2 overlay of name, whose
 * format is format (RAW or QCOW2; qemu 7.2 too insists on knowing it).
 *
 * name is stored in the image as given.  A relative name is relative to the
 * new image's directory (on the same volume for an image on gluster); a
 * gluster URI names a file on a volume; an absolute path is a local file and
 * is refused for an image on gluster, where QEMU would look for it on the
 * hypervisor's own disk.  The backing file must exist: it is opened to check
 * it and, with GLUVIRT_CREATE_SIZE_OF_BACKING, to take its size.
 * NULL removes the backing file.  Preallocation and a backing file exclude
 * each other (preallocated clusters would hide the backing file's data).
 * Since 1.0.
 */
GLUVIRT_API int gluvirt_create_options_set_backing(gluvirt_create_options *options,
                                                   const char *name, gluvirt_format format);

/* Replace an existing file (default 0: fail with EEXIST).  A directory is
 * never replaced.  Since 1.0. */
GLUVIRT_API int gluvirt_create_options_set_overwrite(gluvirt_create_options *options,
                                                     int overwrite);

/*
 * gluvirt_create_options_set_owner: give the new file to uid:gid (-1 leaves
 * either as the creating process made it).  On a Virt-Store volume that is
 * qemu's 107:107, so that a qemu running as that user can open images that
 * root created.  Since 1.0.
 */
GLUVIRT_API int gluvirt_create_options_set_owner(gluvirt_create_options *options,
                                                 int64_t uid, int64_t gid);

/*
 * gluvirt_image_create: create the image target (a gluster URI
 * "gluster://HOST/VOLUME/PATH" or a local path) of size bytes, rounded up
 * to a multiple of 512 as qemu-img does, or of its backing file's size
 * (GLUVIRT_CREATE_SIZE_OF_BACKING).
 *
 * pool serves gluster targets (NULL: a private one); options may be NULL for
 * the defaults.  The parent directory must exist.  The file is created with
 * mode 0644 (less the umask for a local file).
 *
 * Returns 0, or -1 with errno and a message:
 *   EEXIST   the file exists and overwriting was not asked for
 *   EINVAL   an option the format cannot take (metadata preallocation of a
 *            raw image, a backing file for a raw image, preallocation with a
 *            backing file), a size too large for the cluster size (the
 *            message says which cluster size would do), a backing name too
 *            long for the header cluster
 *   ENOENT   the parent directory or the backing file does not exist
 *   EACCES   permission denied (the message names the volume's owner
 *            settings)
 *   ENOSPC   the volume or disk is full
 *   and the pool's connect errors for gluster targets.
 * Thread-safe.  Since 1.0.
 */
GLUVIRT_API int gluvirt_image_create(gluvirt_pool *pool, const char *target, uint64_t size,
                                     const gluvirt_create_options *options);

/* gluvirt_image_create_uri: the same for a URI object.  Since 1.0. */
GLUVIRT_API int gluvirt_image_create_uri(gluvirt_pool *pool, const gluvirt_uri *uri,
                                         uint64_t size, const gluvirt_create_options *options);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_CREATE_H */

/*
 * nbdkit-gluvirt-plugin: serve a raw or qcow2 disk image that lives on a
 * gluster volume (or in a local file) over NBD, through libgluvirt.
 *
 *   nbdkit [-r] ./nbdkit-gluvirt-plugin.so gluster://HOST/VOLUME/vm1.qcow2 \
 *          format=qcow2 [backing=same-store|any|none] [snapshot=NAME]
 *
 * Any NBD client can then use the guest's disk: qemu-system-x86_64 -drive
 * file=nbd://localhost/,format=raw; qemu-img convert nbd://localhost/ ...;
 * nbdcopy; nbdfuse.  The client sees the virtual disk: the qcow2 layer, its
 * backing chain and the gluster protocol stay on the server side.
 *
 * Every client connection opens its own image handle; all of them share one
 * connection pool, so one gfapi client serves every connection to a volume.
 * The pool is made after nbdkit has forked into the background (gfapi
 * threads do not survive a fork).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

/* Calls on one image may come from several threads at once. */
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* How many runs of block status one extents request may collect. */
#define MAX_RUNS_PER_REQUEST 1024

static char *target;
/* A target in QEMU's json: form or libvirt's disk XML, read once by
 * config_complete; NULL for a gluster URI or a path, which
 * gluvirt_image_open reads itself. */
static gluvirt_uri *target_uri;
static gluvirt_format format = GLUVIRT_FORMAT_RAW;
static gluvirt_backing_policy backing = GLUVIRT_BACKING_SAME_STORE;
static char *snapshot;
static int direct;
static int force_share;
static int log_level = GLUVIRT_LOG_WARNING; /* 0: none */
static gluvirt_pool *pool;

struct handle {
    gluvirt_image *image;
    int writable;
};

/* Hand the library's error to nbdkit: its message for the log and the
 * client, its errno for the NBD error code. */
static void library_error(void)
{
    int saved = gluvirt_errno();

    nbdkit_error("%s", gluvirt_errmsg());
    errno = saved ? saved : EIO;
}

static void gluvirt_unload(void)
{
    free(target);
    free(snapshot);
    gluvirt_uri_free(target_uri);
}

static int gluvirt_config(const char *key, const char *value)
{
    if (strcmp(key, "file") == 0) {
        free(target);
        if (!(target = strdup(value))) {
            nbdkit_error("strdup: %m");
            return -1;
        }
    } else if (strcmp(key, "format") == 0) {
        if (strcmp(value, "raw") == 0)
            format = GLUVIRT_FORMAT_RAW;
        else if (strcmp(value, "qcow2") == 0)
            format = GLUVIRT_FORMAT_QCOW2;
        else if (strcmp(value, "probe") == 0)
            format = GLUVIRT_FORMAT_PROBE;
        else {
            nbdkit_error("format=%s: say raw, qcow2 or probe", value);
            return -1;
        }
    } else if (strcmp(key, "backing") == 0) {
        if (strcmp(value, "same-store") == 0)
            backing = GLUVIRT_BACKING_SAME_STORE;
        else if (strcmp(value, "any") == 0)
            backing = GLUVIRT_BACKING_ANY;
        else if (strcmp(value, "none") == 0)
            backing = GLUVIRT_BACKING_NONE;
        else {
            nbdkit_error("backing=%s: say same-store, any or none", value);
            return -1;
        }
    } else if (strcmp(key, "snapshot") == 0) {
        free(snapshot);
        if (!(snapshot = strdup(value))) {
            nbdkit_error("strdup: %m");
            return -1;
        }
    } else if (strcmp(key, "direct") == 0) {
        if ((direct = nbdkit_parse_bool(value)) < 0) {
            nbdkit_error("direct=%s: say true or false", value);
            return -1;
        }
    } else if (strcmp(key, "log") == 0) {
        static const char *const names[] = {"none", "error", "warning", "info", "debug"};
        int i;

        for (i = 0; i < 5 && strcmp(value, names[i]) != 0; i++)
            ;
        if (i == 5) {
            nbdkit_error("log=%s: say none, error, warning, info or debug", value);
            return -1;
        }
        log_level = i;
    } else if (strcmp(key, "force_share") == 0) {
        if ((force_share = nbdkit_parse_bool(value)) < 0) {
            nbdkit_error("force_share=%s: say true or false", value);
            return -1;
        }
    } else {
        nbdkit_error("unknown parameter %s= (nbdkit gluvirt --help lists them)", key);
        return -1;
    }
    return 0;
}

/* The ways of naming an image that the library reads (gluvirt_image_open
 * for URIs and paths, the uri module for QEMU's and libvirt's forms). */
static int is_json_target(const char *text)
{
    return strncmp(text, "json:", 5) == 0;
}

static int is_xml_target(const char *text)
{
    text += strspn(text, " \t\r\n");
    return text[0] == '<';
}

static int is_gluster_uri(const char *text)
{
    return strncmp(text, "gluster", 7) == 0 && strchr(text, ':') != NULL;
}

/* Every parameter is checked here, before nbdkit forks or listens, so that
 * a mistake is reported once, naming the parameter, and not to the first
 * client. */
static int gluvirt_config_complete(void)
{
    if (!target) {
        nbdkit_error("file= is missing: say which image to serve, "
                     "file=gluster://HOST/VOLUME/PATH, a local path, QEMU's json:{...} "
                     "or libvirt's <disk type='network'> element");
        return -1;
    }
    if (target[0] == '\0') {
        nbdkit_error("file= is empty: give a gluster URI or a local path");
        return -1;
    }
    if (is_json_target(target) || is_xml_target(target)) {
        target_uri = is_json_target(target) ? gluvirt_uri_from_qemu_json(target)
                                            : gluvirt_uri_from_libvirt_xml(target);
        if (!target_uri) {
            nbdkit_error("file=%s: %s", target, gluvirt_errmsg());
            return -1;
        }
    } else if (is_gluster_uri(target)) {
        gluvirt_uri *uri = gluvirt_uri_parse(target);

        if (!uri) {
            nbdkit_error("file=%s: %s", target, gluvirt_errmsg());
            return -1;
        }
        gluvirt_uri_free(uri);
    }
    if (snapshot && format == GLUVIRT_FORMAT_RAW) {
        nbdkit_error("snapshot=%s: raw images have no internal snapshots; add format=qcow2",
                     snapshot);
        return -1;
    }
    if (snapshot && snapshot[0] == '\0') {
        nbdkit_error("snapshot= is empty: give a snapshot's name or id "
                     "(qemu-img snapshot -l lists them), or leave it out");
        return -1;
    }
    return 0;
}

#define gluvirt_config_help                                                                \
    "file=TARGET        (required) a gluster URI, a local path, QEMU's json:{...}\n"      \
    "                   or libvirt's <disk type='network'> element\n"                     \
    "format=FORMAT      raw (default), qcow2, or probe (trust the header)\n"            \
    "backing=POLICY     which backing files a qcow2 image may name:\n"                    \
    "                   same-store (default), any, none\n"                                 \
    "snapshot=NAME      serve a qcow2 internal snapshot (read-only)\n"                     \
    "direct=BOOL        O_DIRECT where the storage allows it\n"                          \
    "force_share=BOOL   serve read-only even while another process (QEMU or\n"           \
    "                   gluvirt) writes the image, as qemu-img -U\n"                      \
    "log=LEVEL          the library's and gfapi's messages to pass on: none, error,\n"   \
    "                   warning (default), info, debug; errors as nbdkit errors,\n"     \
    "                   the rest as debug messages (nbdkit -v shows them)"

/* The library's messages, gfapi's among them, into nbdkit's log. */
static void log_to_nbdkit(int level, const char *message, void *opaque)
{
    (void)opaque;
    if (level == GLUVIRT_LOG_ERROR)
        nbdkit_error("%s", message);
    else
        nbdkit_debug("%s", message);
}

/* gfapi's threads are not carried over a fork: make the pool in the
 * process that serves (and the log handler first, so that the pool's
 * connections log through it). */
static int gluvirt_after_fork(void)
{
    if (log_level)
        gluvirt_set_log_handler(log_to_nbdkit, NULL, NULL, (gluvirt_log_level)log_level);
    if (!(pool = gluvirt_pool_new(NULL))) {
        library_error();
        return -1;
    }
    return 0;
}

static void gluvirt_cleanup(void)
{
    gluvirt_pool_free(pool);
    pool = NULL;
    gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_ERROR);
}

static gluvirt_image *open_image(int writable)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_format(options, format) == 0 &&
        gluvirt_open_options_set_backing(options, backing) == 0 &&
        gluvirt_open_options_set_writable(options, writable) == 0 &&
        gluvirt_open_options_set_direct(options, direct) == 0 &&
        gluvirt_open_options_set_force_share(options, force_share) == 0 &&
        (!snapshot || gluvirt_open_options_set_snapshot(options, snapshot) == 0))
        image = target_uri ? gluvirt_image_open_uri(pool, target_uri, options)
                           : gluvirt_image_open(pool, target, options);
    gluvirt_open_options_free(options);
    return image;
}

static void *gluvirt_open(int readonly)
{
    struct handle *h = calloc(1, sizeof *h);

    if (!h) {
        nbdkit_error("calloc: %m");
        return NULL;
    }
    h->writable = !readonly && !snapshot && !force_share;
    h->image = open_image(h->writable);
    if (!h->image && h->writable &&
        (gluvirt_errno() == EROFS || gluvirt_errno() == ENOTSUP)) {
        /* a qcow2 image this version does not write (snapshots, compressed
         * clusters ...) or one marked corrupt: export it read-only */
        nbdkit_debug("%s: %s; serving it read-only", target, gluvirt_errmsg());
        h->writable = 0;
        h->image = open_image(0);
    }
    if (!h->image) {
        library_error();
        free(h);
        return NULL;
    }
    return h;
}

static void gluvirt_close(void *handle)
{
    struct handle *h = handle;

    /* close flushes a writable image: a failure means lost writes */
    if (gluvirt_image_close(h->image) < 0)
        nbdkit_error("closing %s: %s", target, gluvirt_errmsg());
    free(h);
}

static int64_t gluvirt_get_size(void *handle)
{
    struct handle *h = handle;
    int64_t size = gluvirt_image_size(h->image);

    if (size < 0)
        library_error();
    return size;
}

static int gluvirt_can_write(void *handle)
{
    return ((struct handle *)handle)->writable;
}

/* Writable images flush (fsync) and discard; read-only ones accept a flush,
 * which has nothing to do. */
static int gluvirt_can_flush(void *handle)
{
    return 1;
}

static int gluvirt_can_trim(void *handle)
{
    return ((struct handle *)handle)->writable;
}

/* gluvirt_image_write_zeroes_flags zeroes in the format (qcow2 zero
 * clusters, unmapped or zero-filled ranges in a raw file): nbdkit is to call
 * it rather than write buffers of zeros. */
static int gluvirt_can_zero(void *handle)
{
    return ((struct handle *)handle)->writable;
}

/* A fast zero fails at once where zeroing would be no faster than writing:
 * GLUVIRT_REQ_NO_FALLBACK keeps that promise on every writable image (it
 * answers ENOTSUP, having changed nothing, for part clusters, qcow2 v2,
 * backing files that would show through, storage that would write zeros). */
static int gluvirt_can_fast_zero(void *handle)
{
    return ((struct handle *)handle)->writable;
}

/* FUA writes, zeroes and trims are durable when they complete: the library
 * flushes what they needed (GLUVIRT_REQ_FUA). */
static int gluvirt_can_fua(void *handle)
{
    return ((struct handle *)handle)->writable ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}

/* Several connections may read one image at once and see the same data;
 * writers each have their own file handle, whose flush says nothing about
 * the others' writes, so they get no multi-conn promise. */
static int gluvirt_can_multi_conn(void *handle)
{
    return !((struct handle *)handle)->writable;
}

/* Sizes that suit the image: any request of whole 512-byte sectors works;
 * whole clusters of a qcow2 image are best (a part cluster costs the
 * qcow2 writer a read-modify-write, a part L2 range a second lookup).
 * Raw images prefer 4 KiB, the page and sector size of the storage below.
 * The largest request is nbdkit's own limit (NBD's 32 MiB reads and
 * writes). */
#define MIN_BLOCK_SIZE 512
#define RAW_PREFERRED_BLOCK_SIZE 4096
#define MAX_PREFERRED_BLOCK_SIZE (32 * 1024 * 1024)

static int gluvirt_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
                              uint32_t *maximum)
{
    struct handle *h = handle;
    int64_t cluster = gluvirt_image_info_int(h->image, GLUVIRT_INFO_CLUSTER_SIZE);

    *minimum = MIN_BLOCK_SIZE;
    *preferred = RAW_PREFERRED_BLOCK_SIZE;
    /* qcow2 cluster sizes are powers of two from 512 B to 2 MiB */
    if (cluster >= MIN_BLOCK_SIZE && cluster <= MAX_PREFERRED_BLOCK_SIZE &&
        (cluster & (cluster - 1)) == 0)
        *preferred = (uint32_t)cluster;
    *maximum = 0xffffffff;
    return 0;
}

static int gluvirt_can_extents(void *handle)
{
    return 1;
}

static int gluvirt_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
                         uint32_t flags)
{
    struct handle *h = handle;

    while (count > 0) {
        ssize_t n = gluvirt_image_pread(h->image, buf, count, offset);

        if (n < 0) {
            library_error();
            return -1;
        }
        if (n == 0) {
            nbdkit_error("%s: read at %" PRIu64 " is past the end of the image", target,
                         offset);
            errno = EIO;
            return -1;
        }
        buf = (char *)buf + n;
        count -= (uint32_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static int gluvirt_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
                          uint32_t flags)
{
    struct handle *h = handle;

    if (gluvirt_image_pwrite_flags(h->image, buf, count, offset,
                                   (flags & NBDKIT_FLAG_FUA) ? GLUVIRT_REQ_FUA : 0) < 0) {
        library_error();
        return -1;
    }
    return 0;
}

static int gluvirt_flush(void *handle, uint32_t flags)
{
    struct handle *h = handle;

    if (gluvirt_image_flush(h->image) < 0) {
        library_error();
        return -1;
    }
    return 0;
}

static int gluvirt_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
    struct handle *h = handle;

    if (gluvirt_image_discard(h->image, offset, count) < 0 ||
        ((flags & NBDKIT_FLAG_FUA) && gluvirt_image_flush(h->image) < 0)) {
        library_error();
        return -1;
    }
    return 0;
}

static int gluvirt_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
    struct handle *h = handle;

    unsigned request = 0;

    if (flags & NBDKIT_FLAG_FUA)
        request |= GLUVIRT_REQ_FUA;
    if (flags & NBDKIT_FLAG_MAY_TRIM)
        request |= GLUVIRT_REQ_MAY_TRIM;
    if (flags & NBDKIT_FLAG_FAST_ZERO)
        request |= GLUVIRT_REQ_NO_FALLBACK;
    if (gluvirt_image_write_zeroes_flags(h->image, offset, count, request) < 0) {
        /* A fast zero refused is an answer, not a failure: the client
         * writes the zeros itself. */
        if (gluvirt_errno() == ENOTSUP && (flags & NBDKIT_FLAG_FAST_ZERO)) {
            nbdkit_debug("%s", gluvirt_errmsg());
            errno = ENOTSUP;
            return -1;
        }
        library_error();
        return -1;
    }
    return 0;
}

/* Block status as NBD wants it: a run that is not stored data is a hole,
 * and one that reads as zeros says so. */
static int gluvirt_extents(void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                           struct nbdkit_extents *extents)
{
    struct handle *h = handle;
    uint64_t end = offset + count;
    int runs = 0;

    while (offset < end && runs++ < MAX_RUNS_PER_REQUEST) {
        unsigned status = 0;
        int64_t n = gluvirt_image_block_status(h->image, offset, end - offset, &status, NULL,
                                               NULL);
        uint32_t type = 0;

        if (n < 0) {
            library_error();
            return -1;
        }
        if (n == 0)
            break;
        if (!(status & GLUVIRT_BLOCK_DATA))
            type |= NBDKIT_EXTENT_HOLE;
        if (status & GLUVIRT_BLOCK_ZERO)
            type |= NBDKIT_EXTENT_ZERO;
        if (nbdkit_add_extent(extents, offset, (uint64_t)n, type) < 0)
            return -1;
        offset += (uint64_t)n;
        if (flags & NBDKIT_FLAG_REQ_ONE)
            break;
    }
    return 0;
}

static struct nbdkit_plugin plugin = {
    .name = "gluvirt",
    .longname = "libgluvirt: raw and qcow2 images on gluster volumes",
    .version = GLUVIRT_VERSION,
    .description = "Serves a disk image on a gluster volume (or a local file) through "
                   "libgluvirt, without FUSE.",
    .unload = gluvirt_unload,
    .config = gluvirt_config,
    .config_complete = gluvirt_config_complete,
    .config_help = gluvirt_config_help,
    .magic_config_key = "file",
    .after_fork = gluvirt_after_fork,
    .cleanup = gluvirt_cleanup,
    .open = gluvirt_open,
    .close = gluvirt_close,
    .get_size = gluvirt_get_size,
    .can_write = gluvirt_can_write,
    .can_flush = gluvirt_can_flush,
    .can_trim = gluvirt_can_trim,
    .can_zero = gluvirt_can_zero,
    .can_fast_zero = gluvirt_can_fast_zero,
    .can_fua = gluvirt_can_fua,
    .can_multi_conn = gluvirt_can_multi_conn,
    .can_extents = gluvirt_can_extents,
    .block_size = gluvirt_block_size,
    .pread = gluvirt_pread,
    .pwrite = gluvirt_pwrite,
    .flush = gluvirt_flush,
    .trim = gluvirt_trim,
    .zero = gluvirt_zero,
    .extents = gluvirt_extents,
    .errno_is_preserved = 1,
};

NBDKIT_REGISTER_PLUGIN(plugin)

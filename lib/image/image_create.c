/*
 * Creating images: the options, the backing file check, the new file and
 * its preallocation.  The file is made through the storage interface
 * (glv_storage_gluster_create on a volume, glv_storage_local_create for a
 * local path), whose creation operations reserve blocks, set the owner and
 * remove the file again when creation fails; the qcow2 layout itself is
 * written by format/qcow2_create.c, which sees only that interface.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/qcow2_create.h"
#include "format/qcow2_format.h"
#include "image/image_internal.h"
#include "gluster/pool_internal.h"
#include "storage/storage.h"
#include "uri/uri_internal.h"

struct gluvirt_create_options {
    gluvirt_format format;
    unsigned cluster_bits;
    unsigned version;
    gluvirt_preallocation preallocation;
    char *backing_name;
    gluvirt_format backing_format;
    int overwrite;
    int64_t uid, gid;
};

/* ------------------------------------------------------------ options */

static int options_missing(const gluvirt_create_options *o, const char *call)
{
    if (o)
        return 0;
    glv_set_error(EINVAL, "%s: the options object is NULL", call);
    return -1;
}

static void set_defaults(gluvirt_create_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = GLUVIRT_FORMAT_RAW;
    o->cluster_bits = QCOW2_DEFAULT_CLUSTER_BITS;
    o->version = 3;
    o->preallocation = GLUVIRT_PREALLOC_OFF;
    o->backing_format = GLUVIRT_FORMAT_RAW;
    o->uid = o->gid = -1;
}

GLUVIRT_API gluvirt_create_options *gluvirt_create_options_new(void)
{
    gluvirt_create_options *o = malloc(sizeof *o);

    if (!o) {
        glv_set_oom();
        return NULL;
    }
    set_defaults(o);
    return o;
}

GLUVIRT_API void gluvirt_create_options_free(gluvirt_create_options *o)
{
    if (o)
        free(o->backing_name);
    free(o);
}

int glv_made_format(gluvirt_format format, gluvirt_format *out)
{
    if (format != GLUVIRT_FORMAT_RAW && format != GLUVIRT_FORMAT_QCOW2) {
        glv_set_error(EINVAL, "format %d: images are created and measured as raw or qcow2 "
                      "(GLUVIRT_FORMAT_RAW, GLUVIRT_FORMAT_QCOW2)", (int)format);
        return -1;
    }
    *out = format;
    return 0;
}

int glv_preallocation_mode(gluvirt_preallocation mode, gluvirt_preallocation *out)
{
    if (mode != GLUVIRT_PREALLOC_OFF && mode != GLUVIRT_PREALLOC_METADATA &&
        mode != GLUVIRT_PREALLOC_FALLOC && mode != GLUVIRT_PREALLOC_FULL) {
        glv_set_error(EINVAL, "preallocation %d is an unknown mode: use off, metadata, falloc "
                      "or full (GLUVIRT_PREALLOC_*)", (int)mode);
        return -1;
    }
    *out = mode;
    return 0;
}

GLUVIRT_API int gluvirt_create_options_set_format(gluvirt_create_options *o,
                                                  gluvirt_format format)
{
    if (options_missing(o, "gluvirt_create_options_set_format") < 0)
        return -1;
    return glv_made_format(format, &o->format);
}

GLUVIRT_API int gluvirt_create_options_set_cluster_size(gluvirt_create_options *o,
                                                        uint32_t bytes)
{
    if (options_missing(o, "gluvirt_create_options_set_cluster_size") < 0)
        return -1;
    return glv_qcow2_cluster_bits(bytes, &o->cluster_bits);
}

GLUVIRT_API int gluvirt_create_options_set_compat(gluvirt_create_options *o,
                                                  const char *compat)
{
    if (options_missing(o, "gluvirt_create_options_set_compat") < 0)
        return -1;
    return glv_qcow2_compat_version(compat, &o->version);
}

GLUVIRT_API int gluvirt_create_options_set_preallocation(gluvirt_create_options *o,
                                                         gluvirt_preallocation mode)
{
    if (options_missing(o, "gluvirt_create_options_set_preallocation") < 0)
        return -1;
    return glv_preallocation_mode(mode, &o->preallocation);
}

GLUVIRT_API int gluvirt_create_options_set_backing(gluvirt_create_options *o, const char *name,
                                                   gluvirt_format format)
{
    char *copy = NULL;

    if (options_missing(o, "gluvirt_create_options_set_backing") < 0)
        return -1;
    if (name && !*name) {
        glv_set_error(EINVAL, "gluvirt_create_options_set_backing: the backing file name is "
                      "empty (pass NULL for none)");
        return -1;
    }
    if (name && format != GLUVIRT_FORMAT_RAW && format != GLUVIRT_FORMAT_QCOW2) {
        glv_set_error(EINVAL, "gluvirt_create_options_set_backing: name the backing file's "
                      "format, raw or qcow2 (it is stored in the image, so it cannot be "
                      "probed)");
        return -1;
    }
    if (name && !(copy = strdup(name))) {
        glv_set_oom();
        return -1;
    }
    free(o->backing_name);
    o->backing_name = copy;
    o->backing_format = format;
    return 0;
}

GLUVIRT_API int gluvirt_create_options_set_overwrite(gluvirt_create_options *o, int overwrite)
{
    if (options_missing(o, "gluvirt_create_options_set_overwrite") < 0)
        return -1;
    o->overwrite = overwrite != 0;
    return 0;
}

GLUVIRT_API int gluvirt_create_options_set_owner(gluvirt_create_options *o, int64_t uid,
                                                 int64_t gid)
{
    if (options_missing(o, "gluvirt_create_options_set_owner") < 0)
        return -1;
    if (uid < -1 || gid < -1 || uid > (int64_t)UINT32_MAX - 1 || gid > (int64_t)UINT32_MAX - 1) {
        glv_set_error(EINVAL, "owner %" PRId64 ":%" PRId64 " is out of range (-1 keeps the "
                      "creator's)", uid, gid);
        return -1;
    }
    o->uid = uid;
    o->gid = gid;
    return 0;
}

/* ------------------------------------------------------------ the new file */

/* Reserve (falloc) or write (full) the range's blocks; where the storage
 * cannot, by writing zeros. */
static int preallocate_range(struct glv_storage *s, uint64_t offset, uint64_t length,
                             gluvirt_preallocation mode)
{
    int rc = 1;

    if (length == 0 || (mode != GLUVIRT_PREALLOC_FALLOC && mode != GLUVIRT_PREALLOC_FULL))
        return 0;
    if (s->ops->allocate)
        rc = s->ops->allocate(s, offset, length, mode == GLUVIRT_PREALLOC_FULL);
    return rc == 1 ? glv_storage_write_zero_buffers(s, offset, length) : rc;
}

static int change_owner(struct glv_storage *s, int64_t uid, int64_t gid)
{
    if (uid < 0 && gid < 0)
        return 0;
    if (!s->ops->chown)
        return glv_storage_owner_error(s, uid, gid, ENOTSUP);
    return s->ops->chown(s, uid, gid);
}

/* Put "what: " in front of the message of the error just recorded. */
static void prefix_error(const char *what)
{
    char message[1024];
    int err = gluvirt_errno();

    snprintf(message, sizeof message, "%s", gluvirt_errmsg());
    glv_set_error(err, "%s: %s", what, message);
}

/* ------------------------------------------------------------ backing file */

/* Open the backing file the way QEMU will find it, to check it exists and
 * is of the format named, and give its virtual size. */
static int check_backing(gluvirt_pool *pool, const gluvirt_uri *uri, const char *path,
                         const gluvirt_create_options *o, uint64_t *size)
{
    const char *name = o->backing_name;
    gluvirt_open_options *open = gluvirt_open_options_new();
    gluvirt_uri *where = NULL;
    char *local = NULL;
    gluvirt_image *image = NULL;
    int64_t got;
    int rc = -1;

    /* Read only for its size, beside whoever writes it, as QEMU does when it
     * makes an overlay of a disk in use (force-share). */
    if (!open || gluvirt_open_options_set_format(open, o->backing_format) < 0 ||
        gluvirt_open_options_set_force_share(open, 1) < 0)
        goto out;
    if (glv_uri_names_gluster(name)) {
        if (!(where = gluvirt_uri_parse(name)))
            goto out;
    } else if (glv_uri_has_protocol(name)) {
        glv_set_error(EINVAL, "backing file '%s': libgluvirt makes overlays of gluster URIs "
                      "and plain file names only", name);
        goto out;
    } else if (uri) {
        if (name[0] == '/') {
            glv_set_error(EINVAL, "backing file '%s' is an absolute path, which QEMU looks "
                          "for on the hypervisor's own disk, not on the volume; name it "
                          "relative to the image or by a gluster URI", name);
            goto out;
        }
        if (!(where = gluvirt_uri_dup(uri)))
            goto out;
        free(where->path);
        if (!(where->path = glv_backing_path(uri->path, name, 1)))
            goto out;
    } else if (!(local = glv_backing_path(path, name, 0))) {
        goto out;
    }
    image = where ? gluvirt_image_open_uri(pool, where, open) : gluvirt_image_open(NULL, local, open);
    if (!image) {
        struct glv_strbuf sb = {0};
        char *what;

        glv_strbuf_printf(&sb, "backing file '%s'", name);
        if ((what = glv_strbuf_finish(&sb)))
            prefix_error(what);
        free(what);
        goto out;
    }
    if ((got = gluvirt_image_size(image)) < 0)
        goto out;
    *size = (uint64_t)got;
    rc = 0;
out:
    gluvirt_image_close(image);
    gluvirt_open_options_free(open);
    gluvirt_uri_free(where);
    free(local);
    return rc;
}

/* ------------------------------------------------------------ creating */

static int check_combination(const gluvirt_create_options *o, const char *name)
{
    int raw = o->format == GLUVIRT_FORMAT_RAW;

    if (raw && o->preallocation == GLUVIRT_PREALLOC_METADATA) {
        glv_set_error(EINVAL, "%s: a raw image has no metadata to preallocate; use "
                      "preallocation falloc or full", name);
        return -1;
    }
    if (raw && o->backing_name) {
        glv_set_error(EINVAL, "%s: a raw image cannot have a backing file; create a qcow2 "
                      "overlay", name);
        return -1;
    }
    if (o->backing_name && o->preallocation != GLUVIRT_PREALLOC_OFF) {
        glv_set_error(EINVAL, "%s: preallocation and a backing file exclude each other: "
                      "preallocated clusters would hide the backing file's data", name);
        return -1;
    }
    return 0;
}

static const char *backing_format_name(const gluvirt_create_options *o)
{
    if (!o->backing_name)
        return NULL;
    return o->backing_format == GLUVIRT_FORMAT_QCOW2 ? "qcow2" : "raw";
}

/* What the qcow2 writer needs of the options, for an image of size bytes. */
static struct glv_qcow2_create_params qcow2_params(const gluvirt_create_options *o,
                                                   uint64_t size)
{
    struct glv_qcow2_create_params p = {size, o->cluster_bits, o->version, o->backing_name,
                                        backing_format_name(o),
                                        o->preallocation != GLUVIRT_PREALLOC_OFF};

    return p;
}

/* Write the format into the new file and preallocate. */
static int fill_image(struct glv_storage *s, const gluvirt_create_options *o, uint64_t size)
{
    uint64_t data_offset = 0, data_length = size;

    if (o->format == GLUVIRT_FORMAT_QCOW2) {
        struct glv_qcow2_create_params p = qcow2_params(o, size);

        if (glv_qcow2_create(s, &p, &data_offset, &data_length) < 0)
            return -1;
    } else if (s->ops->truncate(s, size) < 0) {
        return -1;
    }
    if (preallocate_range(s, data_offset, data_length, o->preallocation) < 0)
        return -1;
    return s->ops->flush(s);
}

static int create_image(gluvirt_pool *pool, const gluvirt_uri *uri, const char *path,
                        uint64_t size, const gluvirt_create_options *o)
{
    gluvirt_create_options defaults;
    gluvirt_pool *own_pool = NULL;
    gluvirt_connection *connection = NULL;
    struct glv_storage *s;
    char *name = NULL;
    int rc = -1;

    if (!o) {
        set_defaults(&defaults);
        o = &defaults;
    }
    /* For messages: the URI, "VOLUME/PATH" when several servers make it up,
     * or the local path. */
    if (uri && uri->server_count == 1)
        name = gluvirt_uri_format(uri);
    else if ((uri ? asprintf(&name, "%s/%s", uri->volume, uri->path)
                  : asprintf(&name, "%s", path)) < 0)
        name = NULL;
    if (!name) {
        glv_set_oom();
        return -1;
    }
    if (check_combination(o, name) < 0)
        goto out;
    if ((uri || o->backing_name) && !pool && !(pool = own_pool = gluvirt_pool_new(NULL)))
        goto out;
    if (uri && !(connection = gluvirt_pool_connect(pool, uri)))
        goto out;
    if (o->backing_name) {
        uint64_t backing_size;

        if (check_backing(pool, uri, path, o, &backing_size) < 0)
            goto out;
        if (size == GLUVIRT_CREATE_SIZE_OF_BACKING)
            size = backing_size;
    }
    if (size == GLUVIRT_CREATE_SIZE_OF_BACKING) {
        glv_set_error(EINVAL, "%s: no size given and no backing file to take it from", name);
        goto out;
    }
    if (size > (uint64_t)INT64_MAX - 511) {
        glv_set_error(EINVAL, "%s: %" PRIu64 " bytes is larger than an image can be", name,
                      size);
        goto out;
    }
    size = (size + 511) & ~(uint64_t)511;
    if (o->format == GLUVIRT_FORMAT_QCOW2) {
        uint64_t unused_offset, unused_length;

        /* Refuse what cannot be an image before a file exists. */
        struct glv_qcow2_create_params p = qcow2_params(o, size);

        if (glv_qcow2_create(NULL, &p, &unused_offset, &unused_length) < 0) {
            prefix_error(name);
            goto out;
        }
    }
    s = uri ? glv_storage_gluster_create(pool, uri, name, o->overwrite)
            : glv_storage_local_create(path, o->overwrite);
    if (!s)
        goto out;
    if (change_owner(s, o->uid, o->gid) < 0 || fill_image(s, o, size) < 0)
        s->ops->remove(s);
    else
        rc = 0;
    s->ops->close(s);
out:
    gluvirt_connection_release(connection);
    gluvirt_pool_free(own_pool);
    free(name);
    return rc;
}

GLUVIRT_API int gluvirt_image_create_uri(gluvirt_pool *pool, const gluvirt_uri *uri,
                                         uint64_t size, const gluvirt_create_options *options)
{
    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_image_create_uri: the URI is NULL");
        return -1;
    }
    return create_image(pool, uri, NULL, size, options);
}

GLUVIRT_API int gluvirt_image_create(gluvirt_pool *pool, const char *target, uint64_t size,
                                     const gluvirt_create_options *options)
{
    gluvirt_uri *uri;
    int rc;

    if (!target || !*target) {
        glv_set_error(EINVAL, "gluvirt_image_create: no target given");
        return -1;
    }
    if (!glv_uri_names_gluster(target))
        return create_image(pool, NULL, target, size, options);
    if (!(uri = gluvirt_uri_parse(target)))
        return -1;
    rc = create_image(pool, uri, NULL, size, options);
    gluvirt_uri_free(uri);
    return rc;
}

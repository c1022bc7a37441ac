/*
 * Backing files and external data files: turning the names an image stores
 * into files to open, under the caller's policy.
 *
 * A name an image stores is written by whoever made the image, possibly a
 * guest or a stranger; it must not lead the host to files the caller did not
 * mean to expose.  By default a name may only lead to the same store: a
 * relative name resolves against the image's own directory (on the same
 * volume, or locally), and a gluster URI must name the same volume through
 * the same servers.  An absolute host path under an image on gluster,
 * "json:" and "file:" names, other volumes and other protocols are refused
 * unless the caller allows any backing file.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image_internal.h"
#include "uri/uri_internal.h"

/* ------------------------------------------------------------ names */

/* dir/name, with "." and ".." folded when fold is set (on a volume; local
 * paths keep their ".."); NULL with EINVAL when ".." climbs above the root
 * or nothing but the directory is left.  dir may be "" (the current
 * directory, or the volume's root). */
static char *join_path(const char *dir, const char *name, int fold)
{
    struct glv_strbuf sb = {0};
    const char *p;

    glv_strbuf_puts(&sb, dir);
    if (*dir && dir[strlen(dir) - 1] != '/')
        glv_strbuf_putc(&sb, '/');
    if (!fold) {
        glv_strbuf_puts(&sb, name);
        return glv_strbuf_finish(&sb);
    }
    for (p = name; *p;) {
        size_t n = strcspn(p, "/");

        if ((n == 1 && p[0] == '.') || n == 0) {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *cut;

            if (sb.len == 0 || sb.failed) {
                glv_strbuf_release(&sb);
                glv_set_error(EINVAL, "backing file name '%s' leads above the volume's root",
                              name);
                return NULL;
            }
            sb.data[--sb.len] = '\0'; /* the trailing '/' */
            cut = strrchr(sb.data, '/');
            sb.len = cut ? (size_t)(cut - sb.data) + 1 : 0;
            sb.data[sb.len] = '\0';
        } else {
            glv_strbuf_append(&sb, p, n);
            glv_strbuf_putc(&sb, '/');
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (sb.len > 0 && !sb.failed)
        sb.data[--sb.len] = '\0';
    if (sb.len == 0 && !sb.failed) {
        glv_strbuf_release(&sb);
        glv_set_error(EINVAL, "backing file name '%s' names a directory", name);
        return NULL;
    }
    return glv_strbuf_finish(&sb);
}

/* The directory part of path ("" when it has none), as a new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *dir = malloc(n + 1);

    if (!dir) {
        glv_set_oom();
        return NULL;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return dir;
}

char *glv_backing_path(const char *image_path, const char *name, int on_volume)
{
    char *dir, *path;

    if (!on_volume && name[0] == '/') {
        if (!(path = strdup(name)))
            glv_set_oom();
        return path;
    }
    if (!(dir = dir_of(image_path)))
        return NULL;
    path = join_path(dir, name, on_volume);
    free(dir);
    return path;
}

static int same_servers(const gluvirt_uri *a, const gluvirt_uri *b)
{
    gluvirt_uri *a2, *b2;
    int same;

    /* Compare everything but the path. */
    if (!(a2 = gluvirt_uri_dup(a)) || !(b2 = gluvirt_uri_dup(b))) {
        gluvirt_uri_free(a2);
        return -1;
    }
    free(a2->path);
    free(b2->path);
    a2->path = strdup("x");
    b2->path = strdup("x");
    same = a2->path && b2->path ? gluvirt_uri_equal(a2, b2) : -1;
    gluvirt_uri_free(a2);
    gluvirt_uri_free(b2);
    return same;
}

/* Where a name leads: a gluster URI (*uri) or a local path (*path). */
struct resolved {
    gluvirt_uri *uri;
    char *path;
    char *display; /* what info calls the full backing name */
};

static void resolved_release(struct resolved *r)
{
    gluvirt_uri_free(r->uri);
    free(r->path);
    free(r->display);
}

static int refuse(const gluvirt_image *image, const char *what, const char *name,
                  const char *why)
{
    glv_set_error(EPERM, "%s names %s '%s', which %s; libgluvirt opens only files in the "
                  "image's own store unless the caller allows any "
                  "(gluvirt_open_options_set_backing GLUVIRT_BACKING_ANY)", image->name, what,
                  name, why);
    return -1;
}

static int resolve_name(const gluvirt_image *image, const char *what, const char *name,
                        gluvirt_backing_policy policy, struct resolved *out)
{
    int any = policy == GLUVIRT_BACKING_ANY;
    struct stat st;

    memset(out, 0, sizeof *out);
    if (!*name) {
        glv_set_error(EINVAL, "%s names an empty %s", image->name, what);
        return -1;
    }
    if (glv_uri_names_gluster(name)) {
        int same;

        if (!(out->uri = gluvirt_uri_parse(name)))
            return -1;
        same = image->uri && !strcmp(image->uri->volume, out->uri->volume)
                   ? same_servers(image->uri, out->uri) : 0;
        if (same < 0)
            goto fail;
        if (!same && !any) {
            refuse(image, what, name, "is on another volume or server");
            goto fail;
        }
        if (!(out->display = strdup(name)))
            goto oom;
        return 0;
    }
    if (!strncmp(name, "file:", 5) && any && !strchr(name + 5, ':'))
        name += 5; /* a plain local path after all */
    else if (glv_uri_has_protocol(name)) {
        if (!any)
            return refuse(image, what, name, "is not a plain file name");
        glv_set_error(ENOTSUP, "%s names %s '%s': libgluvirt opens gluster URIs and local "
                      "paths only", image->name, what, name);
        return -1;
    }
    if (image->uri && name[0] != '/') {
        /* Relative to the image's directory on the same volume. */
        out->uri = gluvirt_uri_dup(image->uri);
        if (out->uri) {
            free(out->uri->path);
            out->uri->path = glv_backing_path(image->uri->path, name, 1);
        }
        if (!out->uri || !out->uri->path)
            goto fail;
        if (glv_uri_path_problem(out->uri->path)) {
            glv_set_error(EINVAL, "%s names %s '%s': %s", image->name, what, name,
                          glv_uri_path_problem(out->uri->path));
            goto fail;
        }
        if (!(out->display = gluvirt_uri_format(out->uri)))
            goto fail;
        return 0;
    }
    if (image->uri && !any)
        return refuse(image, what, name, "is a path on the host, outside the image's volume");
    if (!(out->path = glv_backing_path(image->name, name, 0)))
        goto fail;
    if (!(out->display = strdup(out->path)))
        goto oom;
    /* A device or a FIFO named by an image could block or read endlessly. */
    if (stat(out->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        glv_set_error(EINVAL, "%s names %s '%s', which is not a regular file or block "
                      "device", image->name, what, name);
        goto fail;
    }
    return 0;
oom:
    glv_set_oom();
fail:
    resolved_release(out);
    return -1;
}

/* ------------------------------------------------------------ backing files */

static int backing_format(const gluvirt_image *image, const char *name, gluvirt_format *out)
{
    const char *fmt = image->format->backing_format;

    if (fmt && !strcmp(fmt, "qcow2")) {
        *out = GLUVIRT_FORMAT_QCOW2;
        return 0;
    }
    if (fmt && !strcmp(fmt, "raw")) {
        *out = GLUVIRT_FORMAT_RAW;
        return 0;
    }
    if (fmt) {
        glv_set_error(ENOTSUP, "%s: backing file '%s' is in format '%s', which libgluvirt "
                      "cannot read (it reads raw and qcow2)", image->name, name, fmt);
        return -1;
    }
    glv_set_error(EINVAL, "%s names backing file '%s' without saying its format, and guessing "
                  "it from the file's first bytes would let data written into a raw file "
                  "change how it is read; record the format with 'qemu-img rebase -u -b %s "
                  "-F raw|qcow2 IMAGE', or open with GLUVIRT_FORMAT_PROBE", image->name, name,
                  name);
    return -1;
}

/* The format's backing reader: the backing image's bytes, zeros past its end. */
static int read_backing(void *arg, const struct iovec *iov, int iovcnt, uint64_t offset)
{
    ssize_t got = gluvirt_image_preadv(arg, iov, iovcnt, offset);

    if (got < 0)
        return -1;
    glv_iov_zero(iov, iovcnt, (uint64_t)got);
    return 0;
}

int glv_image_open_backing(gluvirt_image *image, const struct glv_open_context *ctx)
{
    const char *name = image->format->backing_name;
    const struct glv_open_context *c;
    struct resolved r;
    gluvirt_format format;
    gluvirt_image *backing;

    if (!name || ctx->options->backing == GLUVIRT_BACKING_NONE)
        return 0;
    for (c = ctx->parent; c; c = c->parent) {
        if (!strcmp(c->image->identity, image->identity)) {
            glv_set_error(ELOOP, "%s: the backing chain comes back to this file (a loop); "
                          "fix it with 'qemu-img rebase -u'", image->name);
            return -1;
        }
    }
    if (ctx->depth >= GLV_MAX_BACKING_DEPTH) {
        glv_set_error(ELOOP, "%s: the backing chain is deeper than %d files; flatten it with "
                      "'qemu-img convert' or 'qemu-img rebase'", image->name,
                      GLV_MAX_BACKING_DEPTH);
        return -1;
    }
    if (ctx->options->format == GLUVIRT_FORMAT_PROBE && !image->format->backing_format)
        format = GLUVIRT_FORMAT_PROBE;
    else if (backing_format(image, name, &format) < 0)
        return -1;
    if (resolve_name(image, "backing file", name, ctx->options->backing, &r) < 0)
        return -1;
    backing = glv_image_open_in_chain(image->pool, r.uri, r.uri ? NULL : r.path, format, ctx);
    if (!backing) {
        char *inner = strdup(gluvirt_errmsg());
        int err = gluvirt_errno();

        glv_set_error(err, "cannot open the backing file of %s: %s", image->name,
                      inner ? inner : "out of memory");
        free(inner);
        resolved_release(&r);
        return -1;
    }
    image->backing_full_name = r.display;
    r.display = NULL;
    resolved_release(&r);
    image->backing = backing;
    image->format->backing = (struct glv_backing_reader){read_backing, backing};
    return 0;
}

/* ------------------------------------------------------------ data files */

static struct glv_storage *open_sibling(void *arg, const char *name, int writable)
{
    const struct glv_open_context *ctx = arg;
    const gluvirt_image *image = ctx->image;
    struct glv_storage_flags flags = {writable, ctx->options->direct};
    struct glv_storage *s;
    struct resolved r;
    gluvirt_backing_policy policy = ctx->options->backing;

    if (resolve_name(image, "data file", name,
                     policy == GLUVIRT_BACKING_NONE ? GLUVIRT_BACKING_SAME_STORE : policy,
                     &r) < 0)
        return NULL;
    s = r.uri ? glv_storage_gluster_open(image->pool, r.uri, flags)
              : glv_storage_local_open(r.path, flags);
    if (s && glv_image_lock(s, s->name, ctx->options, writable, 0) < 0) {
        s->ops->close(s);
        s = NULL;
    }
    resolved_release(&r);
    return s;
}

struct glv_sibling_opener glv_image_sibling_opener(struct glv_open_context *ctx)
{
    struct glv_sibling_opener o = {open_sibling, ctx};

    return o;
}

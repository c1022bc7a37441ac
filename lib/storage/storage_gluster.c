/*
 * The gluster storage backend: an image file on a volume, through a pooled
 * gfapi client.  Requests above GLV_STORAGE_MAX_TRANSFER are split; short
 * reads at the end of the file read as zeros; a failed fsync makes every
 * later write and flush fail, since write-behind may have lost data.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gluster/pool_internal.h"
#include "storage/storage.h"
#include "uri/uri_internal.h"

struct gluster_storage {
    struct glv_storage base;
    gluvirt_pool *own_pool; /* when the caller gave none */
    gluvirt_connection *connection;
    glfs_fd_t *fd;
    int wrote;
};

static struct gluster_storage *gs(struct glv_storage *s)
{
    return (struct gluster_storage *)s;
}

static ssize_t gluster_move(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                            uint64_t offset, int writing)
{
    return writing ? glfs_pwritev(gs(s)->fd, iov, iovcnt, (off_t)offset, 0)
                   : glfs_preadv(gs(s)->fd, iov, iovcnt, (off_t)offset, 0);
}

static int gluster_preadv(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                          uint64_t offset)
{
    return glv_storage_transfer(s, iov, iovcnt, offset, 0, gluster_move);
}

static int gluster_pwritev(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                           uint64_t offset)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    return glv_storage_transfer(s, iov, iovcnt, offset, 1, gluster_move);
}

static int gluster_flush(struct glv_storage *s)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    errno = 0;
    if (glfs_fsync(gs(s)->fd, NULL, NULL) < 0) {
        __atomic_store_n(&s->flush_failed, 1, __ATOMIC_RELAXED);
        return glv_storage_io_error(s, "flush of", 0, errno);
    }
    return 0;
}

static int gluster_discard(struct glv_storage *s, uint64_t offset, uint64_t length)
{
    while (length > 0) {
        uint64_t piece = length > GLV_STORAGE_MAX_TRANSFER ? GLV_STORAGE_MAX_TRANSFER : length;

        errno = 0;
        if (glfs_discard(gs(s)->fd, (off_t)offset, (size_t)piece) < 0) {
            if (errno == EOPNOTSUPP || errno == ENOSYS)
                return 0; /* discard is a hint: the data may simply stay */
            return glv_storage_io_error(s, "cannot discard", offset, errno);
        }
        offset += piece;
        length -= piece;
    }
    return 0;
}

static int gluster_write_zeroes(struct glv_storage *s, uint64_t offset, uint64_t length)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    errno = 0;
    if (glfs_zerofill(gs(s)->fd, (off_t)offset, (off_t)length) == 0)
        return 0;
    if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
        return glv_storage_write_zero_buffers(s, offset, length);
    return glv_storage_io_error(s, "cannot write zeroes to", offset, errno);
}

static int gluster_truncate(struct glv_storage *s, uint64_t size)
{
    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    errno = 0;
    if (glfs_ftruncate(gs(s)->fd, (off_t)size, NULL, NULL) < 0)
        return glv_storage_io_error(s, "cannot resize", size, errno);
    return 0;
}

static int64_t gluster_size(struct glv_storage *s)
{
    struct stat st;

    errno = 0;
    if (glfs_fstat(gs(s)->fd, &st) < 0)
        return glv_storage_io_error(s, "cannot stat", 0, errno);
    return (int64_t)st.st_size;
}

static int64_t gluster_seek(struct glv_storage *s, uint64_t offset, int whence)
{
    return (int64_t)glfs_lseek(gs(s)->fd, (off_t)offset, whence);
}

static int gluster_extent(struct glv_storage *s, uint64_t offset, uint64_t length, int *data,
                          uint64_t *run)
{
    return glv_storage_extent_by_seek(s, offset, length, data, run, gluster_seek);
}

static int64_t gluster_allocated(struct glv_storage *s)
{
    struct stat st;

    errno = 0;
    if (glfs_fstat(gs(s)->fd, &st) < 0)
        return glv_storage_io_error(s, "cannot stat", 0, errno);
    return (int64_t)st.st_blocks * 512;
}

static void gluster_close(struct glv_storage *s)
{
    struct gluster_storage *g = gs(s);

    if (g->fd)
        glfs_close(g->fd);
    if (__atomic_load_n(&g->wrote, __ATOMIC_RELAXED))
        glv_connection_note_write(g->connection);
    gluvirt_connection_release(g->connection);
    gluvirt_pool_free(g->own_pool);
    free(s->name);
    free(g);
}

struct aio_context {
    void (*done)(void *arg, int64_t result);
    void *arg;
};

/* Runs on a gfapi thread: hand the result on and return at once. */
static void aio_finished(glfs_fd_t *fd, ssize_t ret, struct glfs_stat *prestat,
                         struct glfs_stat *poststat, void *data)
{
    struct aio_context ctx = *(struct aio_context *)data;
    int64_t result = ret >= 0 ? (int64_t)ret : -(int64_t)(errno ? errno : EIO);

    (void)fd;
    (void)prestat;
    (void)poststat;
    free(data);
    ctx.done(ctx.arg, result);
}

static int aio_start(struct glv_storage *s, const struct iovec *iov, int iovcnt, uint64_t offset,
                     void (*done)(void *arg, int64_t result), void *arg, int writing)
{
    struct aio_context *ctx = malloc(sizeof *ctx);
    int rc;

    if (!ctx) {
        glv_set_oom();
        return -1;
    }
    ctx->done = done;
    ctx->arg = arg;
    errno = 0;
    rc = writing ? glfs_pwritev_async(gs(s)->fd, iov, iovcnt, (off_t)offset, 0, aio_finished, ctx)
                 : glfs_preadv_async(gs(s)->fd, iov, iovcnt, (off_t)offset, 0, aio_finished, ctx);
    if (rc < 0) {
        free(ctx);
        return glv_storage_io_error(s, writing ? "cannot start a write to" : "cannot start a read from",
                        offset, errno);
    }
    return 0;
}

static int gluster_aio_preadv(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                              uint64_t offset, void (*done)(void *arg, int64_t result), void *arg)
{
    return aio_start(s, iov, iovcnt, offset, done, arg, 0);
}

static int gluster_aio_pwritev(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                               uint64_t offset, void (*done)(void *arg, int64_t result), void *arg)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    return aio_start(s, iov, iovcnt, offset, done, arg, 1);
}

static const struct glv_storage_ops gluster_ops = {
    .aio_preadv = gluster_aio_preadv,
    .aio_pwritev = gluster_aio_pwritev,
    .preadv = gluster_preadv,
    .pwritev = gluster_pwritev,
    .flush = gluster_flush,
    .discard = gluster_discard,
    .write_zeroes = gluster_write_zeroes,
    .truncate = gluster_truncate,
    .size = gluster_size,
    .allocated = gluster_allocated,
    .extent = gluster_extent,
    .close = gluster_close,
};

static void set_open_error(const gluvirt_uri *uri, int err)
{
    switch (err) {
    case ENOENT:
        glv_set_error(ENOENT, "image '%s' does not exist on volume '%s'", uri->path, uri->volume);
        break;
    case EACCES:
    case EPERM:
        glv_set_error(err, "image '%s' on volume '%s': permission denied; check the file's owner "
                      "and mode, or the volume's storage.owner-uid/gid", uri->path, uri->volume);
        break;
    case EISDIR:
        glv_set_error(EISDIR, "'%s' on volume '%s' is a directory, not an image", uri->path,
                      uri->volume);
        break;
    default:
        glv_set_error(err ? err : EIO, "cannot open image '%s' on volume '%s': %s", uri->path,
                      uri->volume, strerror(err ? err : EIO));
    }
}

struct glv_storage *glv_storage_gluster_open(gluvirt_pool *pool, const gluvirt_uri *uri,
                                             struct glv_storage_flags flags)
{
    struct gluster_storage *g = calloc(1, sizeof *g);
    struct stat st;

    if (!g) {
        glv_set_oom();
        return NULL;
    }
    g->base.ops = &gluster_ops;
    g->base.writable = flags.writable;
    if (!pool && !(pool = g->own_pool = gluvirt_pool_new(NULL)))
        goto fail;
    if (!(g->connection = gluvirt_pool_connect(pool, uri)))
        goto fail;
    if (uri->server_count == 1 && (g->base.name = gluvirt_uri_format(uri)) == NULL)
        goto fail;
    if (!g->base.name && !(g->base.name = strdup(uri->path))) {
        glv_set_oom();
        goto fail;
    }
    errno = 0;
    g->fd = glfs_open(glv_connection_glfs(g->connection), uri->path,
                      (flags.writable ? O_RDWR : O_RDONLY) | (flags.direct ? O_DIRECT : 0));
    if (!g->fd) {
        set_open_error(uri, errno);
        goto fail;
    }
    if (glfs_fstat(g->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        set_open_error(uri, EISDIR);
        goto fail;
    }
    return &g->base;
fail:
    gluster_close(&g->base);
    return NULL;
}

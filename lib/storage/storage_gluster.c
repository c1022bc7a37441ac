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
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gluster/pool_internal.h"
#include "storage/storage.h"
#include "uri/uri_internal.h"

struct gluster_storage {
    struct glv_storage base;
    gluvirt_pool *own_pool; /* when the caller gave none */
    gluvirt_connection *connection;
    glfs_fd_t *fd;
    char *path;             /* on the volume: for remove */
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

/* A hole punched on the bricks (glfs_discard) reads as zeros; glfs_zerofill
 * may write zeros on a brick whose file system cannot zero a range, which
 * the client cannot see, so only the hole is a fast zeroing. */
static int gluster_write_zeroes(struct glv_storage *s, uint64_t offset, uint64_t length,
                                unsigned flags)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    if (flags & GLV_ZERO_MAY_TRIM) {
        uint64_t done = 0;

        while (done < length) {
            uint64_t piece = length - done > GLV_STORAGE_MAX_TRANSFER ? GLV_STORAGE_MAX_TRANSFER
                                                                      : length - done;

            errno = 0;
            if (glfs_discard(gs(s)->fd, (off_t)(offset + done), (size_t)piece) < 0)
                break;
            done += piece;
        }
        if (done == length)
            return 0;
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return glv_storage_io_error(s, "cannot write zeroes to", offset + done, errno);
        offset += done;
        length -= done;
    }
    if (flags & GLV_ZERO_NO_FALLBACK)
        return glv_storage_no_fast_zero(s, "the volume zeroes a range by writing zeros where "
                                           "its bricks cannot punch a hole");
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

    if (g->fd) {
        glv_storage_unlock(s);
        glfs_close(g->fd);
    }
    if (__atomic_load_n(&g->wrote, __ATOMIC_RELAXED))
        glv_connection_note_write(g->connection);
    gluvirt_connection_release(g->connection);
    gluvirt_pool_free(g->own_pool);
    free(g->path);
    free(s->name);
    free(g);
}

/* ------------------------------------------------------------ creation */

/* Ranges handed to one gfapi fallocate or zerofill call. */
#define ALLOCATE_CHUNK (256ull << 20)

static int unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == ENOTTY;
}

/* gfapi's fallocate (reserve) or zerofill (zero), in pieces. */
static int gluster_allocate(struct glv_storage *s, uint64_t offset, uint64_t length, int zero)
{
    uint64_t done = 0;

    __atomic_store_n(&gs(s)->wrote, 1, __ATOMIC_RELAXED);
    while (done < length) {
        uint64_t piece = length - done < ALLOCATE_CHUNK ? length - done : ALLOCATE_CHUNK;
        int rc;

        errno = 0;
        rc = zero ? glfs_zerofill(gs(s)->fd, (off_t)(offset + done), (off_t)piece)
                  : glfs_fallocate(gs(s)->fd, 0, (off_t)(offset + done), (size_t)piece);
        if (rc < 0) {
            if (done == 0 && unsupported(errno))
                return 1;
            return glv_storage_io_error(s, zero ? "cannot zero-fill" : "cannot allocate",
                                        offset + done, errno);
        }
        done += piece;
    }
    return 0;
}

static int gluster_chown(struct glv_storage *s, int64_t uid, int64_t gid)
{
    errno = 0;
    if (glfs_fchown(gs(s)->fd, (uid_t)uid, (gid_t)gid) < 0)
        return glv_storage_owner_error(s, uid, gid, errno);
    return 0;
}

static void gluster_remove(struct glv_storage *s)
{
    struct gluster_storage *g = gs(s);

    __atomic_store_n(&g->wrote, 1, __ATOMIC_RELAXED);
    glfs_unlink(glv_connection_glfs(g->connection), g->path);
}

/* ------------------------------------------------------------ locking */

/* The bricks' byte-range locks (features/locks).  A lock belongs to a
 * client and a lock owner: every open gets an owner of its own
 * (gluster_open), so that two opens through one pooled connection conflict
 * like two processes.  The bricks drop a client's locks when it unlocks,
 * closes the file, or its connection goes (at once when the process dies;
 * when its host is lost, once the brick's TCP keepalive gives up:
 * server.keepalive-time + interval x count, 38 s by default). */
static int gluster_lock_range(struct glv_storage *s, uint64_t start, uint64_t length, int take)
{
    struct flock fl = {.l_type = take ? F_RDLCK : F_UNLCK, .l_whence = SEEK_SET,
                       .l_start = (off_t)start, .l_len = (off_t)length, .l_pid = getpid()};

    errno = 0;
    if (glfs_posix_lock(gs(s)->fd, F_SETLK, &fl) == 0)
        return 0;
    if (!errno)
        errno = EIO;
    return -1;
}

static int gluster_lock_test(struct glv_storage *s, uint64_t start, uint64_t length,
                             int64_t *holder)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)start,
                       .l_len = (off_t)length, .l_pid = getpid()};

    errno = 0;
    if (glfs_posix_lock(gs(s)->fd, F_GETLK, &fl) < 0) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    /* The holder's l_pid is the one it sent: its process id on its host. */
    *holder = fl.l_type != F_UNLCK && fl.l_pid > 0 ? fl.l_pid : 0;
    return fl.l_type != F_UNLCK;
}

/* A lock owner no other open of this process shares: the process id, this
 * storage's address, and a count against address reuse.  (Opens from other
 * processes or pools are other clients to the bricks anyway.) */
static int set_lock_owner(struct gluster_storage *g)
{
    static uint64_t opens;
    uint64_t owner[3] = {(uint64_t)getpid(), (uint64_t)(uintptr_t)g,
                         __atomic_add_fetch(&opens, 1, __ATOMIC_RELAXED)};

    errno = 0;
    return glfs_fd_set_lkowner(g->fd, owner, (int)sizeof owner);
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
    .allocate = gluster_allocate,
    .chown = gluster_chown,
    .remove = gluster_remove,
    .lock_range = gluster_lock_range,
    .lock_test = gluster_lock_test,
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

/* A storage on the connection of pool (or a pool of its own) for uri, with
 * no file yet; NULL with the error set. */
static struct gluster_storage *gluster_new(gluvirt_pool *pool, const gluvirt_uri *uri,
                                           int writable)
{
    struct gluster_storage *g = calloc(1, sizeof *g);

    if (!g) {
        glv_set_oom();
        return NULL;
    }
    g->base.ops = &gluster_ops;
    g->base.writable = writable;
    if (!pool && !(pool = g->own_pool = gluvirt_pool_new(NULL)))
        goto fail;
    if (!(g->connection = gluvirt_pool_connect(pool, uri)))
        goto fail;
    if (!(g->path = strdup(uri->path))) {
        glv_set_oom();
        goto fail;
    }
    return g;
fail:
    gluster_close(&g->base);
    return NULL;
}

struct glv_storage *glv_storage_gluster_open(gluvirt_pool *pool, const gluvirt_uri *uri,
                                             struct glv_storage_flags flags)
{
    struct gluster_storage *g = gluster_new(pool, uri, flags.writable);
    struct stat st;

    if (!g)
        return NULL;
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
    if (set_lock_owner(g) < 0) {
        glv_set_error(errno ? errno : EIO, "cannot give the open of %s a lock owner: %s",
                      g->base.name, strerror(errno ? errno : EIO));
        goto fail;
    }
    return &g->base;
fail:
    gluster_close(&g->base);
    return NULL;
}

struct glv_storage *glv_storage_gluster_create(gluvirt_pool *pool, const gluvirt_uri *uri,
                                               const char *name, int overwrite)
{
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
    struct gluster_storage *g = gluster_new(pool, uri, 1);
    struct stat st;

    if (!g)
        return NULL;
    if (!(g->base.name = strdup(name))) {
        glv_set_oom();
        goto fail;
    }
    errno = 0;
    g->fd = glfs_creat(glv_connection_glfs(g->connection), uri->path, flags, 0644);
    if (!g->fd) {
        glv_storage_create_error(name, 1, errno, overwrite);
        goto fail;
    }
    /* A file was made (or emptied): replication has work to finish. */
    g->wrote = 1;
    /* On a sharded volume gfapi's O_TRUNC leaves the size and the shards
     * past the first: truncate for real. */
    if (overwrite && glfs_ftruncate(g->fd, 0, NULL, NULL) < 0) {
        glv_storage_create_error(name, 1, errno, overwrite);
        goto fail;
    }
    if (glfs_fstat(g->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        glv_set_error(EINVAL, "%s is not a regular file; images are created as plain files",
                      name);
        goto fail;
    }
    return &g->base;
fail:
    gluster_close(&g->base);
    return NULL;
}

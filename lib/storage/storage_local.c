/*
 * The local-file storage backend: images in the host's filesystem, for
 * offline use and for testing format drivers without a cluster.  Same
 * contract as the gluster backend: whole transfers or an error, zeros past
 * the end of the file, a sticky error after a failed fsync.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"

struct local_storage {
    struct glv_storage base;
    int fd;
};

static struct local_storage *ls(struct glv_storage *s)
{
    return (struct local_storage *)s;
}

static ssize_t local_move(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                          uint64_t offset, int writing)
{
    return writing ? pwritev(ls(s)->fd, iov, iovcnt, (off_t)offset)
                   : preadv(ls(s)->fd, iov, iovcnt, (off_t)offset);
}

static int local_preadv(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                        uint64_t offset)
{
    return glv_storage_transfer(s, iov, iovcnt, offset, 0, local_move);
}

static int local_pwritev(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                         uint64_t offset)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    return glv_storage_transfer(s, iov, iovcnt, offset, 1, local_move);
}

static int local_flush(struct glv_storage *s)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    if (fdatasync(ls(s)->fd) < 0) {
        __atomic_store_n(&s->flush_failed, 1, __ATOMIC_RELAXED);
        return glv_storage_io_error(s, "flush of", 0, errno);
    }
    return 0;
}

static int local_discard(struct glv_storage *s, uint64_t offset, uint64_t length)
{
    if (fallocate(ls(s)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                  (off_t)length) < 0 && errno != EOPNOTSUPP)
        return glv_storage_io_error(s, "cannot discard", offset, errno);
    return 0;
}

/* A punched hole reads as zeros and frees the blocks; a zeroed range keeps
 * them allocated.  Either is a change of metadata, fast; writing zeros is
 * the fallback. */
static int local_write_zeroes(struct glv_storage *s, uint64_t offset, uint64_t length,
                              unsigned flags)
{
    if (glv_storage_refuse_after_lost_flush(s) < 0)
        return -1;
    if ((flags & GLV_ZERO_MAY_TRIM) &&
        fallocate(ls(s)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                  (off_t)length) == 0)
        return 0;
    if (fallocate(ls(s)->fd, FALLOC_FL_ZERO_RANGE, (off_t)offset, (off_t)length) == 0)
        return 0;
    if (flags & GLV_ZERO_NO_FALLBACK)
        return glv_storage_no_fast_zero(s, "the file system can neither zero nor punch "
                                           "the range");
    return glv_storage_write_zero_buffers(s, offset, length);
}

static int local_truncate(struct glv_storage *s, uint64_t size)
{
    if (ftruncate(ls(s)->fd, (off_t)size) < 0)
        return glv_storage_io_error(s, "cannot resize", size, errno);
    return 0;
}

static int64_t local_size(struct glv_storage *s)
{
    struct stat st;

    if (fstat(ls(s)->fd, &st) < 0)
        return glv_storage_io_error(s, "cannot stat", 0, errno);
    return (int64_t)st.st_size;
}

static void local_close(struct glv_storage *s)
{
    if (ls(s)->fd >= 0)
        close(ls(s)->fd);
    free(s->name);
    free(s);
}

static int64_t local_seek(struct glv_storage *s, uint64_t offset, int whence)
{
    return (int64_t)lseek(ls(s)->fd, (off_t)offset, whence);
}

static int local_extent(struct glv_storage *s, uint64_t offset, uint64_t length, int *data,
                        uint64_t *run)
{
    return glv_storage_extent_by_seek(s, offset, length, data, run, local_seek);
}

static int64_t local_allocated(struct glv_storage *s)
{
    struct stat st;

    if (fstat(ls(s)->fd, &st) < 0)
        return glv_storage_io_error(s, "cannot stat", 0, errno);
    return (int64_t)st.st_blocks * 512;
}

/* ------------------------------------------------------------ locking */

/* OFD locks, as QEMU takes them: they belong to this open file description,
 * so a second open conflicts even in the same process, and they go when
 * the descriptor closes or the process dies. */
static int local_lock_range(struct glv_storage *s, uint64_t start, uint64_t length, int take)
{
    struct flock fl = {.l_type = take ? F_RDLCK : F_UNLCK, .l_whence = SEEK_SET,
                       .l_start = (off_t)start, .l_len = (off_t)length};

    return fcntl(ls(s)->fd, F_OFD_SETLK, &fl);
}

static int local_lock_test(struct glv_storage *s, uint64_t start, uint64_t length,
                           int64_t *holder)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)start,
                       .l_len = (off_t)length};

    if (fcntl(ls(s)->fd, F_OFD_GETLK, &fl) < 0)
        return -1;
    /* OFD locks have no owning process (l_pid is -1); a classic one does. */
    *holder = fl.l_pid > 0 ? fl.l_pid : 0;
    return fl.l_type != F_UNLCK;
}

/* ------------------------------------------------------------ creation */

/* Reserve with posix_fallocate; zeros written as data are the caller's. */
static int local_allocate(struct glv_storage *s, uint64_t offset, uint64_t length, int zero)
{
    int err;

    if (zero)
        return 1;
    err = posix_fallocate(ls(s)->fd, (off_t)offset, (off_t)length);
    return err ? glv_storage_io_error(s, "cannot allocate", offset, err) : 0;
}

static int local_chown(struct glv_storage *s, int64_t uid, int64_t gid)
{
    if (fchown(ls(s)->fd, (uid_t)uid, (gid_t)gid) < 0)
        return glv_storage_owner_error(s, uid, gid, errno);
    return 0;
}

static void local_remove(struct glv_storage *s)
{
    unlink(s->name); /* a local storage is named by its path */
}

static const struct glv_storage_ops local_ops = {
    .preadv = local_preadv,
    .pwritev = local_pwritev,
    .flush = local_flush,
    .discard = local_discard,
    .write_zeroes = local_write_zeroes,
    .truncate = local_truncate,
    .size = local_size,
    .allocated = local_allocated,
    .extent = local_extent,
    .close = local_close,
    .allocate = local_allocate,
    .chown = local_chown,
    .remove = local_remove,
    .lock_range = local_lock_range,
    .lock_test = local_lock_test,
};

/* The storage for path opened (or created) with flags, mode 0644; NULL with
 * errno set, or with the error set on running out of memory (*oom). */
static struct local_storage *local_new(const char *path, int flags, int writable, int *oom)
{
    struct local_storage *l = calloc(1, sizeof *l);

    *oom = 0;
    if (!l || !(l->base.name = strdup(path))) {
        free(l);
        glv_set_oom();
        *oom = 1;
        return NULL;
    }
    l->base.ops = &local_ops;
    l->base.writable = writable;
    l->fd = open(path, flags, 0644);
    if (l->fd < 0) {
        int err = errno;

        local_close(&l->base);
        errno = err;
        return NULL;
    }
    return l;
}

struct glv_storage *glv_storage_local_open(const char *path, struct glv_storage_flags flags)
{
    struct local_storage *l;
    struct stat st;
    int oom;

    l = local_new(path, (flags.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
                            (flags.direct ? O_DIRECT : 0), flags.writable, &oom);
    if (!l) {
        int err = errno;

        if (!oom)
            glv_set_error(err, "cannot open image %s: %s%s", path, strerror(err),
                          err == EINVAL && flags.direct ? " (the filesystem refuses direct "
                                                          "I/O; open without it)" : "");
        return NULL;
    }
    if (fstat(l->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        glv_set_error(EISDIR, "%s is a directory, not an image", path);
        local_close(&l->base);
        return NULL;
    }
    return &l->base;
}

struct glv_storage *glv_storage_local_create(const char *path, int overwrite)
{
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), oom;
    struct local_storage *l = local_new(path, flags, 1, &oom);
    struct stat st;

    if (!l) {
        if (!oom)
            glv_storage_create_error(path, 0, errno, overwrite);
        return NULL;
    }
    if (fstat(l->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        glv_set_error(EINVAL, "%s is not a regular file; images are created as plain files",
                      path);
        local_close(&l->base);
        return NULL;
    }
    return &l->base;
}

/*
 * What both storage backends do the same way: split transfers, read zeros
 * past the end of the file, report errors, refuse writes after a failed
 * flush, and write zeros where the storage cannot zero a range itself.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage.h"

int glv_storage_io_error(struct glv_storage *s, const char *what, uint64_t offset, int err)
{
    if (!err)
        err = EIO;
    glv_set_error(err, "%s %s at offset %llu: %s", what, s->name, (unsigned long long)offset,
                  strerror(err));
    return -1;
}

void glv_storage_create_error(const char *name, int on_gluster, int err, int overwrite)
{
    switch (err) {
    case EEXIST:
        glv_set_error(EEXIST, "image %s already exists; libgluvirt does not replace an "
                      "existing file unless asked to (gluvirt create --overwrite, "
                      "gluvirt_create_options_set_overwrite)", name);
        break;
    case ENOENT:
        glv_set_error(ENOENT, "cannot create %s: its directory does not exist; create it "
                      "first", name);
        break;
    case EISDIR:
        glv_set_error(EISDIR, "%s is a directory; it is never replaced by an image", name);
        break;
    case EACCES:
    case EPERM:
        glv_set_error(err, "cannot create %s: permission denied%s", name,
                      on_gluster ? "; check the owner and mode of the directory ('gluster "
                                   "volume set VOLUME storage.owner-uid 107 storage.owner-gid "
                                   "107' gives the volume's root to qemu)" : "");
        break;
    default:
        glv_set_error(err ? err : EIO, "cannot %s %s: %s",
                      overwrite ? "create or replace" : "create", name,
                      strerror(err ? err : EIO));
    }
}

int glv_storage_owner_error(struct glv_storage *s, int64_t uid, int64_t gid, int err)
{
    if (!err)
        err = EIO;
    glv_set_error(err, "cannot give %s to %" PRId64 ":%" PRId64 ": %s%s", s->name, uid, gid,
                  strerror(err), err == EPERM ? " (only root may change a file's owner)" : "");
    return -1;
}

int glv_storage_refuse_after_lost_flush(struct glv_storage *s)
{
    if (!__atomic_load_n(&s->flush_failed, __ATOMIC_RELAXED))
        return 0;
    glv_set_error(EIO, "%s: an earlier flush failed, so data written before it may be lost; "
                  "close the image, check the storage, and open it again", s->name);
    return -1;
}

int glv_storage_transfer(struct glv_storage *s, const struct iovec *iov, int iovcnt,
                         uint64_t offset, int writing, glv_storage_move_fn move)
{
    int64_t total = glv_iov_length(iov, iovcnt);
    int max = iovcnt < 1 ? 1 : iovcnt > IOV_MAX ? IOV_MAX : iovcnt;
    struct iovec *piece;
    uint64_t done = 0;

    if (total < 0)
        return -1;
    if (!(piece = malloc((size_t)max * sizeof *piece))) {
        glv_set_oom();
        return -1;
    }
    while (done < (uint64_t)total) {
        uint64_t want;
        int n = glv_iov_slice(iov, iovcnt, done, GLV_STORAGE_MAX_TRANSFER, piece, max, &want);
        ssize_t got;

        errno = 0;
        got = move(s, piece, n, offset + done, writing);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || (got == 0 && writing)) {
            int err = got < 0 ? errno : EIO;

            free(piece);
            return glv_storage_io_error(s, writing ? "cannot write" : "cannot read",
                                        offset + done, err);
        }
        if (got == 0) { /* the end of the file: the rest reads as zeros */
            glv_iov_zero(iov, iovcnt, done);
            break;
        }
        done += (uint64_t)got;
    }
    free(piece);
    return 0;
}

int glv_storage_write_zero_buffers(struct glv_storage *s, uint64_t offset, uint64_t length)
{
    static const char zeros[1 << 16];

    while (length > 0) {
        struct iovec iov = {(void *)zeros, length > sizeof zeros ? sizeof zeros : length};

        if (s->ops->pwritev(s, &iov, 1, offset) < 0)
            return -1;
        offset += iov.iov_len;
        length -= iov.iov_len;
    }
    return 0;
}

int glv_storage_no_fast_zero(struct glv_storage *s, const char *why)
{
    glv_set_error(ENOTSUP, "%s: no fast zeroing here (%s); write the zeros, or zero "
                  "without asking for a fast one", s->name, why);
    return -1;
}

int glv_storage_extent_by_seek(struct glv_storage *s, uint64_t offset, uint64_t length,
                               int *data, uint64_t *run, glv_storage_seek_fn seek)
{
    int64_t next_data, next_hole;

    *data = 1;
    *run = length;
    errno = 0;
    next_data = seek(s, offset, SEEK_DATA);
    if (next_data < 0) {
        if (errno == ENXIO) { /* only a hole from here to the end */
            *data = 0;
            return 0;
        }
        if (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS)
            return 0; /* cannot tell: data */
        return glv_storage_io_error(s, "cannot find data", offset, errno);
    }
    if ((uint64_t)next_data > offset) {
        *data = 0;
        if ((uint64_t)next_data - offset < length)
            *run = (uint64_t)next_data - offset;
        return 0;
    }
    next_hole = seek(s, offset, SEEK_HOLE);
    if (next_hole > (int64_t)offset && (uint64_t)next_hole - offset < length)
        *run = (uint64_t)next_hole - offset;
    return 0;
}

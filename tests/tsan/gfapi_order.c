/*
 * What ThreadSanitizer cannot see in gfapi, told to it: the completion
 * callback of glfs_preadv_async / glfs_pwritev_async runs after the call
 * that started the transfer.  gfapi orders the two through its own locks
 * and sockets, but it is not instrumented (and tests/tsan/tsan.supp has
 * ThreadSanitizer ignore the locks it takes), so without this every request
 * the library hands to gfapi would look unordered with its callback.
 *
 * Linked into the stress programs of tests/tsan.sh, whose copy of the
 * library (its sources, linked statically) then calls these definitions,
 * which call gfapi's own.  Only that one edge is added: whatever the library does
 * after starting a transfer is still checked against the callback.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <glusterfs/api/glfs.h>
#include <sanitizer/tsan_interface.h>

typedef int (*async_fn)(glfs_fd_t *fd, const struct iovec *iov, int count, off_t offset,
                        int flags, glfs_io_cbk fn, void *data);

/* One per transfer; its address is what the start and the callback
 * synchronise on. */
struct handoff {
    glfs_io_cbk fn;
    void *data;
};

static async_fn gfapi_symbol(const char *name)
{
    /* The callback signature with pre- and post-stat is the GFAPI_6.0 one. */
    async_fn fn = (async_fn)dlvsym(RTLD_NEXT, name, "GFAPI_6.0");

    if (!fn) {
        fprintf(stderr, "gfapi_order: %s@GFAPI_6.0 not found in libgfapi: %s\n", name,
                dlerror());
        abort();
    }
    return fn;
}

static void handoff_done(glfs_fd_t *fd, ssize_t ret, struct glfs_stat *prestat,
                         struct glfs_stat *poststat, void *data)
{
    struct handoff h;

    __tsan_acquire(data);
    h = *(struct handoff *)data;
    free(data);
    h.fn(fd, ret, prestat, poststat, h.data);
}

static int start(const char *name, glfs_fd_t *fd, const struct iovec *iov, int count,
                 off_t offset, int flags, glfs_io_cbk fn, void *data)
{
    static async_fn functions[2];
    int which = name[6] == 'r'; /* glfs_preadv_async or glfs_pwritev_async */
    async_fn real = __atomic_load_n(&functions[which], __ATOMIC_ACQUIRE);
    struct handoff *h = malloc(sizeof *h);
    int rc;

    if (!real) {
        real = gfapi_symbol(name);
        __atomic_store_n(&functions[which], real, __ATOMIC_RELEASE);
    }
    if (!h) {
        errno = ENOMEM;
        return -1;
    }
    h->fn = fn;
    h->data = data;
    __tsan_release(h);
    rc = real(fd, iov, count, offset, flags, handoff_done, h);
    if (rc < 0)
        free(h);
    return rc;
}

int glfs_preadv_async(glfs_fd_t *fd, const struct iovec *iov, int count, off_t offset,
                      int flags, glfs_io_cbk fn, void *data)
{
    return start("glfs_preadv_async", fd, iov, count, offset, flags, fn, data);
}

int glfs_pwritev_async(glfs_fd_t *fd, const struct iovec *iov, int count, off_t offset,
                       int flags, glfs_io_cbk fn, void *data)
{
    return start("glfs_pwritev_async", fd, iov, count, offset, flags, fn, data);
}

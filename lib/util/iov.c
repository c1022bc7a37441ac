/* I/O vector arithmetic shared by the backends: length, slicing, zeroing. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "gluvirt/gluvirt.h"
#include "util/internal.h"
#include "util/iov.h"

int64_t glv_iov_length(const struct iovec *iov, int iovcnt)
{
    uint64_t total = 0;
    int i;

    if (iovcnt < 0 || (iovcnt > 0 && !iov)) {
        glv_set_error(EINVAL, "bad I/O vector (%d entries)", iovcnt);
        return -1;
    }
    for (i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len > 0) {
            glv_set_error(EINVAL, "I/O vector entry %d has no buffer for its %zu bytes", i,
                          iov[i].iov_len);
            return -1;
        }
        if (iov[i].iov_len > (uint64_t)INT64_MAX - total) {
            glv_set_error(EINVAL, "the I/O vector is longer than 2^63 bytes");
            return -1;
        }
        total += iov[i].iov_len;
    }
    return (int64_t)total;
}

int glv_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t max,
                  struct iovec *out, int out_max, uint64_t *len)
{
    int i, n = 0;

    *len = 0;
    for (i = 0; i < iovcnt && n < out_max && *len < max; i++) {
        uint64_t take;

        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        take = iov[i].iov_len - skip;
        if (take > max - *len)
            take = max - *len;
        out[n].iov_base = (char *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        *len += take;
        skip = 0;
    }
    return n;
}

void glv_iov_zero(const struct iovec *iov, int iovcnt, uint64_t from)
{
    int i;

    for (i = 0; i < iovcnt; i++) {
        if (from >= iov[i].iov_len) {
            from -= iov[i].iov_len;
            continue;
        }
        memset((char *)iov[i].iov_base + from, 0, iov[i].iov_len - from);
        from = 0;
    }
}

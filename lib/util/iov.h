/*
 * I/O vector helpers (iov.c): the length of a vector, a piece cut out of
 * one, zeroing its tail.
 */
#ifndef GLUVIRT_UTIL_IOV_H
#define GLUVIRT_UTIL_IOV_H

#include <stdint.h>
#include <sys/uio.h>

/* Total length of an I/O vector, or -1 (EINVAL set) when it overflows. */
int64_t glv_iov_length(const struct iovec *iov, int iovcnt);

/*
 * Cut the piece [skip, skip + max) out of iov into out (at most out_max
 * entries).  Returns the entry count, with *len the piece's length.
 */
int glv_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t max,
                  struct iovec *out, int out_max, uint64_t *len);

/* Zero the bytes [from, end) of the vector. */
void glv_iov_zero(const struct iovec *iov, int iovcnt, uint64_t from);

#endif

/*
 * Compressed clusters.  An L2 entry with the compressed flag holds a
 * descriptor: the byte offset where the compressed stream starts and how
 * many 512-byte sectors it spans.  The stream is raw deflate (compression
 * type zlib) or a zstd frame, and must inflate to exactly one cluster.
 * Because its length is only known to the sector, whatever follows the
 * stream in its last sector is padding (or the start of the next compressed
 * cluster): both decoders stop at the end of the stream and ignore the rest.
 *
 * Decoder contexts (a zstd context is sizeable) and their buffers are kept
 * in a small pool on the image and reused, so a compressed read allocates
 * nothing once the pool is warm.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/qcow2_driver.h"

/* Contexts kept idle per image; more are freed when returned. */
#define MAX_IDLE_DECOMPRESSORS 8

struct qcow2_decompressor {
    struct qcow2_decompressor *next;
    z_stream zlib;
    int zlib_ready;
    ZSTD_DCtx *zstd;
    unsigned char *in;          /* the compressed sectors, as read */
    size_t in_capacity;
    unsigned char *out;         /* one cluster, for reads of part of it */
};

static void decompressor_free(struct qcow2_decompressor *d)
{
    if (d->zlib_ready)
        inflateEnd(&d->zlib);
    ZSTD_freeDCtx(d->zstd);
    free(d->in);
    free(d->out);
    free(d);
}

static struct qcow2_decompressor *decompressor_get(struct qcow2_image *q)
{
    struct qcow2_decompressor *d;

    pthread_mutex_lock(&q->decompressor_lock);
    if ((d = q->idle_decompressors)) {
        q->idle_decompressors = d->next;
        q->idle_count--;
    }
    pthread_mutex_unlock(&q->decompressor_lock);
    if (!d && !(d = calloc(1, sizeof *d)))
        glv_set_oom();
    return d;
}

static void decompressor_put(struct qcow2_image *q, struct qcow2_decompressor *d)
{
    pthread_mutex_lock(&q->decompressor_lock);
    if (q->idle_count < MAX_IDLE_DECOMPRESSORS) {
        d->next = q->idle_decompressors;
        q->idle_decompressors = d;
        q->idle_count++;
        d = NULL;
    }
    pthread_mutex_unlock(&q->decompressor_lock);
    if (d)
        decompressor_free(d);
}

int qcow2_compressed_init(struct qcow2_image *q)
{
    /* The descriptor: the offset takes the low 62 - (cluster_bits - 8)
     * bits, the extra sector count the bits above it up to bit 61. */
    uint32_t offset_bits = 62 - (q->cluster_bits - 8);

    q->compressed_offset_mask = (1ull << offset_bits) - 1;
    q->compressed_sectors_shift = offset_bits;
    q->compressed_sectors_mask = (1ull << (q->cluster_bits - 8)) - 1;
    pthread_mutex_init(&q->decompressor_lock, NULL);
    q->idle_decompressors = NULL;
    q->idle_count = 0;
    return 0;
}

void qcow2_compressed_release(struct qcow2_image *q)
{
    struct qcow2_decompressor *d;

    while ((d = q->idle_decompressors)) {
        q->idle_decompressors = d->next;
        decompressor_free(d);
    }
    pthread_mutex_destroy(&q->decompressor_lock);
}

/* Raw deflate.  The stream may end before the input does (sector padding);
 * the output must be exactly full. */
static int inflate_deflate(struct qcow2_decompressor *d, const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t out_len)
{
    int rc;

    if (!d->zlib_ready) {
        memset(&d->zlib, 0, sizeof d->zlib);
        /* Negative window bits: no zlib header; 4 KiB window, as qcow2 writers use. */
        if (inflateInit2(&d->zlib, -12) != Z_OK)
            return -1;
        d->zlib_ready = 1;
    } else if (inflateReset(&d->zlib) != Z_OK) {
        return -1;
    }
    d->zlib.next_in = (Bytef *)in;
    d->zlib.avail_in = (uInt)in_len;
    d->zlib.next_out = out;
    d->zlib.avail_out = (uInt)out_len;
    rc = inflate(&d->zlib, Z_FINISH);
    /* Z_BUF_ERROR with a full output: the cluster is complete but the stream
     * did not say so before the input (known only to the sector) ran out. */
    return (rc == Z_STREAM_END || rc == Z_BUF_ERROR) && d->zlib.avail_out == 0 ? 0 : -1;
}

/* zstd, streaming: it stops at the end of the frame, so the padding after
 * it is never decoded.  Several frames may make up the cluster. */
static int inflate_zstd(struct qcow2_decompressor *d, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len)
{
    ZSTD_inBuffer input = {in, in_len, 0};
    ZSTD_outBuffer output = {out, out_len, 0};
    size_t rc = 1;

    if (!d->zstd && !(d->zstd = ZSTD_createDCtx()))
        return -1;
    if (ZSTD_isError(ZSTD_DCtx_reset(d->zstd, ZSTD_reset_session_only)))
        return -1;
    while (output.pos < output.size) {
        size_t in_before = input.pos, out_before = output.pos;

        rc = ZSTD_decompressStream(d->zstd, &output, &input);
        if (ZSTD_isError(rc))
            return -1;
        if (input.pos == in_before && output.pos == out_before)
            return -1; /* the input ran out before the cluster was full */
    }
    /* A full cluster with the frame still open: let the decoder take the
     * frame's trailer; anything it would still produce is too much. */
    if (rc != 0)
        rc = ZSTD_decompressStream(d->zstd, &output, &input);
    return rc == 0 ? 0 : -1;
}

/* Copy bytes into an I/O vector. */
static void copy_to_iov(const struct iovec *iov, int iovcnt, const unsigned char *from,
                        uint64_t length)
{
    int i;

    for (i = 0; i < iovcnt && length > 0; i++) {
        size_t n = iov[i].iov_len < length ? iov[i].iov_len : (size_t)length;

        memcpy(iov[i].iov_base, from, n);
        from += n;
        length -= n;
    }
}

static int compressed_error(struct qcow2_image *q, uint64_t guest_cluster, uint64_t l2_entry,
                            const char *what)
{
    glv_set_error(EIO, "%s: the compressed cluster at guest offset %" PRIu64 " (L2 entry 0x%016"
                  PRIx64 ") %s; the image is damaged (see 'qemu-img check')",
                  q->base.storage->name, guest_cluster, l2_entry, what);
    return -1;
}

/* The compressed bytes' place in the file; -1 (error set) when it is not a
 * place compressed data can be. */
static int locate(struct qcow2_image *q, uint64_t l2_entry, uint64_t guest_cluster,
                  uint64_t *host, uint64_t *sectors)
{
    int64_t size;

    *host = l2_entry & q->compressed_offset_mask;
    *sectors = ((l2_entry >> q->compressed_sectors_shift) & q->compressed_sectors_mask) + 1;
    if (*host < q->cluster_size)
        return compressed_error(q, guest_cluster, l2_entry, "points into the header cluster");
    if (*host < __atomic_load_n(&q->file_size, __ATOMIC_RELAXED))
        return 0;
    if ((size = qcow2_refresh_size(q->base.storage, &q->file_size)) < 0)
        return -1;
    if (*host >= (uint64_t)size)
        return compressed_error(q, guest_cluster, l2_entry, "starts past the end of the file");
    return 0;
}

int qcow2_compressed_read(struct qcow2_image *q, uint64_t l2_entry, uint64_t guest_cluster,
                          uint64_t skip, const struct iovec *iov, int iovcnt)
{
    struct glv_storage *s = q->base.storage;
    size_t cluster = (size_t)q->cluster_size, read_len, in_skip;
    struct qcow2_decompressor *d;
    uint64_t host, sectors, want = 0;
    unsigned char *out;
    struct iovec sector_iov;
    int i, rc, in_place;

    for (i = 0; i < iovcnt; i++)
        want += iov[i].iov_len;
    if (locate(q, l2_entry, guest_cluster, &host, &sectors) < 0 || !(d = decompressor_get(q)))
        return -1;
    /* Whole sectors, so that the read is aligned; the stream starts in_skip
     * bytes into the first.  Bytes past the end of the file read as zeros. */
    read_len = (size_t)(sectors * 512);
    in_skip = (size_t)(host & 511);
    if (d->in_capacity < read_len) {
        free(d->in);
        d->in_capacity = 0;
        if (posix_memalign((void **)&d->in, 4096, read_len) != 0) {
            d->in = NULL;
            decompressor_put(q, d);
            glv_set_oom();
            return -1;
        }
        d->in_capacity = read_len;
    }
    /* A read of the whole cluster into one buffer inflates in place. */
    in_place = skip == 0 && iovcnt == 1 && iov[0].iov_len == cluster;
    if (in_place) {
        out = iov[0].iov_base;
    } else {
        if (!d->out && !(d->out = malloc(cluster))) {
            decompressor_put(q, d);
            glv_set_oom();
            return -1;
        }
        out = d->out;
    }
    sector_iov.iov_base = d->in;
    sector_iov.iov_len = read_len;
    if (s->ops->preadv(s, &sector_iov, 1, host - in_skip) < 0) {
        decompressor_put(q, d);
        return -1;
    }
    rc = q->h.compression == QCOW2_COMPRESSION_ZSTD
             ? inflate_zstd(d, d->in + in_skip, read_len - in_skip, out, cluster)
             : inflate_deflate(d, d->in + in_skip, read_len - in_skip, out, cluster);
    if (rc == 0 && !in_place)
        copy_to_iov(iov, iovcnt, out + skip, want);
    decompressor_put(q, d);
    if (rc < 0)
        return compressed_error(q, guest_cluster, l2_entry,
                                "does not decompress to a cluster");
    return 0;
}

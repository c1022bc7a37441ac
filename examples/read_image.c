/*
 * read_image: open images through one shared connection pool and copy their
 * virtual disks to standard output, one after the other.
 *
 *   read_image [-f raw|qcow2] TARGET...
 *
 * TARGET is a gluster URI ("gluster://host/volume/dir/disk.qcow2") or a
 * local path.  A hypervisor keeps one pool for the whole process: every
 * disk on the same volume then shares one gfapi client (threads, memory, a
 * volfile fetch), and closing a disk does not wait for glfs_fini.  The
 * pool's counters on stderr show it: two disks on one volume, one connect.
 *
 * Build: cc read_image.c $(pkg-config --cflags --libs gluvirt)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#define CHUNK (1u << 20)

/* Copy one image to stdout; 0 or -1. */
static int copy_image(gluvirt_pool *pool, const gluvirt_open_options *options,
                      const char *target, char *buf)
{
    gluvirt_image *image = gluvirt_image_open(pool, target, options);
    int64_t size;
    uint64_t offset = 0;

    if (!image) {
        fprintf(stderr, "read_image: %s\n", gluvirt_errmsg());
        return -1;
    }
    size = gluvirt_image_size(image);
    while (size >= 0 && offset < (uint64_t)size) {
        ssize_t n = gluvirt_image_pread(image, buf, CHUNK, offset);

        if (n <= 0) {
            /* 0 inside the image cannot happen; -1 carries a message */
            fprintf(stderr, "read_image: %s\n", n < 0 ? gluvirt_errmsg() : "short read");
            gluvirt_image_close(image);
            return -1;
        }
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
            perror("read_image: standard output");
            gluvirt_image_close(image);
            return -1;
        }
        offset += (uint64_t)n;
    }
    fprintf(stderr, "read_image: %s: %s, %" PRId64 " bytes\n", target,
            gluvirt_image_format(image), size);
    /* Read-only: closing cannot lose data, but a writable image's close
     * flushes, and its failure must be reported. */
    if (gluvirt_image_close(image) < 0) {
        fprintf(stderr, "read_image: %s\n", gluvirt_errmsg());
        return -1;
    }
    return size < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    gluvirt_format format = GLUVIRT_FORMAT_RAW;
    gluvirt_open_options *options;
    gluvirt_pool *pool;
    char *buf;
    int first = 1, status = 0, i;

    if (argc > 2 && strcmp(argv[1], "-f") == 0) {
        if (strcmp(argv[2], "qcow2") == 0)
            format = GLUVIRT_FORMAT_QCOW2;
        else if (strcmp(argv[2], "raw") != 0) {
            fprintf(stderr, "read_image: -f raw or -f qcow2\n");
            return 2;
        }
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: read_image [-f raw|qcow2] TARGET...\n");
        return 2;
    }

    /* One pool for the process, default options (see gluvirt_pool(3)). */
    pool = gluvirt_pool_new(NULL);
    options = gluvirt_open_options_new();
    buf = malloc(CHUNK);
    if (!pool || !options || !buf || gluvirt_open_options_set_format(options, format) < 0) {
        fprintf(stderr, "read_image: %s\n", buf ? gluvirt_errmsg() : "out of memory");
        status = 1;
        goto out;
    }
    for (i = first; i < argc && status == 0; i++)
        if (copy_image(pool, options, argv[i], buf) < 0)
            status = 1;
    fprintf(stderr, "read_image: pool: %" PRId64 " connect(s) made, %" PRId64 " reused\n",
            gluvirt_pool_stat(pool, GLUVIRT_POOL_INITS),
            gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS));
out:
    free(buf);
    gluvirt_open_options_free(options);
    gluvirt_pool_free(pool); /* quick: idle connections are finalised in the background */
    if (fflush(stdout) != 0)
        status = 1;
    return status;
}

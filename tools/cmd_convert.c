/*
 * gluvirt convert: copy an image's virtual disk into another image, a local
 * file or standard output, as 'qemu-img convert' does for raw images.
 *
 * Only raw in and raw out for now; qcow2 input comes with the qcow2 driver.
 * The output is sparse: the destination is emptied and resized to the
 * source's size first, so it reads as zeros everywhere, and then only the
 * blocks that hold data are written.  Standard output cannot have holes and
 * gets every byte.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

/* Bytes read from the source at a time. */
#define COPY_CHUNK (2u << 20)
/* Granularity of hole detection: a block of zeros this size is not written
 * (qemu-img convert's default minimum sparse size is 4 KiB too). */
#define SPARSE_BLOCK 4096u

struct progress {
    int enabled;
    double shown; /* last percentage drawn, or -1 */
};

static void convert_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt convert [-f raw] [-O raw] [-p] SRC DST\n"
            "Copies the virtual disk of SRC into DST.  Each is a gluster URI or a local path;\n"
            "DST '-' is standard output.  A local DST is created or emptied; a DST on a\n"
            "volume must exist already (create it with 'qemu-img create -f raw URI SIZE').\n"
            "Blocks of zeros are left as holes in the output.\n"
            "  -f FMT   the source's format (only raw for now); without -f, the source's\n"
            "           header decides, and a qcow2 source is refused\n"
            "  -O FMT   the output's format (only raw)\n"
            "  -p       draw the progress on stderr\n");
}

/* Same rule as gluvirt_image_open: a target that starts with "gluster" and
 * holds a ':' is a URI. */
static int is_gluster_target(const char *target)
{
    return strncmp(target, "gluster", 7) == 0 && strchr(target, ':') != NULL;
}

static int parse_format(const char *name, const char *option, gluvirt_format *out)
{
    if (!strcmp(name, "raw")) {
        *out = GLUVIRT_FORMAT_RAW;
        return 0;
    }
    if (!strcmp(name, "qcow2") && !strcmp(option, "-f"))
        fprintf(stderr, "gluvirt convert: -f qcow2: this version cannot read qcow2 images yet; "
                        "convert them with 'qemu-img convert -f qcow2 -O raw'\n");
    else if (!strcmp(name, "qcow2"))
        fprintf(stderr, "gluvirt convert: -O qcow2: this version writes raw images only; "
                        "use -O raw\n");
    else
        fprintf(stderr, "gluvirt convert: %s %s: unknown or unsupported format; only raw is "
                        "supported\n", option, name);
    return -1;
}

static void progress_draw(struct progress *p, uint64_t done, uint64_t total)
{
    double percent = total ? 100.0 * (double)done / (double)total : 100.0;

    if (!p->enabled || (p->shown >= 0 && percent < p->shown + 1.0 && percent < 100.0))
        return;
    fprintf(stderr, "    (%3.2f/100%%)\r", percent);
    fflush(stderr);
    p->shown = percent;
}

static void progress_end(struct progress *p)
{
    if (p->enabled)
        fputc('\n', stderr);
}

static int all_zeros(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int write_all_fd(int fd, const unsigned char *buf, size_t count)
{
    while (count > 0) {
        ssize_t n = write(fd, buf, count);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "gluvirt convert: cannot write to standard output: %s\n",
                    strerror(errno));
            return -1;
        }
        buf += n;
        count -= (size_t)n;
    }
    return 0;
}

/* Write the blocks of buf that hold data; runs of them go in one request. */
static int write_data_blocks(gluvirt_image *dst, const unsigned char *buf, size_t count,
                             uint64_t offset)
{
    size_t at = 0;

    while (at < count) {
        size_t start, end;

        while (at < count) {
            size_t n = count - at < SPARSE_BLOCK ? count - at : SPARSE_BLOCK;

            if (!all_zeros(buf + at, n))
                break;
            at += n;
        }
        start = end = at;
        while (end < count) {
            size_t n = count - end < SPARSE_BLOCK ? count - end : SPARSE_BLOCK;

            if (all_zeros(buf + end, n))
                break;
            end += n;
        }
        if (end > start && gluvirt_image_pwrite(dst, buf + start, end - start,
                                                offset + start) < 0) {
            report_library_error(NULL);
            return -1;
        }
        at = end;
    }
    return 0;
}

/* Refuse to empty the source: the same local file, or the same path on a
 * volume of the same name (possibly another cluster: refusing that is the
 * safe mistake). */
static int same_image(const char *src, const char *dst)
{
    struct stat s, d;
    gluvirt_uri *su, *du;
    int same;

    if (is_gluster_target(src) != is_gluster_target(dst))
        return 0;
    if (!is_gluster_target(src))
        return stat(src, &s) == 0 && stat(dst, &d) == 0 && s.st_dev == d.st_dev &&
               s.st_ino == d.st_ino;
    su = gluvirt_uri_parse(src);
    du = gluvirt_uri_parse(dst);
    same = su && du && !strcmp(gluvirt_uri_volume(su), gluvirt_uri_volume(du)) &&
           !strcmp(gluvirt_uri_path(su), gluvirt_uri_path(du));
    gluvirt_uri_free(su);
    gluvirt_uri_free(du);
    return same;
}

/* The destination image, emptied and resized to size: holes everywhere. */
static gluvirt_image *open_destination(gluvirt_pool *pool, const char *dst, uint64_t size)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (!options || gluvirt_open_options_set_writable(options, 1) < 0) {
        report_library_error(NULL);
        goto out;
    }
    if (!is_gluster_target(dst)) {
        int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0) {
            fprintf(stderr, "gluvirt convert: cannot create %s: %s\n", dst, strerror(errno));
            goto out;
        }
        close(fd);
    }
    if (!(image = gluvirt_image_open(pool, dst, options))) {
        if (gluvirt_errno() == ENOENT && is_gluster_target(dst))
            fprintf(stderr, "gluvirt convert: %s; gluvirt cannot create images on a volume yet: "
                            "create it first with 'qemu-img create -f raw %s %llu'\n",
                    gluvirt_errmsg(), dst, (unsigned long long)size);
        else
            report_library_error(NULL);
        goto out;
    }
    if (gluvirt_image_truncate(image, 0) < 0 || gluvirt_image_truncate(image, size) < 0) {
        report_library_error(NULL);
        gluvirt_image_close(image);
        image = NULL;
    }
out:
    gluvirt_open_options_free(options);
    return image;
}

static int copy_image(gluvirt_image *src, gluvirt_image *dst, uint64_t size,
                      struct progress *progress)
{
    unsigned char *buf;
    uint64_t offset = 0;
    int rc = -1;

    if (posix_memalign((void **)&buf, 4096, COPY_CHUNK) != 0) {
        fprintf(stderr, "gluvirt convert: out of memory\n");
        return -1;
    }
    progress_draw(progress, 0, size);
    while (offset < size) {
        size_t want = size - offset < COPY_CHUNK ? (size_t)(size - offset) : COPY_CHUNK;
        ssize_t got = gluvirt_image_pread(src, buf, want, offset);

        if (got < 0) {
            report_library_error(NULL);
            goto out;
        }
        if ((size_t)got != want) {
            fprintf(stderr, "gluvirt convert: the source ended at byte %llu, before its size "
                            "%llu: did something shrink it while it was copied?\n",
                    (unsigned long long)(offset + (uint64_t)got), (unsigned long long)size);
            goto out;
        }
        if (dst ? write_data_blocks(dst, buf, want, offset) < 0
                : write_all_fd(STDOUT_FILENO, buf, want) < 0)
            goto out;
        offset += want;
        progress_draw(progress, offset, size);
    }
    rc = 0;
out:
    progress_end(progress);
    free(buf);
    return rc;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option options[] = {
        {"progress", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gluvirt_format in_format = GLUVIRT_FORMAT_PROBE, out_format = GLUVIRT_FORMAT_RAW;
    struct progress progress = {0, -1.0};
    gluvirt_open_options *src_options = NULL;
    gluvirt_image *src = NULL, *dst = NULL;
    gluvirt_pool *pool = NULL;
    const char *src_name, *dst_name;
    int c, status = EXIT_FAILED, to_stdout;
    int64_t size;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:O:ph", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, "-f", &in_format) < 0)
                return EXIT_USAGE;
            break;
        case 'O':
            if (parse_format(optarg, "-O", &out_format) < 0)
                return EXIT_USAGE;
            break;
        case 'p':
            progress.enabled = 1;
            break;
        case 'h':
            convert_usage(stdout);
            return EXIT_OK;
        default:
            convert_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        convert_usage(stderr);
        return EXIT_USAGE;
    }
    src_name = argv[optind];
    dst_name = argv[optind + 1];
    to_stdout = !strcmp(dst_name, "-");
    if (!strcmp(src_name, "-")) {
        fprintf(stderr, "gluvirt convert: the source must be an image (a URI or a path), not "
                        "standard input\n");
        return EXIT_USAGE;
    }
    if (to_stdout && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "gluvirt convert: standard output is a terminal; redirect it to a file "
                        "or a pipe\n");
        return EXIT_USAGE;
    }
    if (!to_stdout && same_image(src_name, dst_name)) {
        fprintf(stderr, "gluvirt convert: %s and %s are the same image; converting would empty "
                        "it\n", src_name, dst_name);
        return EXIT_USAGE;
    }
    if (to_stdout)
        signal(SIGPIPE, SIG_IGN); /* a reader that goes away is an error message, not a kill */

    if (!(src_options = gluvirt_open_options_new()) ||
        gluvirt_open_options_set_format(src_options, in_format) < 0 ||
        !(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        goto out;
    }
    if (!(src = gluvirt_image_open(pool, src_name, src_options)) ||
        (size = gluvirt_image_size(src)) < 0) {
        report_library_error(NULL);
        goto out;
    }
    if (!to_stdout && !(dst = open_destination(pool, dst_name, (uint64_t)size)))
        goto out;
    if (copy_image(src, dst, (uint64_t)size, &progress) < 0)
        goto out;
    status = EXIT_OK;
out:
    if (dst && gluvirt_image_close(dst) < 0) {
        report_library_error(NULL);
        status = EXIT_FAILED;
    }
    gluvirt_image_close(src);
    gluvirt_pool_free(pool);
    gluvirt_open_options_free(src_options);
    return status;
}

/*
 * gluvirt convert: copy an image's virtual disk into another image, a local
 * file or standard output, as 'qemu-img convert -O raw|qcow2' does.
 *
 * The source is raw or qcow2 (its current state, or an internal snapshot);
 * the output is raw or qcow2.  The output is sparse: the destination is
 * made new (a raw one emptied and resized, a qcow2 one created with the -o
 * options) so it reads as zeros everywhere, and then only the blocks that
 * hold data are written.  For a qcow2 source the ranges its metadata
 * (gluvirt_image_block_status) says read as zeros are not even read.  With
 * -n the destination exists and is kept: its zero ranges are written as
 * zeros.  Standard output cannot have holes and gets every byte.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "size_arg.h"

/* Bytes read from the source at a time. */
#define COPY_CHUNK (2u << 20)
/* Default granularity of hole detection (-S): a block of zeros this size is
 * not written (qemu-img convert's default minimum sparse size is 4 KiB too). */
#define SPARSE_BLOCK 4096u

/* What the command line asks of the destination. */
struct target_request {
    gluvirt_format format;   /* -O */
    int existing;            /* -n: the target exists and is not created */
    size_t sparse_block;     /* -S; 0 writes every block */
    uint32_t cluster_size;   /* -o cluster_size, 0 for the default */
    const char *compat;      /* -o compat, or NULL */
    gluvirt_preallocation preallocation;
    int have_options;        /* any -o given */
};

struct progress {
    int enabled;
    double shown; /* last percentage drawn, or -1 */
};

static void convert_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt convert [-f raw|qcow2] [-O raw|qcow2] [-o OPTION=VALUE[,...]]\n"
            "                       [-n] [-S SIZE] [-p] [--snapshot NAME]\n"
            "                       [--backing any|same-store|none] [-U] SRC DST\n"
            "Copies the virtual disk of SRC into DST.  Each is a gluster URI or a local path;\n"
            "DST '-' is standard output (raw only).  DST is created when it does not exist,\n"
            "and replaced when it does.  Blocks of zeros are left as holes in the output.\n"
            "  -f FMT           the source's format, raw or qcow2; without -f it is probed\n"
            "                   from the source's first bytes (a note on stderr says so)\n"
            "  -O FMT           the output's format, raw (default) or qcow2\n"
            "  -o OPTIONS       qcow2 output: cluster_size=SIZE, compat=0.10|1.1,\n"
            "                   preallocation=off|metadata; refcount_bits=16,\n"
            "                   lazy_refcounts=off and extended_l2=off (other values are\n"
            "                   not supported yet)\n"
            "  -n               DST exists (at least SRC's size): write into it, do not\n"
            "                   create it; its ranges SRC holds as zeros are zeroed\n"
            "  -S SIZE          runs of zeros of at least SIZE (default 4k) are not written;\n"
            "                   -S 0 writes every byte\n"
            "  -p               draw the progress on stderr\n"
            "  --snapshot S     copy the qcow2 source as it was at internal snapshot S (its\n"
            "                   name or, failing that, its id); also -l S, -l snapshot.name=S\n"
            "                   and -l snapshot.id=S as in qemu-img\n"
            "  --backing P      which backing files the source may name: same-store\n"
            "                   (default: its own volume or local directory tree), any, or\n"
            "                   none (what the source does not hold reads as zeros)\n"
            "  -U, --force-share  open SRC even while another process (QEMU or gluvirt)\n"
            "                   writes it, as qemu-img -U; the copy may then be inconsistent\n");
}

/* -O FMT; the source's -f is parse_image_format's. */
static int parse_output_format(const char *name, gluvirt_format *out)
{
    if (!strcmp(name, "raw")) {
        *out = GLUVIRT_FORMAT_RAW;
        return 0;
    }
    if (!strcmp(name, "qcow2")) {
        *out = GLUVIRT_FORMAT_QCOW2;
        return 0;
    }
    fprintf(stderr, "gluvirt convert: -O %s: unknown or unsupported format; raw and qcow2 "
                    "are written\n", name);
    return -1;
}

/* An -o option whose only value the library writes today is the default. */
static int only_default(const char *key, const char *value, const char *allowed)
{
    if (!strcmp(value, allowed))
        return 0;
    fprintf(stderr, "gluvirt convert: -o %s=%s: not supported yet (qcow2 images are written "
                    "with %s=%s only)\n", key, value, key, allowed);
    return -1;
}

/* One -o list, "key=value,key=value", into r. */
static int parse_target_options(char *list, struct target_request *r)
{
    char *save = NULL, *item;

    r->have_options = 1;
    for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        uint64_t bytes;

        if (!value) {
            fprintf(stderr, "gluvirt convert: -o %s: expected OPTION=VALUE\n", item);
            return -1;
        }
        *value++ = '\0';
        if (!strcmp(item, "cluster_size")) {
            if (size_arg("convert", "-o cluster_size", value, UINT32_MAX, &bytes) < 0)
                return -1;
            r->cluster_size = (uint32_t)bytes;
        } else if (!strcmp(item, "compat")) {
            r->compat = value;
        } else if (!strcmp(item, "preallocation")) {
            if (!strcmp(value, "off")) {
                r->preallocation = GLUVIRT_PREALLOC_OFF;
            } else if (!strcmp(value, "metadata")) {
                r->preallocation = GLUVIRT_PREALLOC_METADATA;
            } else {
                fprintf(stderr, "gluvirt convert: -o preallocation=%s: not supported yet by "
                                "convert; use off or metadata\n", value);
                return -1;
            }
        } else if (!strcmp(item, "refcount_bits")) {
            if (only_default(item, value, "16") < 0)
                return -1;
        } else if (!strcmp(item, "lazy_refcounts") || !strcmp(item, "extended_l2")) {
            if (only_default(item, value, "off") < 0)
                return -1;
        } else {
            fprintf(stderr, "gluvirt convert: -o %s: unknown option; known: cluster_size, "
                            "compat, preallocation, refcount_bits, lazy_refcounts, "
                            "extended_l2\n", item);
            return -1;
        }
    }
    return 0;
}

static void progress_draw(struct progress *p, uint64_t done, uint64_t total)
{
    double percent = total ? 100.0 * (double)done / (double)total : 100.0;

    /* Every whole per cent, and the end (once: the step before it may
     * already round to 100.00). */
    if (!p->enabled || (p->shown >= 0 && percent < p->shown + 1.0 && done < total) ||
        p->shown >= 99.995)
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

/* Zero count bytes at offset of an existing target (-n), which may hold
 * anything there. */
static int zero_existing(gluvirt_image *dst, const struct target_request *r, uint64_t offset,
                         uint64_t count)
{
    if (!r->existing || count == 0)
        return 0;
    if (gluvirt_image_write_zeroes(dst, offset, count) < 0) {
        report_library_error(NULL);
        return -1;
    }
    return 0;
}

/* Write the data of buf; runs of zero sectors at least the sparse size
 * (-S) long are left out (as qemu-img convert does), shorter ones go with
 * the data around them.  With -S 0 everything is data. */
static int write_data_blocks(gluvirt_image *dst, const struct target_request *r,
                             const unsigned char *buf, size_t count, uint64_t offset)
{
    const size_t sector = 512;
    size_t at = 0, data_start = 0;

    while (at < count) {
        size_t zero_start = at;

        while (r->sparse_block && at < count &&
               all_zeros(buf + at, count - at < sector ? count - at : sector))
            at += count - at < sector ? count - at : sector;
        if (at - zero_start >= r->sparse_block && at > zero_start) {
            if (zero_start > data_start &&
                gluvirt_image_pwrite(dst, buf + data_start, zero_start - data_start,
                                     offset + data_start) < 0) {
                report_library_error(NULL);
                return -1;
            }
            if (zero_existing(dst, r, offset + zero_start, at - zero_start) < 0)
                return -1;
            data_start = at;
        }
        if (at < count)
            at += count - at < sector ? count - at : sector;
    }
    if (count > data_start &&
        gluvirt_image_pwrite(dst, buf + data_start, count - data_start, offset + data_start) < 0) {
        report_library_error(NULL);
        return -1;
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

/* Open the destination writable as format; NULL with the library's error. */
static gluvirt_image *open_writable(gluvirt_pool *pool, const char *dst, gluvirt_format format)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_writable(options, 1) == 0 &&
        gluvirt_open_options_set_format(options, format) == 0 &&
        gluvirt_open_options_set_backing(options, GLUVIRT_BACKING_NONE) == 0)
        image = gluvirt_image_open(pool, dst, options);
    gluvirt_open_options_free(options);
    return image;
}

/* -n: the existing destination, which must hold the whole source. */
static gluvirt_image *open_existing(gluvirt_pool *pool, const char *dst,
                                    const struct target_request *r, uint64_t size)
{
    gluvirt_image *image = open_writable(pool, dst, r->format);
    int64_t have;

    if (!image) {
        report_library_error(NULL);
        return NULL;
    }
    have = gluvirt_image_size(image);
    if (have < 0 || (uint64_t)have < size) {
        fprintf(stderr, "gluvirt convert: -n: %s holds %" PRId64 " bytes, less than the "
                        "source's %" PRIu64 "; make it large enough (gluvirt resize) or "
                        "leave out -n\n", dst, have, size);
        gluvirt_image_close(image);
        return NULL;
    }
    return image;
}

/* The create options of a qcow2 destination; NULL after a message. */
static gluvirt_create_options *qcow2_create_options(const struct target_request *r,
                                                    int overwrite)
{
    gluvirt_create_options *o = gluvirt_create_options_new();

    if (!o || gluvirt_create_options_set_format(o, GLUVIRT_FORMAT_QCOW2) < 0 ||
        (r->cluster_size && gluvirt_create_options_set_cluster_size(o, r->cluster_size) < 0) ||
        (r->compat && gluvirt_create_options_set_compat(o, r->compat) < 0) ||
        gluvirt_create_options_set_preallocation(o, r->preallocation) < 0 ||
        gluvirt_create_options_set_overwrite(o, overwrite) < 0) {
        report_library_error(NULL);
        gluvirt_create_options_free(o);
        return NULL;
    }
    return o;
}

/*
 * A new qcow2 destination of size bytes, replacing one that exists, as
 * qemu-img convert does.  *created says whether the file is new (so that a
 * failure removes it).
 */
static gluvirt_image *create_qcow2(gluvirt_pool *pool, const char *dst,
                                   const struct target_request *r, uint64_t size, int *created)
{
    gluvirt_create_options *o = qcow2_create_options(r, 0);
    gluvirt_image *image = NULL;
    int rc;

    if (!o)
        return NULL;
    rc = gluvirt_image_create(pool, dst, size, o);
    *created = rc == 0;
    if (rc < 0 && gluvirt_errno() == EEXIST) {
        gluvirt_create_options_free(o);
        if (!(o = qcow2_create_options(r, 1)))
            return NULL;
        rc = gluvirt_image_create(pool, dst, size, o);
    }
    if (rc == 0)
        image = open_writable(pool, dst, GLUVIRT_FORMAT_QCOW2);
    if (!image)
        report_library_error(NULL);
    gluvirt_create_options_free(o);
    return image;
}

/* A raw destination, emptied and resized to size: holes everywhere. */
static gluvirt_image *create_raw(gluvirt_pool *pool, const char *dst, uint64_t size,
                                 int *created)
{
    gluvirt_image *image;

    if (!is_gluster_target(dst)) {
        int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        *created = fd >= 0;
        if (fd < 0 && errno == EEXIST)
            fd = open(dst, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "gluvirt convert: cannot create %s: %s\n", dst, strerror(errno));
            return NULL;
        }
        close(fd);
    }
    image = open_writable(pool, dst, GLUVIRT_FORMAT_RAW);
    /* A destination on a volume that does not exist yet is created, raw,
     * as qemu-img convert creates it (a local one was created above). */
    if (!image && gluvirt_errno() == ENOENT && is_gluster_target(dst) &&
        gluvirt_image_create(pool, dst, size, NULL) == 0) {
        *created = 1;
        image = open_writable(pool, dst, GLUVIRT_FORMAT_RAW);
    }
    if (!image) {
        report_library_error(NULL);
        return NULL;
    }
    if (gluvirt_image_truncate(image, 0) < 0 || gluvirt_image_truncate(image, size) < 0) {
        report_library_error(NULL);
        gluvirt_image_close(image);
        image = NULL;
    }
    return image;
}

static gluvirt_image *open_destination(gluvirt_pool *pool, const char *dst,
                                       const struct target_request *r, uint64_t size,
                                       int *created)
{
    *created = 0;
    if (r->existing)
        return open_existing(pool, dst, r, size);
    if (r->format == GLUVIRT_FORMAT_QCOW2)
        return create_qcow2(pool, dst, r, size, created);
    return create_raw(pool, dst, size, created);
}

/* After a failure: remove the destination convert created.  The library
 * cannot remove a file on a volume yet; the user is told what is left. */
static void remove_created(const char *dst)
{
    if (!is_gluster_target(dst)) {
        if (unlink(dst) < 0 && errno != ENOENT)
            fprintf(stderr, "gluvirt convert: cannot remove the incomplete %s: %s\n", dst,
                    strerror(errno));
        return;
    }
    fprintf(stderr, "gluvirt convert: %s is incomplete; remove it before using it\n", dst);
}

/* Write count zero bytes to standard output. */
static int write_zeros_fd(int fd, uint64_t count)
{
    static const unsigned char zeros[65536];

    while (count > 0) {
        size_t n = count < sizeof zeros ? (size_t)count : sizeof zeros;

        if (write_all_fd(fd, zeros, n) < 0)
            return -1;
        count -= n;
    }
    return 0;
}

/*
 * How many bytes from offset read as zeros according to the source's
 * metadata, or -1.  When it is 0, *data_run says how many bytes from offset
 * must be read instead.  Without use_status (a raw source into a raw
 * target) the source is read through (its blocks of zeros still become
 * holes): *data_run is the rest of the image.
 */
static int64_t zero_run(gluvirt_image *src, int use_status, uint64_t offset, uint64_t size,
                        uint64_t *data_run)
{
    unsigned flags = 0;
    int64_t n;

    *data_run = 0;
    if (!use_status) {
        *data_run = size - offset;
        return 0;
    }
    n = gluvirt_image_block_status(src, offset, size - offset, &flags, NULL, NULL);
    if (n < 0) {
        report_library_error(NULL);
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "gluvirt convert: the source reports no data at byte %" PRIu64
                        ", before its size %" PRIu64 ": did something shrink it while it was "
                        "copied?\n", offset, size);
        return -1;
    }
    if (flags & GLUVIRT_BLOCK_ZERO)
        return n;
    *data_run = (uint64_t)n;
    return 0;
}

static int copy_image(gluvirt_image *src, gluvirt_image *dst, const struct target_request *r,
                      uint64_t size, struct progress *progress)
{
    /* A qcow2 target skips a raw source's holes as qemu-img does (its
     * block status of raw files), not only the zeros it reads. */
    int use_status = (strcmp(gluvirt_image_format(src), "raw") != 0 ||
                      r->format == GLUVIRT_FORMAT_QCOW2) &&
                     r->sparse_block != 0; /* -S 0 allocates everything, as in qemu-img */
    unsigned char *buf;
    uint64_t offset = 0, data_run = 0; /* bytes from offset the source says hold data */
    int rc = -1;

    if (posix_memalign((void **)&buf, 4096, COPY_CHUNK) != 0) {
        fprintf(stderr, "gluvirt convert: out of memory\n");
        return -1;
    }
    progress_draw(progress, 0, size);
    while (offset < size) {
        size_t want;
        ssize_t got;

        if (data_run == 0) {
            int64_t zeros = zero_run(src, use_status, offset, size, &data_run);

            if (zeros < 0)
                goto out;
            if (zeros > 0) {
                /* A new destination reads as zeros there already. */
                if (!dst && write_zeros_fd(STDOUT_FILENO, (uint64_t)zeros) < 0)
                    goto out;
                if (dst && zero_existing(dst, r, offset, (uint64_t)zeros) < 0)
                    goto out;
                offset += (uint64_t)zeros;
                progress_draw(progress, offset, size);
                continue;
            }
        }
        want = data_run < COPY_CHUNK ? (size_t)data_run : COPY_CHUNK;
        got = gluvirt_image_pread(src, buf, want, offset);
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
        if (dst ? write_data_blocks(dst, r, buf, want, offset) < 0
                : write_all_fd(STDOUT_FILENO, buf, want) < 0)
            goto out;
        offset += want;
        data_run -= want;
        progress_draw(progress, offset, size);
    }
    rc = 0;
out:
    progress_end(progress);
    free(buf);
    return rc;
}

/* qemu-img convert's -l: "NAME", "snapshot.name=NAME" or "snapshot.id=ID". */
static const char *snapshot_argument(const char *text)
{
    if (!strncmp(text, "snapshot.name=", 14))
        return text + 14;
    if (!strncmp(text, "snapshot.id=", 12))
        return text + 12;
    return text;
}

int cmd_convert(int argc, char **argv)
{
    enum { OPT_SNAPSHOT = 256, OPT_BACKING };
    static const struct option options[] = {
        {"progress", no_argument, NULL, 'p'},
        {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"force-share", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options src_options = IMAGE_OPTIONS_DEFAULT;
    struct target_request target = {GLUVIRT_FORMAT_RAW, 0, SPARSE_BLOCK, 0, NULL,
                                     GLUVIRT_PREALLOC_OFF, 0};
    uint64_t sparse;
    struct progress progress = {0, -1.0};
    gluvirt_image *src = NULL, *dst = NULL;
    gluvirt_pool *pool = NULL;
    const char *src_name, *dst_name;
    int c, status = EXIT_FAILED, to_stdout, created = 0;
    int64_t size;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:O:o:nS:l:pUh", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_image_format("convert", optarg, &src_options.format) < 0)
                return EXIT_USAGE;
            break;
        case 'O':
            if (parse_output_format(optarg, &target.format) < 0)
                return EXIT_USAGE;
            break;
        case 'o':
            if (parse_target_options(optarg, &target) < 0)
                return EXIT_USAGE;
            break;
        case 'n':
            target.existing = 1;
            break;
        case 'S':
            if (size_arg("convert", "-S", optarg, 64u << 20, &sparse) < 0)
                return EXIT_USAGE;
            target.sparse_block = (size_t)sparse;
            break;
        case 'p':
            progress.enabled = 1;
            break;
        case 'U':
            src_options.force_share = 1;
            break;
        case 'l':
        case OPT_SNAPSHOT:
            src_options.snapshot = c == 'l' ? snapshot_argument(optarg) : optarg;
            if (!*src_options.snapshot) {
                fprintf(stderr, "gluvirt convert: an empty snapshot name\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_BACKING:
            if (parse_backing_policy("convert", optarg, &src_options.backing) < 0)
                return EXIT_USAGE;
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
    if (target.have_options && target.format != GLUVIRT_FORMAT_QCOW2) {
        fprintf(stderr, "gluvirt convert: -o sets qcow2 options; add -O qcow2\n");
        return EXIT_USAGE;
    }
    if (target.have_options && target.existing) {
        fprintf(stderr, "gluvirt convert: -o and -n exclude each other: with -n the target "
                        "exists and is not created\n");
        return EXIT_USAGE;
    }
    if (to_stdout && (target.format != GLUVIRT_FORMAT_RAW || target.existing)) {
        fprintf(stderr, "gluvirt convert: standard output takes raw only, without -n\n");
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
    if (!(pool = gluvirt_pool_new(NULL)) ||
        !(src = open_image(pool, src_name, &src_options)) ||
        (size = gluvirt_image_size(src)) < 0) {
        report_library_error(NULL);
        goto out;
    }
    note_probed_format("convert", &src_options, src_name, src);
    if (!to_stdout &&
        !(dst = open_destination(pool, dst_name, &target, (uint64_t)size, &created)))
        goto out;
    if (copy_image(src, dst, &target, (uint64_t)size, &progress) < 0)
        goto out;
    if (dst && gluvirt_image_flush(dst) < 0) {
        report_library_error(NULL);
        goto out;
    }
    status = EXIT_OK;
out:
    if (dst && gluvirt_image_close(dst) < 0) {
        report_library_error(NULL);
        status = EXIT_FAILED;
    }
    if (status != EXIT_OK && created)
        remove_created(dst_name);
    gluvirt_image_close(src);
    gluvirt_pool_free(pool);
    return status;
}

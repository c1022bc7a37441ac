/*
 * gluvirt create: make a raw or qcow2 image on a gluster volume or in a
 * local file, with qemu-img create's options and words, through a
 * connection pool (no 10 s glfs_fini wait at the end).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "size_arg.h"

static void create_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt create [-f raw|qcow2] [-o OPTION=VALUE[,...]] [-b BACKING -F FMT]\n"
            "                      [--overwrite] [--owner UID:GID] [-q] TARGET [SIZE]\n"
            "Creates an image as 'qemu-img create' does.  TARGET is a gluster URI\n"
            "(gluster://HOST/VOLUME/PATH) or a local path.  SIZE takes the suffixes k, M, G,\n"
            "T, P, E (powers of 1024) and is rounded up to a multiple of 512; without it the\n"
            "backing file's size is used.\n"
            "  -f FMT          raw (default) or qcow2\n"
            "  -o OPTIONS      cluster_size=SIZE   qcow2 cluster size, 512 to 2M (default 64k)\n"
            "                  compat=1.1|0.10     qcow2 version 3 (default) or 2\n"
            "                  preallocation=off|metadata|falloc|full\n"
            "                  backing_file=NAME, backing_fmt=FMT   the same as -b and -F\n"
            "  -b BACKING      make a qcow2 overlay of BACKING (relative to TARGET's directory,\n"
            "                  or a gluster URI); -F names its format, raw or qcow2\n"
            "  --overwrite     replace TARGET if it exists (by default an existing file is an\n"
            "                  error and stays as it was)\n"
            "  --owner U:G     give the new file to this user and group (107:107 is qemu's on\n"
            "                  Debian; needs root)\n"
            "  -q              print nothing on success\n");
}

static int parse_format(const char *text, gluvirt_format *format)
{
    if (!strcmp(text, "raw"))
        *format = GLUVIRT_FORMAT_RAW;
    else if (!strcmp(text, "qcow2"))
        *format = GLUVIRT_FORMAT_QCOW2;
    else
        return -1;
    return 0;
}

static int parse_preallocation(const char *text, gluvirt_preallocation *mode)
{
    static const char *const names[] = {"off", "metadata", "falloc", "full"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(text, names[i])) {
            *mode = (gluvirt_preallocation)i;
            return 0;
        }
    }
    return -1;
}

struct create_request {
    gluvirt_format format;
    const char *format_name;
    const char *compat;
    uint32_t cluster_size;
    const char *preallocation;
    const char *backing;
    const char *backing_format;
};

/* One -o list: "key=value,key=value". */
static int parse_o_list(char *list, struct create_request *r)
{
    char *save = NULL, *item;

    for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        uint64_t bytes;

        if (!value) {
            fprintf(stderr, "gluvirt: -o %s: expected OPTION=VALUE\n", item);
            return -1;
        }
        *value++ = '\0';
        if (!strcmp(item, "cluster_size")) {
            if (size_arg("create", "-o cluster_size", value, UINT32_MAX, &bytes) < 0)
                return -1;
            r->cluster_size = (uint32_t)bytes;
        } else if (!strcmp(item, "compat")) {
            r->compat = value;
        } else if (!strcmp(item, "preallocation")) {
            r->preallocation = value;
        } else if (!strcmp(item, "backing_file")) {
            r->backing = value;
        } else if (!strcmp(item, "backing_fmt")) {
            r->backing_format = value;
        } else {
            fprintf(stderr, "gluvirt: -o %s: unknown option; known: cluster_size, compat, "
                            "preallocation, backing_file, backing_fmt\n", item);
            return -1;
        }
    }
    return 0;
}

/* Turn the request into options; an error message and -1 on a bad value. */
static int build_options(const struct create_request *r, gluvirt_create_options *o)
{
    gluvirt_format backing_format = GLUVIRT_FORMAT_RAW;
    gluvirt_preallocation mode = GLUVIRT_PREALLOC_OFF;
    int qcow2 = r->format == GLUVIRT_FORMAT_QCOW2;

    if (!qcow2 && (r->cluster_size || r->compat)) {
        fprintf(stderr, "gluvirt: cluster_size and compat are qcow2 options; a raw image "
                        "takes only preallocation\n");
        return -1;
    }
    if (r->preallocation && parse_preallocation(r->preallocation, &mode) < 0) {
        fprintf(stderr, "gluvirt: preallocation=%s: expected off, metadata, falloc or full\n",
                r->preallocation);
        return -1;
    }
    if (r->backing && !r->backing_format) {
        fprintf(stderr, "gluvirt: -b needs the backing file's format: add -F raw or -F qcow2\n");
        return -1;
    }
    if (r->backing_format && !r->backing) {
        fprintf(stderr, "gluvirt: -F names the format of a backing file, and -b gives none\n");
        return -1;
    }
    if (r->backing_format && parse_format(r->backing_format, &backing_format) < 0) {
        fprintf(stderr, "gluvirt: -F %s: expected raw or qcow2\n", r->backing_format);
        return -1;
    }
    if (gluvirt_create_options_set_format(o, r->format) < 0 ||
        (r->cluster_size && gluvirt_create_options_set_cluster_size(o, r->cluster_size) < 0) ||
        (r->compat && gluvirt_create_options_set_compat(o, r->compat) < 0) ||
        gluvirt_create_options_set_preallocation(o, mode) < 0 ||
        (r->backing && gluvirt_create_options_set_backing(o, r->backing, backing_format) < 0)) {
        report_library_error(NULL);
        return -1;
    }
    return 0;
}

static int parse_owner(const char *text, int64_t *uid, int64_t *gid)
{
    char *end;
    long long u, g;

    errno = 0;
    u = strtoll(text, &end, 10);
    if (end == text || *end != ':' || errno)
        return -1;
    text = end + 1;
    g = strtoll(text, &end, 10);
    if (end == text || *end || errno)
        return -1;
    *uid = u;
    *gid = g;
    return 0;
}

/* The size the image got, for the summary line when it came from the backing file. */
static int64_t created_size(gluvirt_pool *pool, const char *target, gluvirt_format format)
{
    gluvirt_open_options *o = gluvirt_open_options_new();
    gluvirt_image *image;
    int64_t size = -1;

    if (o && gluvirt_open_options_set_format(o, format) == 0 &&
        gluvirt_open_options_set_backing(o, GLUVIRT_BACKING_NONE) == 0 &&
        (image = gluvirt_image_open(pool, target, o))) {
        size = gluvirt_image_size(image);
        gluvirt_image_close(image);
    }
    gluvirt_open_options_free(o);
    return size;
}

int cmd_create(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"overwrite", no_argument, NULL, 'w'},
        {"owner", required_argument, NULL, 'u'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct create_request r = {GLUVIRT_FORMAT_RAW, "raw", NULL, 0, NULL, NULL, NULL};
    gluvirt_create_options *o = gluvirt_create_options_new();
    gluvirt_pool *pool = NULL;
    int64_t uid = -1, gid = -1, size_now;
    uint64_t size = GLUVIRT_CREATE_SIZE_OF_BACKING;
    int quiet = 0, overwrite = 0, c, status = EXIT_USAGE;
    const char *target;
    double start;

    if (!o) {
        report_library_error(NULL);
        return EXIT_FAILED;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:o:b:F:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &r.format) < 0) {
                fprintf(stderr, "gluvirt: -f %s: expected raw or qcow2\n", optarg);
                goto out;
            }
            r.format_name = optarg;
            break;
        case 'o':
            if (parse_o_list(optarg, &r) < 0)
                goto out;
            break;
        case 'b':
            r.backing = optarg;
            break;
        case 'F':
            r.backing_format = optarg;
            break;
        case 'w':
            overwrite = 1;
            break;
        case 'u':
            if (parse_owner(optarg, &uid, &gid) < 0) {
                fprintf(stderr, "gluvirt: --owner %s: expected UID:GID (numbers)\n", optarg);
                goto out;
            }
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            create_usage(stdout);
            status = EXIT_OK;
            goto out;
        default:
            create_usage(stderr);
            goto out;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        create_usage(stderr);
        goto out;
    }
    target = argv[optind];
    if (argc - optind == 2 &&
        size_arg("create", "SIZE", argv[optind + 1], UINT64_MAX - 1, &size) < 0)
        goto out;
    if (argc - optind == 1 && !r.backing) {
        fprintf(stderr, "gluvirt: no SIZE given, and no backing file to take it from\n");
        goto out;
    }
    if (build_options(&r, o) < 0)
        goto out;
    if (gluvirt_create_options_set_overwrite(o, overwrite) < 0 ||
        gluvirt_create_options_set_owner(o, uid, gid) < 0) {
        report_library_error(NULL);
        goto out;
    }
    status = EXIT_FAILED;
    if (!(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        goto out;
    }
    start = seconds_now();
    if (gluvirt_image_create(pool, target, size, o) < 0) {
        report_library_error(NULL);
        goto out;
    }
    if (!quiet) {
        size_now = size == GLUVIRT_CREATE_SIZE_OF_BACKING ? created_size(pool, target, r.format)
                                                          : (int64_t)((size + 511) & ~511ull);
        printf("created '%s': fmt=%s size=%" PRId64, target, r.format_name, size_now);
        if (r.format == GLUVIRT_FORMAT_QCOW2)
            printf(" cluster_size=%" PRIu32 " compat=%s", r.cluster_size ? r.cluster_size
                   : GLUVIRT_CREATE_DEFAULT_CLUSTER_SIZE, r.compat ? r.compat : "1.1");
        if (r.backing)
            printf(" backing_file=%s backing_fmt=%s", r.backing, r.backing_format);
        printf(" preallocation=%s (%.3f s)\n", r.preallocation ? r.preallocation : "off",
               seconds_now() - start);
    }
    status = EXIT_OK;
out:
    gluvirt_create_options_free(o);
    gluvirt_pool_free(pool);
    return status;
}

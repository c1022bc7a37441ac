/*
 * gluvirt info: what an image is, in qemu-img info's words (its text lines
 * or its JSON keys, in the order QEMU 7.2 prints them), read through a
 * connection pool so that the command returns as soon as it has the answer
 * instead of waiting for glfs_fini.  --backing-chain describes every layer
 * of a qcow2 image's backing chain, top first.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "qemu_output.h"

static void info_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt info [--output=json|human] [--backing-chain] [-f FMT]\n"
            "                    [--backing any|same-store|none] [-v] [-U] TARGET\n"
            "Describes an image as 'qemu-img info' does.  TARGET is a gluster URI or a\n"
            "local path.\n"
            "  --output F      human (default) or json: one JSON object with qemu-img\n"
            "                  info's keys (--json is another spelling of --output=json)\n"
            "  --backing-chain every layer of the backing chain, top first (with JSON:\n"
            "                  a JSON array of objects)\n"
            "  -f FMT          raw or qcow2; without -f the format is probed from the image's\n"
            "                  first bytes (and a note on stderr says so)\n"
            "  --backing P     which backing files may be opened: same-store (default: the\n"
            "                  image's own volume or local directory tree), any, none\n"
            "  -v              the connection pool's counters and close time on stderr\n"
            FORCE_SHARE_USAGE);
}

/* ------------------------------------------------------------ properties */

/* A property of the image's format, or -1 / NULL when it has none. */
static int64_t property_int(gluvirt_image *image, gluvirt_info_key key)
{
    return gluvirt_image_info_int(image, key);
}

static const char *property_string(gluvirt_image *image, gluvirt_info_key key)
{
    return gluvirt_image_info_string(image, key);
}

static int is_qcow2(gluvirt_image *image)
{
    return strcmp(gluvirt_image_format(image), "qcow2") == 0;
}

/*
 * qemu-img reports the dirty flag where the driver under the format answers
 * bdrv_get_info: qcow2's own flag, false for a raw local file, and nothing
 * for a raw image on gluster (QEMU's gluster driver has no get_info).
 * Returns 0/1, or -1 when the key is absent.
 */
static int dirty_flag(gluvirt_image *image, const char *filename)
{
    if (is_qcow2(image)) {
        int64_t dirty = property_int(image, GLUVIRT_INFO_DIRTY);

        return dirty < 0 ? -1 : dirty != 0;
    }
    return is_gluster_target(filename) ? -1 : 0;
}

static int snapshot_count(gluvirt_image *image)
{
    int64_t n = is_qcow2(image) ? property_int(image, GLUVIRT_INFO_SNAPSHOT_COUNT) : 0;

    return n > 0 && n <= INT32_MAX ? (int)n : 0;
}

/* ------------------------------------------------------------ JSON */

static void json_format_specific(struct json *j, gluvirt_image *image)
{
    int64_t version = property_int(image, GLUVIRT_INFO_QCOW2_VERSION);
    const char *compression = property_string(image, GLUVIRT_INFO_COMPRESSION_TYPE);
    const char *data_file = property_string(image, GLUVIRT_INFO_DATA_FILE);
    int64_t refcount_bits = property_int(image, GLUVIRT_INFO_REFCOUNT_BITS);

    json_open(j, "format-specific", '{');
    json_string(j, "type", "qcow2");
    json_open(j, "data", '{');
    json_string(j, "compat", version >= 3 ? "1.1" : "0.10");
    json_string(j, "compression-type", compression ? compression : "zlib");
    if (version >= 3)
        json_bool(j, "lazy-refcounts", property_int(image, GLUVIRT_INFO_LAZY_REFCOUNTS) > 0);
    if (refcount_bits > 0)
        json_int(j, "refcount-bits", refcount_bits);
    if (data_file)
        json_string(j, "data-file", data_file);
    if (version >= 3) {
        json_bool(j, "corrupt", property_int(image, GLUVIRT_INFO_CORRUPT) > 0);
        json_bool(j, "extended-l2", property_int(image, GLUVIRT_INFO_EXTENDED_L2) > 0);
    }
    json_close(j, '}');
    json_close(j, '}');
}

/* One image's object, its members in the order of qemu-img 7.2. */
static void json_image(struct json *j, gluvirt_image *image, const char *filename)
{
    const char *backing = NULL, *backing_full = NULL, *backing_format = NULL;
    int64_t allocated = property_int(image, GLUVIRT_INFO_ALLOCATED_SIZE);
    int snapshots = snapshot_count(image), dirty = dirty_flag(image, filename);

    if (is_qcow2(image)) {
        backing = property_string(image, GLUVIRT_INFO_BACKING_NAME);
        backing_full = backing ? property_string(image, GLUVIRT_INFO_BACKING_FULL_NAME) : NULL;
        backing_format = backing ? property_string(image, GLUVIRT_INFO_BACKING_FORMAT) : NULL;
    }
    json_open(j, NULL, '{');
    if (backing_format)
        json_string(j, "backing-filename-format", backing_format);
    if (snapshots > 0)
        json_snapshots(j, image, snapshots);
    json_int(j, "virtual-size", gluvirt_image_size(image));
    json_string(j, "filename", filename);
    if (is_qcow2(image))
        json_int(j, "cluster-size", property_int(image, GLUVIRT_INFO_CLUSTER_SIZE));
    json_string(j, "format", gluvirt_image_format(image));
    if (allocated >= 0)
        json_int(j, "actual-size", allocated);
    if (is_qcow2(image))
        json_format_specific(j, image);
    if (backing_full)
        json_string(j, "full-backing-filename", backing_full);
    if (backing)
        json_string(j, "backing-filename", backing);
    if (dirty >= 0)
        json_bool(j, "dirty-flag", dirty);
    json_close(j, '}');
}

/* ------------------------------------------------------------ text */

static const char *true_false(int64_t value)
{
    return value > 0 ? "true" : "false";
}

/* "backing file: NAME (actual path: FULL)" and its format, as qemu-img prints them. */
static void human_backing(gluvirt_image *image)
{
    const char *backing = property_string(image, GLUVIRT_INFO_BACKING_NAME);
    const char *full, *format;

    if (!backing)
        return;
    full = property_string(image, GLUVIRT_INFO_BACKING_FULL_NAME);
    format = property_string(image, GLUVIRT_INFO_BACKING_FORMAT);
    printf("backing file: %s", backing);
    if (!full)
        printf(" (cannot determine actual path)");
    else if (strcmp(full, backing) != 0)
        printf(" (actual path: %s)", full);
    printf("\n");
    if (format)
        printf("backing file format: %s\n", format);
}

/* The "format-specific" members of the JSON, one a line. */
static void human_format_specific(gluvirt_image *image)
{
    int64_t version = property_int(image, GLUVIRT_INFO_QCOW2_VERSION);
    const char *compression = property_string(image, GLUVIRT_INFO_COMPRESSION_TYPE);
    const char *data_file = property_string(image, GLUVIRT_INFO_DATA_FILE);
    int64_t refcount_bits = property_int(image, GLUVIRT_INFO_REFCOUNT_BITS);

    printf("Format specific information:\n    compat: %s\n    compression type: %s\n",
           version >= 3 ? "1.1" : "0.10", compression ? compression : "zlib");
    if (version >= 3)
        printf("    lazy refcounts: %s\n",
               true_false(property_int(image, GLUVIRT_INFO_LAZY_REFCOUNTS)));
    if (refcount_bits > 0)
        printf("    refcount bits: %" PRId64 "\n", refcount_bits);
    if (data_file)
        printf("    data file: %s\n", data_file);
    if (version >= 3)
        printf("    corrupt: %s\n    extended l2: %s\n",
               true_false(property_int(image, GLUVIRT_INFO_CORRUPT)),
               true_false(property_int(image, GLUVIRT_INFO_EXTENDED_L2)));
}

static void human_image(gluvirt_image *image, const char *filename)
{
    int64_t size = gluvirt_image_size(image);
    int64_t allocated = property_int(image, GLUVIRT_INFO_ALLOCATED_SIZE);
    int snapshots = snapshot_count(image), i;
    char human[32], disk[32] = "unavailable";

    format_human_size((uint64_t)size, human, sizeof human);
    if (allocated >= 0)
        format_human_size((uint64_t)allocated, disk, sizeof disk);
    printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRId64 " bytes)\ndisk size: %s\n",
           filename, gluvirt_image_format(image), human, size, disk);
    if (!is_qcow2(image))
        return;
    printf("cluster_size: %" PRId64 "\n", property_int(image, GLUVIRT_INFO_CLUSTER_SIZE));
    if (dirty_flag(image, filename) > 0)
        printf("cleanly shut down: no\n");
    human_backing(image);
    if (snapshots > 0) {
        printf("Snapshot list:\n");
        human_snapshot(image, -1);
        for (i = 0; i < snapshots; i++)
            human_snapshot(image, i);
    }
    human_format_specific(image);
}

/* ------------------------------------------------------------ command */

/* Say on stderr what the output's reader may miss: a corrupt image is not
 * one to boot or copy without a check first. */
static void warn_about(gluvirt_image *image, const char *filename)
{
    if (!is_qcow2(image))
        return;
    if (property_int(image, GLUVIRT_INFO_CORRUPT) > 0)
        fprintf(stderr,
                "gluvirt info: WARNING: %s is marked CORRUPT (corrupt: true): QEMU found its\n"
                "    metadata inconsistent, and opens it read-only until it is repaired.  Its\n"
                "    data may be wrong: run 'qemu-img check' on it (and 'qemu-img check -r all'\n"
                "    on a copy) before using it.\n",
                filename);
    if (dirty_flag(image, filename) > 0)
        fprintf(stderr, "gluvirt info: note: %s was not cleanly shut down (dirty flag set): "
                        "its refcounts are repaired the next time QEMU opens it for writing\n",
                filename);
}

/* Errors that an unopenable backing file gives (and the image itself may
 * give too: the retry without a backing file tells them apart); not the
 * connection's, which a retry would only make the caller wait for twice. */
static int may_be_the_backing_file(int error)
{
    return error == EPERM || error == EACCES || error == ENOENT || error == ENOTSUP ||
           error == EINVAL || error == ELOOP || error == EIO || error == EBUSY;
}

int cmd_info(int argc, char **argv)
{
    enum { OPT_BACKING_CHAIN = 256, OPT_OUTPUT, OPT_BACKING };
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"backing-chain", no_argument, NULL, OPT_BACKING_CHAIN},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"format", required_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"force-share", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, verbose = 0, chain = 0, policy_given = 0, c, status = EXIT_FAILED;
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    gluvirt_image *image = NULL, *layer;
    gluvirt_pool *pool = NULL;
    const char *target;
    double start;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+jf:vUh", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = 1;
            break;
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
                fprintf(stderr, "gluvirt info: --output %s: say json or human\n", optarg);
                return EXIT_USAGE;
            }
            as_json = !strcmp(optarg, "json");
            break;
        case OPT_BACKING_CHAIN:
            chain = 1;
            break;
        case OPT_BACKING:
            if (parse_backing_policy("info", optarg, &open_options.backing) < 0)
                return EXIT_USAGE;
            policy_given = 1;
            break;
        case 'f':
            if (parse_image_format("info", optarg, &open_options.format) < 0)
                return EXIT_USAGE;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'U':
            open_options.force_share = 1;
            break;
        case 'h':
            info_usage(stdout);
            return EXIT_OK;
        default:
            info_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        info_usage(stderr);
        return EXIT_USAGE;
    }
    target = argv[optind];

    if (!(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        goto out;
    }
    image = open_image(pool, target, &open_options);
    if (!image && !chain && !policy_given && may_be_the_backing_file(gluvirt_errno())) {
        /* Like qemu-img info, describe the image even when its backing file
         * cannot be opened (refused, missing): say why, then go on without. */
        struct image_options without_backing = open_options;
        char *why = strdup(gluvirt_errmsg());

        without_backing.backing = GLUVIRT_BACKING_NONE;
        image = open_image(pool, target, &without_backing);
        if (image)
            fprintf(stderr, "gluvirt info: warning: %s; describing the image without its "
                            "backing file\n", why ? why : "the backing file cannot be opened");
        else if (why)
            fprintf(stderr, "gluvirt: %s\n", why);
        free(why);
        if (!image)
            goto out;
    }
    if (!image) {
        report_library_error(NULL);
        goto out;
    }
    note_probed_format("info", &open_options, target, image);
    if (gluvirt_image_size(image) < 0) {
        report_library_error(NULL);
        goto out;
    }

    if (as_json) {
        struct json j = {stdout, 0, {0}};

        if (chain)
            json_open(&j, NULL, '[');
        for (layer = image; layer; layer = chain ? gluvirt_image_backing(layer) : NULL) {
            const char *name = property_string(layer, GLUVIRT_INFO_FILENAME);

            json_image(&j, layer, layer == image || !name ? target : name);
            warn_about(layer, layer == image || !name ? target : name);
        }
        if (chain)
            json_close(&j, ']');
        fputc('\n', stdout);
    } else {
        for (layer = image; layer; layer = chain ? gluvirt_image_backing(layer) : NULL) {
            const char *name = property_string(layer, GLUVIRT_INFO_FILENAME);

            if (layer != image)
                putchar('\n');
            human_image(layer, layer == image || !name ? target : name);
            warn_about(layer, layer == image || !name ? target : name);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gluvirt info: standard output");
        goto out;
    }
    status = EXIT_OK;
out:
    gluvirt_image_close(image);
    if (pool && verbose)
        print_pool_counters(pool);
    start = seconds_now();
    gluvirt_pool_free(pool);
    if (pool && verbose)
        fprintf(stderr, "pool closed in %.3f s\n", seconds_now() - start);
    return status;
}

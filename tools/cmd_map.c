/*
 * gluvirt map: where an image's virtual disk comes from, run by run, as
 * 'qemu-img map' prints it: the JSON lines byte for byte, or the human table.
 *
 * The runs come from gluvirt_image_block_status, asked from the end of the
 * last run to the end of the range each time, as qemu-img asks the block
 * layer.  Two runs merge when qemu-img would merge them: same depth, same
 * present/zero/data flags, both with a host offset or both without, and
 * offsets that continue each other.
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

struct map_entry {
    uint64_t start;
    uint64_t length;
    int depth;
    int present, zero, data;
    int has_offset;
    uint64_t offset;
};

static void map_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt map [--output=json|human] [-f FMT] [--start-offset N]\n"
            "                   [--max-length N] [--backing any|same-store|none] [-U] TARGET\n"
            "Prints where each range of the image's virtual disk comes from, as\n"
            "'qemu-img map' does: which layer of the backing chain (depth), whether it is\n"
            "allocated (present), reads as zeros (zero), is stored data (data), and where\n"
            "in that layer's file it starts (offset).  TARGET is a gluster URI or a path.\n"
            "  --output F        human (default: the ranges that hold data, with the file\n"
            "                    they are in) or json (every range)\n"
            "  -f FMT            raw or qcow2; without -f the format is probed from the\n"
            "                    image's first bytes (and a note on stderr says so)\n"
            "  --start-offset N  begin at byte N of the virtual disk (default 0)\n"
            "  --max-length N    map at most N bytes\n"
            "  --backing P       which backing files may be opened: same-store (default),\n"
            "                    any, none\n"
            FORCE_SHARE_USAGE
            "Sizes take the suffixes k, M, G, T, P, E (powers of 1024), as in qemu-img.\n");
}

/* ------------------------------------------------------------ runs */

static int get_entry(gluvirt_image *image, uint64_t offset, uint64_t length,
                     struct map_entry *e)
{
    unsigned flags = 0;
    int depth = 0;
    int64_t host = -1;
    int64_t n = gluvirt_image_block_status(image, offset, length, &flags, &depth, &host);

    if (n < 0) {
        report_library_error(NULL);
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "gluvirt map: %s: no status for the %llu bytes at offset %llu, inside "
                        "the image's size\n",
                gluvirt_image_info_string(image, GLUVIRT_INFO_FILENAME),
                (unsigned long long)length, (unsigned long long)offset);
        return -1;
    }
    e->start = offset;
    e->length = (uint64_t)n;
    e->depth = depth;
    e->present = !!(flags & GLUVIRT_BLOCK_PRESENT);
    e->zero = !!(flags & GLUVIRT_BLOCK_ZERO);
    e->data = !!(flags & GLUVIRT_BLOCK_DATA);
    e->has_offset = host >= 0;
    e->offset = host >= 0 ? (uint64_t)host : 0;
    return 0;
}

static int mergeable(const struct map_entry *a, const struct map_entry *b)
{
    if (a->length == 0 || a->zero != b->zero || a->data != b->data || a->depth != b->depth ||
        a->present != b->present || a->has_offset != b->has_offset)
        return 0;
    return !a->has_offset || a->offset + a->length == b->offset;
}

/* ------------------------------------------------------------ output */

/*
 * The name qemu-img prints for the file that holds a run at depth: the
 * layer's file, or its external data file under the name the image stores
 * (QEMU 7.2 opens that name as it is, relative to its working directory).
 * Returns a new string, or NULL.
 */
static char *layer_file_name(gluvirt_image *image, int depth)
{
    gluvirt_image *layer = image;
    const char *name, *data_file;

    while (depth-- > 0 && layer)
        layer = gluvirt_image_backing(layer);
    if (!layer || !(name = gluvirt_image_info_string(layer, GLUVIRT_INFO_FILENAME)))
        return NULL;
    data_file = strcmp(gluvirt_image_format(layer), "qcow2") == 0
                    ? gluvirt_image_info_string(layer, GLUVIRT_INFO_DATA_FILE) : NULL;
    return strdup(data_file ? data_file : name);
}

static void print_json_entry(const struct map_entry *e, int last)
{
    printf("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s,"
           " \"zero\": %s, \"data\": %s",
           e->start, e->length, e->depth, e->present ? "true" : "false",
           e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset)
        printf(", \"offset\": %" PRIu64, e->offset);
    fputs(last ? "}" : "},\n", stdout);
}

/* One line of the human table; like qemu-img, it refuses runs it cannot
 * place in a file. */
static int print_human_entry(gluvirt_image *image, const struct map_entry *e,
                             struct map_entry *next)
{
    if (e->data && !e->has_offset) {
        fprintf(stderr, "gluvirt map: the image holds compressed clusters, which have no place "
                        "in a file to show; use --output=json\n");
        return -1;
    }
    if (e->data && !e->zero) {
        char *file = layer_file_name(image, e->depth);

        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
               e->offset, file ? file : "");
        free(file);
    }
    /* The table does not tell zeros from unallocated ranges, so neither
     * does the merging of the runs after this one (qemu-img does the same). */
    if (next && (!next->data || next->zero)) {
        next->data = 0;
        next->zero = 1;
    }
    return 0;
}

static int map_image(gluvirt_image *image, uint64_t start, uint64_t end, int as_json)
{
    struct map_entry current = {start, 0, 0, 0, 0, 0, 0, 0}, next;

    if (as_json)
        putchar('[');
    else
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    while (current.start + current.length < end) {
        uint64_t offset = current.start + current.length;

        if (get_entry(image, offset, end - offset, &next) < 0)
            return -1;
        if (mergeable(&current, &next)) {
            current.length += next.length;
            continue;
        }
        if (current.length > 0) {
            if (as_json)
                print_json_entry(&current, 0);
            else if (print_human_entry(image, &current, &next) < 0)
                return -1;
        }
        current = next;
    }
    if (as_json) {
        print_json_entry(&current, 1);
        puts("]");
    } else if (print_human_entry(image, &current, NULL) < 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ command */

int cmd_map(int argc, char **argv)
{
    enum { OPT_OUTPUT = 256, OPT_START, OPT_MAX_LENGTH, OPT_BACKING };
    static const struct option options[] = {
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"start-offset", required_argument, NULL, OPT_START},
        {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"format", required_argument, NULL, 'f'},
        {"force-share", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    uint64_t start = 0, max_length = UINT64_MAX, end;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;
    int as_json = 0, c, status = EXIT_FAILED;
    const char *target;
    int64_t size;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:Uh", options, NULL)) != -1) {
        switch (c) {
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
                fprintf(stderr, "gluvirt map: --output %s: say json or human\n", optarg);
                return EXIT_USAGE;
            }
            as_json = !strcmp(optarg, "json");
            break;
        case OPT_START:
        case OPT_MAX_LENGTH:
            if (size_arg("map", c == OPT_START ? "--start-offset" : "--max-length", optarg,
                         INT64_MAX, c == OPT_START ? &start : &max_length) < 0)
                return EXIT_USAGE;
            break;
        case OPT_BACKING:
            if (parse_backing_policy("map", optarg, &open_options.backing) < 0)
                return EXIT_USAGE;
            break;
        case 'f':
            if (parse_image_format("map", optarg, &open_options.format) < 0)
                return EXIT_USAGE;
            break;
        case 'U':
            open_options.force_share = 1;
            break;
        case 'h':
            map_usage(stdout);
            return EXIT_OK;
        default:
            map_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        map_usage(stderr);
        return EXIT_USAGE;
    }
    target = argv[optind];

    if (!(pool = gluvirt_pool_new(NULL)) ||
        !(image = open_image(pool, target, &open_options)) ||
        (size = gluvirt_image_size(image)) < 0) {
        report_library_error(NULL);
        goto out;
    }
    note_probed_format("map", &open_options, target, image);
    end = (uint64_t)size;
    if (max_length != UINT64_MAX && max_length < end && start < end - max_length)
        end = start + max_length;
    if (map_image(image, start, end, as_json) < 0)
        goto out;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gluvirt map: standard output");
        goto out;
    }
    status = EXIT_OK;
out:
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    return status;
}

/*
 * gluvirt info: what an image is, in qemu-img info's words (its text lines
 * or its JSON keys), read through a connection pool so that the command
 * returns as soon as it has the answer instead of waiting for glfs_fini.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

static void info_usage(FILE *out)
{
    fprintf(out, "usage: gluvirt info [--json] [-v] TARGET\n"
                 "Prints an image's format and virtual size as 'qemu-img info' does.  TARGET is\n"
                 "a gluster URI or a local path.  The format is read from the image's header.\n"
                 "  --json     one JSON object with qemu-img info's keys (filename, format,\n"
                 "             virtual-size)\n"
                 "  -v         the connection pool's counters and close time on stderr\n");
}

/*
 * A size as qemu-img writes it: the largest binary unit that leaves a
 * value under 1000 (so 1000000 bytes is "977 KiB", 1024000 is "0.977 MiB"),
 * with three significant digits.
 */
static void format_human_size(uint64_t bytes, char *out, size_t out_size)
{
    static const char *const units[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    uint64_t threshold = 1000; /* 1000 * 1024^(unit - 1): where the next unit starts */
    unsigned unit = 0;

    while (unit + 1 < sizeof units / sizeof units[0] && bytes >= threshold) {
        unit++;
        if (threshold > UINT64_MAX / 1024)
            break;
        threshold *= 1024;
    }
    snprintf(out, out_size, "%0.3g %sB", (double)bytes / (double)(UINT64_C(1) << (10 * unit)),
             units[unit]);
}

int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, verbose = 0, c, status = EXIT_FAILED;
    gluvirt_open_options *open_options = NULL;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;
    const char *target;
    int64_t size;
    double start;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+jvh", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = 1;
            break;
        case 'v':
            verbose = 1;
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

    /* Probing is right here: info reports what the bytes say, and opens
     * read-only, so a guest-written header can mislead nothing but this
     * report. */
    if (!(open_options = gluvirt_open_options_new()) ||
        gluvirt_open_options_set_format(open_options, GLUVIRT_FORMAT_PROBE) < 0 ||
        !(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        goto out;
    }
    if (!(image = gluvirt_image_open(pool, target, open_options))) {
        report_library_error(NULL);
        goto out;
    }
    if ((size = gluvirt_image_size(image)) < 0) {
        report_library_error(NULL);
        goto out;
    }
    if (as_json) {
        printf("{\n    \"virtual-size\": %" PRId64 ",\n    \"filename\": ", size);
        print_json_string(stdout, target);
        printf(",\n    \"format\": ");
        print_json_string(stdout, gluvirt_image_format(image));
        printf("\n}\n");
    } else {
        char human[32];

        format_human_size((uint64_t)size, human, sizeof human);
        printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRId64 " bytes)\n", target,
               gluvirt_image_format(image), human, size);
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
    gluvirt_open_options_free(open_options);
    return status;
}

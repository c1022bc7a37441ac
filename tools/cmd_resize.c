/*
 * gluvirt resize: change a raw or qcow2 image's virtual size, as qemu-img
 * resize does: "N" sets it, "+N" grows by N, "-N" shrinks by N (shrinking
 * only with --shrink).  Prints "Image resized."; exit 0, or 1 on any error
 * (qemu-img's codes).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "progress.h"
#include "size_arg.h"
#include "verb_target.h"

static void resize_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt resize [--shrink] [-f FMT] [-q] IMAGE [+|-]SIZE\n"
            "Changes the virtual size of a raw or qcow2 image, as 'qemu-img resize' does.\n"
            "IMAGE is a gluster URI, a json:{...} target or a local path.  SIZE sets the\n"
            "size, +SIZE grows the image by SIZE, -SIZE shrinks it (suffixes k, M, G, T, P,\n"
            "E).\n"
            "  --shrink   allow a size below the current one: the data past it is lost\n"
            "  -f FMT     the image's format: raw or qcow2 (a qcow2 size must be a\n"
            "             multiple of 512); without -f it is probed\n"
            "  -q         print nothing on success\n");
}

int cmd_resize(int argc, char **argv)
{
    enum { OPT_SHRINK = 256, OPT_PREALLOCATION };
    static const struct option options[] = {
        {"shrink", no_argument, NULL, OPT_SHRINK},
        {"preallocation", required_argument, NULL, OPT_PREALLOCATION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    int shrink = 0, quiet = 0, sign, c, status = EXIT_FAILED;
    gluvirt_verb_options *verb = NULL;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;
    const char *size_text;
    uint64_t amount, size;
    struct progress progress;
    int64_t current;

    if (argc < 3) {
        fprintf(stderr, "gluvirt resize: Not enough arguments\n");
        resize_usage(stderr);
        return EXIT_FAILED;
    }
    /* The size is the last word, taken before the options are read so that
     * "-1G" is not read as one (as qemu-img does). */
    size_text = argv[--argc];
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:qh", options, NULL)) != -1) {
        switch (c) {
        case OPT_SHRINK:
            shrink = 1;
            break;
        case OPT_PREALLOCATION:
            if (strcmp(optarg, "off")) {
                fprintf(stderr, "gluvirt resize: --preallocation=%s: only off is supported "
                                "in this version\n", optarg);
                return EXIT_FAILED;
            }
            break;
        case 'f':
            if (parse_image_format("resize", optarg, &open_options.format) < 0)
                return EXIT_FAILED;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            resize_usage(stdout);
            return EXIT_OK;
        default:
            resize_usage(stderr);
            return EXIT_FAILED;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "gluvirt resize: expecting one image name and a size\n");
        resize_usage(stderr);
        return EXIT_FAILED;
    }
    if (resize_size_arg("resize", size_text, &sign, &amount) < 0)
        return EXIT_FAILED;
    if (!(pool = gluvirt_pool_new(NULL)) || !(verb = gluvirt_verb_options_new()) ||
        !(image = open_verb_image(pool, argv[optind], &open_options, 1)) ||
        (current = gluvirt_image_size(image)) < 0) {
        report_library_error("resize");
        goto out;
    }
    if (!quiet)
        note_probed_format("resize", &open_options, argv[optind], image);
    if (sign > 0 && amount > (uint64_t)(INT64_MAX - current)) {
        fprintf(stderr, "gluvirt resize: %s: %" PRId64 " + %" PRIu64 " bytes is past the "
                        "largest size an image can have\n", argv[optind], current, amount);
        goto out;
    }
    size = sign > 0 ? (uint64_t)current + amount
                    : sign < 0 ? (amount >= (uint64_t)current ? 0 : (uint64_t)current - amount)
                               : amount;
    if (size == 0) {
        fprintf(stderr, "gluvirt resize: %s: New image size must be positive (the image has "
                        "%" PRId64 " bytes)\n", argv[optind], current);
        goto out;
    }
    gluvirt_verb_options_set_shrink(verb, shrink);
    progress_begin(&progress, 0);
    gluvirt_verb_options_set_progress(verb, progress_report, &progress);
    c = gluvirt_image_resize(image, size, verb);
    progress_end(&progress);
    if (c < 0) {
        report_library_error("resize");
        goto out;
    }
    if (gluvirt_image_close(image) < 0) {
        image = NULL;
        report_library_error("resize");
        goto out;
    }
    image = NULL;
    if (!quiet)
        printf("Image resized.\n");
    status = EXIT_OK;
out:
    gluvirt_image_close(image);
    gluvirt_verb_options_free(verb);
    gluvirt_pool_free(pool);
    return status;
}

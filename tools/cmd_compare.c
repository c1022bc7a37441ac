/*
 * gluvirt compare: whether two images read the same, with qemu-img
 * compare's flags, words and exit codes: 0 identical, 1 different (or a
 * wrong command line), 2 an image could not be opened (or the comparison
 * was interrupted), 4 a read or block status query failed.
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
#include "verb_target.h"

enum { COMPARE_IDENTICAL = 0, COMPARE_DIFFERENT = 1, COMPARE_OPEN_FAILED = 2,
       COMPARE_IO_FAILED = 4 };

static void compare_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt compare [-f FMT] [-F FMT] [-s] [-p] [-q]\n"
            "                       [--backing any|same-store|none] IMAGE1 IMAGE2\n"
            "Says whether two images read the same, as 'qemu-img compare' does.  Each\n"
            "IMAGE is a gluster URI, a json:{...} target or a local path.\n"
            "  -f FMT, -F FMT  the format of IMAGE1, IMAGE2: raw or qcow2 (without them the\n"
            "                  format is probed from the image's first bytes)\n"
            "  -s              strict: images of different sizes differ, and so do ranges\n"
            "                  one image allocates and the other does not\n"
            "  -p              show progress on stderr (Ctrl-C stops cleanly)\n"
            "  -q              print nothing; only the exit code tells\n"
            "  --backing P     which backing files may be opened: same-store (default),\n"
            "                  any, none\n"
            "Exit codes: 0 identical, 1 different (or a wrong command line, as qemu-img),\n"
            "2 an image could not be opened or the comparison was interrupted, 4 a read\n"
            "failed.\n");
}

/* What qemu-img prints for the result, on stdout. */
static void print_result(int result, uint64_t offset, int64_t size1, int64_t size2)
{
    switch (result) {
    case GLUVIRT_COMPARE_SIZE_MISMATCH:
        printf("Strict mode: Image size mismatch!\n");
        break;
    case GLUVIRT_COMPARE_STATUS_MISMATCH:
        printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", offset);
        break;
    case GLUVIRT_COMPARE_CONTENT_MISMATCH:
        /* qemu-img warns about the sizes once the common part is equal */
        if (size1 != size2 && offset >= (uint64_t)(size1 < size2 ? size1 : size2))
            printf("Warning: Image size mismatch!\n");
        printf("Content mismatch at offset %" PRIu64 "!\n", offset);
        break;
    default:
        if (size1 != size2)
            printf("Warning: Image size mismatch!\n");
        printf("Images are identical.\n");
    }
}

int cmd_compare(int argc, char **argv)
{
    enum { OPT_BACKING = 256 };
    static const struct option options[] = {
        {"backing", required_argument, NULL, OPT_BACKING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options open1 = IMAGE_OPTIONS_DEFAULT, open2 = IMAGE_OPTIONS_DEFAULT;
    int strict = 0, show = 0, quiet = 0, c, status = COMPARE_OPEN_FAILED, result;
    gluvirt_image *image1 = NULL, *image2 = NULL;
    gluvirt_verb_options *verb = NULL;
    gluvirt_pool *pool = NULL;
    struct progress progress;
    uint64_t offset = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:F:spqh", options, NULL)) != -1) {
        switch (c) {
        case 'f':
        case 'F':
            if (parse_image_format("compare", optarg, c == 'f' ? &open1.format
                                                               : &open2.format) < 0)
                return EXIT_USAGE;
            break;
        case 's':
            strict = 1;
            break;
        case 'p':
            show = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case OPT_BACKING:
            if (parse_backing_policy("compare", optarg, &open1.backing) < 0)
                return EXIT_USAGE;
            open2.backing = open1.backing;
            break;
        case 'h':
            compare_usage(stdout);
            return EXIT_OK;
        default:
            compare_usage(stderr);
            return EXIT_FAILED; /* qemu-img's code for a bad command line */
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "gluvirt compare: expecting two image names\n");
        compare_usage(stderr);
        return EXIT_FAILED;
    }
    if (!(pool = gluvirt_pool_new(NULL)) || !(verb = gluvirt_verb_options_new())) {
        report_library_error("compare");
        goto out;
    }
    if (!(image1 = open_verb_image(pool, argv[optind], &open1, 0))) {
        report_library_error("compare");
        goto out;
    }
    if (!(image2 = open_verb_image(pool, argv[optind + 1], &open2, 0))) {
        report_library_error("compare");
        goto out;
    }
    if (!quiet) {
        note_probed_format("compare", &open1, argv[optind], image1);
        note_probed_format("compare", &open2, argv[optind + 1], image2);
    }
    progress_begin(&progress, show && !quiet);
    gluvirt_verb_options_set_strict(verb, strict);
    gluvirt_verb_options_set_progress(verb, progress_report, &progress);
    result = gluvirt_image_compare(image1, image2, verb, &offset);
    progress_end(&progress);
    if (result < 0) {
        if (gluvirt_errno() == ECANCELED)
            fprintf(stderr, "gluvirt compare: interrupted: %s\n", gluvirt_errmsg());
        else
            report_library_error("compare");
        status = gluvirt_errno() == ECANCELED ? COMPARE_OPEN_FAILED : COMPARE_IO_FAILED;
        goto out;
    }
    if (!quiet)
        print_result(result, offset, gluvirt_image_size(image1), gluvirt_image_size(image2));
    status = result == GLUVIRT_COMPARE_IDENTICAL ? COMPARE_IDENTICAL : COMPARE_DIFFERENT;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gluvirt compare: standard output");
        status = COMPARE_IO_FAILED;
    }
out:
    gluvirt_image_close(image2);
    gluvirt_image_close(image1);
    gluvirt_verb_options_free(verb);
    gluvirt_pool_free(pool);
    return status;
}

/*
 * gluvirt check: check an image's metadata, and repair it, as 'qemu-img
 * check [-r leaks|all] [--output=json]' does: the same text or JSON keys
 * (in the order QEMU 7.2 prints them), the same lines about each problem
 * on stderr, and the same exit codes:
 *    0  the image is clean           2  corruptions found
 *    1  the check could not be done  3  leaks found, nothing else
 *   63  the format has no checks (raw)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

enum { EXIT_CORRUPT = 2, EXIT_LEAKS = 3, EXIT_NO_CHECKS = 63 };

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt check [-f FMT] [-r leaks|all] [--output=human|json] [-U] [-q]\n"
            "                     [--backing any|same-store|none] TARGET\n"
            "Checks an image's metadata as 'qemu-img check' does, and with -r repairs it.\n"
            "TARGET is a gluster URI, QEMU's json: form, or a local path.\n"
            "  -f FMT          raw or qcow2; without -f the format is probed\n"
            "  -r leaks        repair leaked clusters (refcounts higher than their use)\n"
            "  -r all          also repair refcounts too low and wrong COPIED flags, and\n"
            "                  rebuild a broken refcount structure\n"
            "  --output=json   one JSON object with qemu-img check's keys\n"
            "  -U              accepted for qemu-img's sake: no lock is ever taken\n"
            "  -q              print nothing but errors\n"
            "  --backing P     which backing files may be opened (default none: a\n"
            "                  check reads no guest data)\n"
            "Exit status: 0 clean, 1 the check failed, 2 corruptions, 3 leaks only,\n"
            "63 the format has no checks (raw).\n");
}

static int64_t value(const gluvirt_check_result *r, gluvirt_check_value key)
{
    return gluvirt_check_result_value(r, key);
}

/* The keys in QEMU 7.2's order (its dictionary's hash order); those that
 * are 0 are left out, as qemu-img leaves them out, except check-errors. */
static void print_json(const gluvirt_check_result *r, const char *target, const char *format)
{
    static const struct {
        const char *name;
        gluvirt_check_value key;
    } keys[] = {
        {"image-end-offset", GLUVIRT_CHECK_IMAGE_END_OFFSET},
        {"compressed-clusters", GLUVIRT_CHECK_COMPRESSED_CLUSTERS},
        {"total-clusters", GLUVIRT_CHECK_TOTAL_CLUSTERS},
        {"corruptions", GLUVIRT_CHECK_CORRUPTIONS},
        {"corruptions-fixed", GLUVIRT_CHECK_CORRUPTIONS_FIXED},
        {"check-errors", GLUVIRT_CHECK_CHECK_ERRORS},
        {"leaks", GLUVIRT_CHECK_LEAKS},
        {"leaks-fixed", GLUVIRT_CHECK_LEAKS_FIXED},
        {"allocated-clusters", GLUVIRT_CHECK_ALLOCATED_CLUSTERS},
        {NULL, 0}, /* filename and format */
        {"fragmented-clusters", GLUVIRT_CHECK_FRAGMENTED_CLUSTERS},
    };
    const char *sep = "{\n";

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int64_t v;

        if (!keys[i].name) {
            printf("%s    \"filename\": ", sep);
            print_json_string(stdout, target);
            printf(",\n    \"format\": ");
            print_json_string(stdout, format);
            sep = ",\n";
            continue;
        }
        v = value(r, keys[i].key);
        if (v == 0 && keys[i].key != GLUVIRT_CHECK_CHECK_ERRORS)
            continue;
        printf("%s    \"%s\": %" PRId64, sep, keys[i].name, v);
        sep = ",\n";
    }
    printf("\n}\n");
}

static void print_human(const gluvirt_check_result *r)
{
    int64_t corruptions = value(r, GLUVIRT_CHECK_CORRUPTIONS);
    int64_t leaks = value(r, GLUVIRT_CHECK_LEAKS), errors = value(r, GLUVIRT_CHECK_CHECK_ERRORS);
    int64_t total = value(r, GLUVIRT_CHECK_TOTAL_CLUSTERS);
    int64_t allocated = value(r, GLUVIRT_CHECK_ALLOCATED_CLUSTERS);
    int64_t end = value(r, GLUVIRT_CHECK_IMAGE_END_OFFSET);

    if (!corruptions && !leaks && !errors)
        printf("No errors were found on the image.\n");
    if (corruptions)
        printf("\n%" PRId64 " errors were found on the image.\nData may be corrupted, or "
               "further writes to the image may corrupt it.\n", corruptions);
    if (leaks)
        printf("\n%" PRId64 " leaked clusters were found on the image.\nThis means waste of "
               "disk space, but no harm to data.\n", leaks);
    if (errors)
        printf("\n%" PRId64 " internal errors have occurred during the check.\n", errors);
    if (total && allocated)
        printf("%" PRId64 "/%" PRId64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n", allocated, total, allocated * 100.0 / total,
               value(r, GLUVIRT_CHECK_FRAGMENTED_CLUSTERS) * 100.0 / allocated,
               value(r, GLUVIRT_CHECK_COMPRESSED_CLUSTERS) * 100.0 / allocated);
    if (end)
        printf("Image end offset: %" PRId64 "\n", end);
}

static gluvirt_image *open_for_check(gluvirt_pool *pool, const char *target,
                                     const struct image_options *o, int repair)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_format(options, o->format) == 0 &&
        gluvirt_open_options_set_backing(options, o->backing) == 0 &&
        gluvirt_open_options_set_repair(options, repair) == 0)
        image = gluvirt_image_open(pool, target, options);
    gluvirt_open_options_free(options);
    return image;
}

static int parse_repair(const char *text, unsigned *flags)
{
    if (!strcmp(text, "leaks"))
        *flags = GLUVIRT_CHECK_REPAIR_LEAKS;
    else if (!strcmp(text, "all"))
        *flags = GLUVIRT_CHECK_REPAIR_ALL;
    else {
        fprintf(stderr, "gluvirt check: --repair (-r) expects 'leaks' or 'all', not '%s'\n",
                text);
        return -1;
    }
    return 0;
}

/* Check (and repair) the open image, print what qemu-img prints, and
 * return its exit code. */
static int run_check(gluvirt_image *image, const char *target, unsigned flags, int as_json,
                     int quiet)
{
    gluvirt_check_result *r = NULL;
    int status;

    if (gluvirt_image_check(image, flags, &r) < 0) {
        if (gluvirt_errno() == ENOTSUP && !strcmp(gluvirt_image_format(image), "raw")) {
            fprintf(stderr, "gluvirt check: This image format does not support checks\n");
            return EXIT_NO_CHECKS;
        }
        report_library_error("check failed");
        return EXIT_FAILED;
    }
    for (size_t i = 0; i < gluvirt_check_result_message_count(r); i++)
        fprintf(stderr, "%s\n", gluvirt_check_result_message(r, i));
    if (!quiet && !as_json &&
        (value(r, GLUVIRT_CHECK_LEAKS_FIXED) || value(r, GLUVIRT_CHECK_CORRUPTIONS_FIXED)))
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %" PRId64 " leaked clusters\n    %" PRId64 " corruptions\n\n"
               "Double checking the fixed image now...\n",
               value(r, GLUVIRT_CHECK_LEAKS_FIXED), value(r, GLUVIRT_CHECK_CORRUPTIONS_FIXED));
    if (!quiet) {
        if (as_json)
            print_json(r, target, gluvirt_image_format(image));
        else
            print_human(r);
    }
    if (value(r, GLUVIRT_CHECK_CHECK_ERRORS)) {
        fprintf(stderr, "gluvirt check: Check failed\n");
        status = EXIT_FAILED;
    } else if (value(r, GLUVIRT_CHECK_CORRUPTIONS)) {
        status = EXIT_CORRUPT;
    } else {
        status = value(r, GLUVIRT_CHECK_LEAKS) ? EXIT_LEAKS : EXIT_OK;
    }
    gluvirt_check_result_free(r);
    return status;
}

int cmd_check(int argc, char **argv)
{
    enum { OPT_OUTPUT = 256, OPT_BACKING };
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"repair", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"force-share", no_argument, NULL, 'U'},
        {"quiet", no_argument, NULL, 'q'},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    int as_json = 0, quiet = 0, force_share = 0, c, status = EXIT_FAILED;
    unsigned flags = 0;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;
    const char *target;

    open_options.backing = GLUVIRT_BACKING_NONE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:r:Uqh", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_image_format("check", optarg, &open_options.format) < 0)
                return EXIT_USAGE;
            break;
        case 'r':
            if (parse_repair(optarg, &flags) < 0)
                return EXIT_USAGE;
            break;
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
                fprintf(stderr, "gluvirt check: --output %s: say json or human\n", optarg);
                return EXIT_USAGE;
            }
            as_json = !strcmp(optarg, "json");
            break;
        case 'U':
            force_share = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case OPT_BACKING:
            if (parse_backing_policy("check", optarg, &open_options.backing) < 0)
                return EXIT_USAGE;
            break;
        case 'h':
            check_usage(stdout);
            return EXIT_OK;
        default:
            check_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        check_usage(stderr);
        return EXIT_USAGE;
    }
    if (force_share && flags) {
        fprintf(stderr, "gluvirt check: -U (--force-share) and -r (--repair) do not go "
                        "together: a repair writes the image\n");
        return EXIT_USAGE;
    }
    target = argv[optind];
    if (!(pool = gluvirt_pool_new(NULL))) {
        report_library_error(NULL);
        return EXIT_FAILED;
    }
    if (!(image = open_for_check(pool, target, &open_options, flags != 0)))
        report_library_error(NULL);
    else
        status = run_check(image, target, flags, as_json, quiet);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gluvirt check: standard output");
        status = EXIT_FAILED;
    }
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    return status;
}

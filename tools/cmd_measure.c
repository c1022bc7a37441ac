/*
 * gluvirt measure: the size an image would take, as qemu-img measure
 * prints it: "required size" (what the data needs) and "fully allocated
 * size", for a new image of --size bytes or for a copy of an existing
 * image, raw or qcow2 with qemu-img's -o options.  Exit 0, or 1 on any
 * error (qemu-img's codes).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "progress.h"
#include "size_arg.h"
#include "verb_target.h"

static void measure_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt measure [--output=json|human] [-O FMT] [-o OPTION=VALUE[,...]]\n"
            "                       [-f FMT] [-p] (--size N | IMAGE)\n"
            "Prints the bytes an image would take, as 'qemu-img measure' does: a new image\n"
            "of N bytes, or a copy of IMAGE (a gluster URI, json:{...} target or path).\n"
            "  --output F   human (default) or json, with qemu-img's keys \"required\" and\n"
            "               \"fully-allocated\"\n"
            "  -O FMT       the format to measure for: raw (default) or qcow2\n"
            "  -o OPTIONS   qcow2: cluster_size=SIZE, compat=1.1|0.10, refcount_bits=1..64,\n"
            "               extended_l2=on|off, preallocation=off|metadata|falloc|full,\n"
            "               backing_file=NAME (every cluster counts), backing_fmt=FMT;\n"
            "               raw: preallocation\n"
            "  -f FMT       IMAGE's format, raw or qcow2 (default: probed)\n"
            "  --size N     measure a new image of N bytes (suffixes k, M, G, T, P, E)\n"
            "  -p           show progress on stderr while IMAGE is scanned\n");
}

static int parse_bool(const char *text, int *out)
{
    if (!strcmp(text, "on") || !strcmp(text, "true") || !strcmp(text, "yes"))
        *out = 1;
    else if (!strcmp(text, "off") || !strcmp(text, "false") || !strcmp(text, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_preallocation(const char *text, gluvirt_preallocation *out)
{
    static const char *const names[] = {"off", "metadata", "falloc", "full"};
    int i;

    for (i = 0; i < 4; i++)
        if (!strcmp(text, names[i])) {
            *out = (gluvirt_preallocation)i;
            return 0;
        }
    return -1;
}

/* Apply one -o item to the options; a line on stderr and -1 when refused. */
static int apply_item(gluvirt_verb_options *verb, int qcow2, const char *key, const char *value,
                      int *target_v2)
{
    gluvirt_preallocation mode;
    uint64_t bytes;
    int flag;

    if (!strcmp(key, "preallocation")) {
        if (parse_preallocation(value, &mode) < 0 || (!qcow2 && mode == GLUVIRT_PREALLOC_METADATA)) {
            fprintf(stderr, "gluvirt measure: -o preallocation=%s: say off, falloc or full%s\n",
                    value, qcow2 ? " or metadata" : " (metadata is for qcow2)");
            return -1;
        }
        return gluvirt_verb_options_set_preallocation(verb, mode);
    }
    if (!qcow2) {
        fprintf(stderr, "gluvirt measure: -o %s: a raw image takes only preallocation\n", key);
        return -1;
    }
    if (!strcmp(key, "cluster_size")) {
        if (size_arg("measure", "-o cluster_size", value, 2u << 20, &bytes) < 0)
            return -1;
        return gluvirt_verb_options_set_cluster_size(verb, bytes);
    }
    if (!strcmp(key, "compat")) {
        *target_v2 = !strcmp(value, "0.10") || !strcmp(value, "v2");
        return gluvirt_verb_options_set_compat(verb, value);
    }
    if (!strcmp(key, "refcount_bits")) {
        if (size_arg("measure", "-o refcount_bits", value, 64, &bytes) < 0)
            return -1;
        return gluvirt_verb_options_set_refcount_bits(verb, (unsigned)bytes);
    }
    if (!strcmp(key, "extended_l2") || !strcmp(key, "lazy_refcounts")) {
        if (parse_bool(value, &flag) < 0) {
            fprintf(stderr, "gluvirt measure: -o %s=%s: say on or off\n", key, value);
            return -1;
        }
        /* lazy refcounts change no size */
        return strcmp(key, "extended_l2") ? 0 : gluvirt_verb_options_set_extended_l2(verb, flag);
    }
    if (!strcmp(key, "backing_file"))
        return gluvirt_verb_options_set_backing(verb, 1);
    if (!strcmp(key, "backing_fmt"))
        return 0;
    fprintf(stderr, "gluvirt measure: -o %s: unknown option; known: cluster_size, compat, "
                    "refcount_bits, extended_l2, lazy_refcounts, preallocation, backing_file, "
                    "backing_fmt\n", key);
    return -1;
}

static int apply_o_list(gluvirt_verb_options *verb, int qcow2, char *list, int *target_v2)
{
    char *save = NULL, *item;

    for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');

        if (!value) {
            fprintf(stderr, "gluvirt measure: -o %s: expected OPTION=VALUE\n", item);
            return -1;
        }
        *value++ = '\0';
        if (apply_item(verb, qcow2, item, value, target_v2) < 0) {
            if (gluvirt_errno())
                fprintf(stderr, "gluvirt measure: -o %s=%s: %s\n", item, value,
                        gluvirt_errmsg());
            return -1;
        }
    }
    return 0;
}

int cmd_measure(int argc, char **argv)
{
    enum { OPT_OUTPUT = 256, OPT_SIZE, OPT_BACKING };
    static const struct option options[] = {
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"size", required_argument, NULL, OPT_SIZE},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    const char *size_text = NULL, *out_format = "raw";
    char *o_lists[16];
    int n_lists = 0, as_json = 0, show = 0, c, i, status = EXIT_FAILED, target_v2 = 0;
    int bitmaps = 0;
    uint64_t size = 0, required = 0, full = 0;
    gluvirt_verb_options *verb = NULL;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;
    struct progress progress;

    optind = 1;
    while ((c = getopt_long(argc, argv, "O:o:f:l:pUh", options, NULL)) != -1) {
        switch (c) {
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
                fprintf(stderr, "gluvirt measure: --output %s: say json or human\n", optarg);
                return EXIT_FAILED;
            }
            as_json = !strcmp(optarg, "json");
            break;
        case OPT_SIZE:
            size_text = optarg;
            break;
        case OPT_BACKING:
            if (parse_backing_policy("measure", optarg, &open_options.backing) < 0)
                return EXIT_FAILED;
            break;
        case 'O':
            out_format = optarg;
            break;
        case 'o':
            if (n_lists == (int)(sizeof o_lists / sizeof o_lists[0])) {
                fprintf(stderr, "gluvirt measure: too many -o options; join them with ','\n");
                return EXIT_FAILED;
            }
            o_lists[n_lists++] = optarg;
            break;
        case 'f':
            if (parse_image_format("measure", optarg, &open_options.format) < 0)
                return EXIT_FAILED;
            break;
        case 'l':
            open_options.snapshot = optarg;
            break;
        case 'p':
            show = 1;
            break;
        case 'U':
            break; /* images are opened read-only and unlocked anyway */
        case 'h':
            measure_usage(stdout);
            return EXIT_OK;
        default:
            measure_usage(stderr);
            return EXIT_FAILED;
        }
    }
    if (argc - optind > 1 || (!size_text && optind == argc)) {
        fprintf(stderr, "gluvirt measure: Either --size N or one filename must be specified.\n");
        return EXIT_FAILED;
    }
    if (size_text && optind < argc) {
        fprintf(stderr, "gluvirt measure: --size N cannot be used together with a filename.\n");
        return EXIT_FAILED;
    }
    if (size_text && size_arg("measure", "--size", size_text, INT64_MAX, &size) < 0)
        return EXIT_FAILED;
    if (!(verb = gluvirt_verb_options_new())) {
        report_library_error("measure");
        return EXIT_FAILED;
    }
    if (strcmp(out_format, "raw") && strcmp(out_format, "qcow2")) {
        fprintf(stderr, "gluvirt measure: -O %s: libgluvirt measures raw and qcow2 images\n",
                out_format);
        goto out;
    }
    gluvirt_verb_options_set_format(verb, strcmp(out_format, "qcow2") ? GLUVIRT_FORMAT_RAW
                                                                      : GLUVIRT_FORMAT_QCOW2);
    for (i = 0; i < n_lists; i++)
        if (apply_o_list(verb, !strcmp(out_format, "qcow2"), o_lists[i], &target_v2) < 0)
            goto out;
    if (!size_text) {
        if (!(pool = gluvirt_pool_new(NULL)) ||
            !(image = open_verb_image(pool, argv[optind], &open_options, 0))) {
            report_library_error("measure");
            goto out;
        }
        note_probed_format("measure", &open_options, argv[optind], image);
    }
    progress_begin(&progress, show);
    gluvirt_verb_options_set_progress(verb, progress_report, &progress);
    i = gluvirt_image_measure(image, size, verb, &required, &full);
    progress_end(&progress);
    if (i < 0) {
        report_library_error("measure");
        goto out;
    }
    /* qemu-img adds the persistent bitmaps' size when both the source and
     * the target can hold them (qcow2 version 3); this version does not
     * read bitmaps and counts none. */
    bitmaps = image && !target_v2 && !strcmp(out_format, "qcow2") &&
              !strcmp(gluvirt_image_format(image), "qcow2") &&
              gluvirt_image_info_int(image, GLUVIRT_INFO_QCOW2_VERSION) >= 3;
    if (as_json) {
        printf("{\n");
        if (bitmaps)
            printf("    \"bitmaps\": 0,\n");
        printf("    \"required\": %" PRIu64 ",\n    \"fully-allocated\": %" PRIu64 "\n}\n",
               required, full);
    } else {
        printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64 "\n", required,
               full);
        if (bitmaps)
            printf("bitmaps size: 0\n");
    }
    status = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAILED;
    if (status != EXIT_OK)
        perror("gluvirt measure: standard output");
out:
    gluvirt_image_close(image);
    gluvirt_verb_options_free(verb);
    gluvirt_pool_free(pool);
    return status;
}

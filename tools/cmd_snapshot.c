/*
 * gluvirt snapshot: list, create, apply or delete the internal snapshots of
 * a qcow2 image, as qemu-img snapshot does: -l lists them (nothing for an
 * image without any), -c NAME creates, -a NAME applies (by id, then by
 * name), -d NAME deletes (by name).  With no action it does nothing.
 * Exit 0, or 1 on any error, qemu-img's codes and its "Could not ...
 * snapshot" messages.  --output=json (with -l) prints a JSON object with
 * the "snapshots" member of qemu-img info's JSON (qemu-img snapshot itself
 * has no JSON output).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"
#include "qemu_output.h"
#include "verb_target.h"

static void snapshot_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt snapshot [-f FMT] [-q] [-U] [--output=human|json]\n"
            "                        [-l | -a NAME | -c NAME | -d NAME] IMAGE\n"
            "Lists, creates, applies or deletes the internal snapshots of a qcow2 image, as\n"
            "'qemu-img snapshot' does.  IMAGE is a gluster URI, a json:{...} target or a\n"
            "local path.\n"
            "  -l         list the snapshots (nothing when there are none)\n"
            "  -c NAME    create a snapshot of the current state named NAME\n"
            "  -a NAME    apply a snapshot (by id, then by name): the image goes back to it\n"
            "  -d NAME    delete the snapshot named NAME\n"
            "  -f FMT     the image's format (qcow2; raw images have no snapshots); without\n"
            "             -f it is probed\n"
            "  -q         print no note on stderr\n"
            "  --output F human (default) or json (with -l: an object with the\n"
            "             \"snapshots\" member of 'qemu-img info --output=json')\n"
            FORCE_SHARE_USAGE);
}

enum action { NONE, LIST, CREATE, APPLY, DELETE };

static int list(gluvirt_image *image, int json)
{
    int64_t count = 0;
    int i;

    if (strcmp(gluvirt_image_format(image), "qcow2") == 0 &&
        (count = gluvirt_image_info_int(image, GLUVIRT_INFO_SNAPSHOT_COUNT)) < 0)
        return -1;
    if (json) {
        struct json j = {stdout, 0, {0}};

        /* An object with qemu-img info's "snapshots" member (absent when
         * there are none, as there). */
        json_open(&j, NULL, '{');
        if (count > 0)
            json_snapshots(&j, image, (int)count);
        json_close(&j, '}');
        putchar('\n');
        return 0;
    }
    if (count == 0)
        return 0;
    printf("Snapshot list:\n");
    human_snapshot(image, -1);
    for (i = 0; i < count; i++)
        human_snapshot(image, i);
    return 0;
}

int cmd_snapshot(int argc, char **argv)
{
    enum { OPT_OUTPUT = 256 };
    static const struct option options[] = {
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"force-share", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const verbs[] = {"", "list", "create", "apply", "delete"};
    struct image_options open_options = IMAGE_OPTIONS_DEFAULT;
    enum action action = NONE;
    const char *name = NULL;
    int quiet = 0, json = 0, c, rc, status = EXIT_FAILED;
    gluvirt_image *image = NULL;
    gluvirt_pool *pool = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "la:c:d:f:qUh", options, NULL)) != -1) {
        enum action next = NONE;

        switch (c) {
        case 'l':
            next = LIST;
            break;
        case 'a':
            next = APPLY;
            break;
        case 'c':
            next = CREATE;
            break;
        case 'd':
            next = DELETE;
            break;
        case 'f':
            if (parse_image_format("snapshot", optarg, &open_options.format) < 0)
                return EXIT_FAILED;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'U':
            open_options.force_share = 1;
            break;
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "human")) {
                fprintf(stderr, "gluvirt snapshot: --output=%s: say human or json\n", optarg);
                return EXIT_FAILED;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'h':
            snapshot_usage(stdout);
            return EXIT_OK;
        default:
            snapshot_usage(stderr);
            return EXIT_FAILED;
        }
        if (next != NONE) {
            if (action != NONE) {
                fprintf(stderr, "gluvirt snapshot: Cannot mix '-l', '-a', '-c', '-d'\n");
                return EXIT_FAILED;
            }
            action = next;
            name = next == LIST ? NULL : optarg;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "gluvirt snapshot: Expecting one image file name\n");
        snapshot_usage(stderr);
        return EXIT_FAILED;
    }
    if (open_options.force_share && action != LIST && action != NONE) {
        fprintf(stderr, "gluvirt snapshot: -U can only be used with -l (a change needs the "
                        "image to itself)\n");
        return EXIT_FAILED;
    }
    if (!(pool = gluvirt_pool_new(NULL)) ||
        !(image = open_verb_image(pool, argv[optind], &open_options,
                                  action != LIST && action != NONE))) {
        report_library_error("snapshot");
        goto out;
    }
    if (!quiet)
        note_probed_format("snapshot", &open_options, argv[optind], image);
    switch (action) {
    case NONE:
        rc = 0;
        break;
    case LIST:
        rc = list(image, json);
        break;
    case CREATE:
        rc = gluvirt_image_snapshot_create(image, name);
        break;
    case APPLY:
        rc = gluvirt_image_snapshot_apply(image, name);
        break;
    default:
        rc = gluvirt_image_snapshot_delete(image, name);
        break;
    }
    if (rc < 0) {
        if (action == LIST)
            report_library_error("snapshot");
        else
            fprintf(stderr, "gluvirt snapshot: Could not %s snapshot '%s': %s\n",
                    verbs[action], name, gluvirt_errmsg());
        goto out;
    }
    rc = gluvirt_image_close(image);
    image = NULL;
    if (rc < 0) {
        report_library_error("snapshot");
        goto out;
    }
    status = EXIT_OK;
out:
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    return status;
}

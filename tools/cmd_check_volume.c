/*
 * gluvirt check-volume: is this volume ready for VM images?  Connects as a
 * hypervisor would and prints each item of libgluvirt's volume check as
 * PASS, WARN or FAIL, with the fix for those that do not pass.
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

/* Exit status when some items warn and none fails. */
enum { EXIT_WARNINGS = 3 };

static void check_volume_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt check-volume [--json] [-s HOST[:PORT]]... [--owner UID:GID]\n"
            "                            [--min-free SIZE] [--timeout MS] URI\n"
            "Checks that a gluster volume is ready for VM images: its volfile servers,\n"
            "a client connection (also from an unprivileged port, as qemu makes), the\n"
            "bricks, the replica count, the 'virt' option group as the client graph shows\n"
            "it, the owner of the volume's root and the free space.  URI is\n"
            "gluster://HOST[:PORT]/VOLUME (an image path after it is ignored).\n"
            "  --json          one JSON object instead of lines\n"
            "  -s HOST[:PORT]  another volfile server to try after the URI's (repeatable)\n"
            "  --owner U:G     the user qemu runs as, who should own the volume (default "
            "107:107)\n"
            "  --min-free SIZE warn below this much free space (default 10G)\n"
            "  --timeout MS    how long each connection may take (default 5000)\n"
            "Exit status: 0 everything passes, 3 warnings only, 1 something fails, 2 usage.\n");
}

/* "10G", "512M", "1048576". */
static int parse_bytes(const char *text, uint64_t *out)
{
    static const char units[] = "kmgtpe";
    char *end;
    const char *unit;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (end == text || errno || *text == '-')
        return -1;
    *out = v;
    if (!*end)
        return 0;
    if (end[1] || !(unit = strchr(units, end[0] | 0x20)))
        return -1;
    if (v > UINT64_MAX >> (10 * (unit - units + 1)))
        return -1;
    *out = v << (10 * (unit - units + 1));
    return 0;
}

/* The URI, also without an image path ("gluster://host/volume"). */
static gluvirt_uri *parse_volume_uri(const char *text)
{
    gluvirt_uri *uri = gluvirt_uri_parse(text);
    char *with_path;
    size_t n;

    if (uri || !is_gluster_target(text))
        return uri;
    n = strlen(text);
    if (!(with_path = malloc(n + 3)))
        return NULL;
    snprintf(with_path, n + 3, "%s%s", text, n && text[n - 1] == '/' ? "x" : "/x");
    uri = gluvirt_uri_parse(with_path);
    free(with_path);
    if (!uri) /* fails again, so the message names the fault in the user's own text */
        uri = gluvirt_uri_parse(text);
    return uri;
}

static int add_server(gluvirt_uri *uri, const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    int port = 0;

    /* An IPv6 address without a port is all colons: take a port only after "]:". */
    if (colon && (spec[0] != '[' || colon[-1] == ']')) {
        char *end;

        port = (int)strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end)
            return -1;
    } else {
        colon = spec + strlen(spec);
    }
    if (spec[0] == '[' && colon > spec + 1 && colon[-1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(colon - spec - 2), spec + 1);
    else
        snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    return gluvirt_uri_add_tcp_server(uri, host, port);
}

static const char *status_word(int status)
{
    return status == GLUVIRT_CHECK_PASS ? "pass" : status == GLUVIRT_CHECK_WARN ? "warn" : "fail";
}

/* One JSON object: the volume, its servers, the overall status, the counts
 * and every item with its id, subject, status, detail and fix (or null). */
static void print_json(const gluvirt_uri *uri, const gluvirt_volume_report *report)
{
    static const char *const fields[] = {"id", "subject", "status", "detail", "fix"};
    size_t i, f, n = gluvirt_volume_report_count(report), counts[3] = {0, 0, 0};

    for (i = 0; i < n; i++)
        counts[gluvirt_volume_report_item_status(report, i)]++;
    printf("{\"volume\":");
    print_json_string(stdout, gluvirt_uri_volume(uri));
    printf(",\"servers\":[");
    for (i = 0; i < gluvirt_uri_server_count(uri); i++) {
        char server[300];
        const char *host = gluvirt_uri_server_host(uri, i);

        if (host)
            snprintf(server, sizeof server, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
                     gluvirt_uri_server_port(uri, i));
        else
            snprintf(server, sizeof server, "%s", gluvirt_uri_server_socket(uri, i));
        printf(i ? "," : "");
        print_json_string(stdout, server);
    }
    printf("],\"status\":\"%s\",\"counts\":{\"pass\":%zu,\"warn\":%zu,\"fail\":%zu},"
           "\"items\":[", status_word((int)gluvirt_volume_report_status(report)), counts[0],
           counts[1], counts[2]);
    for (i = 0; i < n; i++) {
        for (f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            printf("%s\"%s\":", f ? "," : i ? ",{" : "{", fields[f]);
            if (f == 2)
                printf("\"%s\"", status_word(gluvirt_volume_report_item_status(report, i)));
            else
                print_json_string(stdout, gluvirt_volume_report_item(
                                              report, i, (gluvirt_check_field)(f < 2 ? f : f - 1)));
        }
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const gluvirt_volume_report *report)
{
    static const char *const words[] = {"PASS", "WARN", "FAIL"};
    size_t i, n = gluvirt_volume_report_count(report), counts[3] = {0, 0, 0};

    for (i = 0; i < n; i++) {
        int status = gluvirt_volume_report_item_status(report, i);
        const char *fix = gluvirt_volume_report_item(report, i, GLUVIRT_CHECK_FIX);

        counts[status]++;
        printf("%s  %-13s %-28s %s\n", words[status],
               gluvirt_volume_report_item(report, i, GLUVIRT_CHECK_ID),
               gluvirt_volume_report_item(report, i, GLUVIRT_CHECK_SUBJECT),
               gluvirt_volume_report_item(report, i, GLUVIRT_CHECK_DETAIL));
        if (fix)
            printf("      fix: %s\n", fix);
    }
    printf("summary: %zu pass, %zu warn, %zu fail\n", counts[0], counts[1], counts[2]);
}

int cmd_check_volume(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"json", no_argument, NULL, 'j'},
        {"server", required_argument, NULL, 's'},
        {"owner", required_argument, NULL, 'o'},
        {"min-free", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gluvirt_volume_check_options *options = gluvirt_volume_check_options_new();
    const char *servers[16];
    size_t server_count = 0, i;
    gluvirt_volume_report *report = NULL;
    gluvirt_uri *uri = NULL;
    int json = 0, c, status = EXIT_USAGE;
    unsigned uid, gid;
    uint64_t bytes;

    if (!options) {
        report_library_error(NULL);
        return EXIT_FAILED;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "+s:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 's':
            if (server_count == sizeof servers / sizeof servers[0]) {
                fprintf(stderr, "gluvirt: at most %zu extra servers\n", server_count);
                goto out;
            }
            servers[server_count++] = optarg;
            break;
        case 'o':
            if (sscanf(optarg, "%u:%u", &uid, &gid) != 2) {
                fprintf(stderr, "gluvirt: --owner %s: expected UID:GID\n", optarg);
                goto out;
            }
            gluvirt_volume_check_options_set_owner(options, uid, gid);
            break;
        case 'm':
            if (parse_bytes(optarg, &bytes) < 0) {
                fprintf(stderr, "gluvirt: --min-free %s: not a size (e.g. 10G)\n", optarg);
                goto out;
            }
            gluvirt_volume_check_options_set_min_free(options, bytes);
            break;
        case 't':
            if (gluvirt_volume_check_options_set_timeout(options, (unsigned)atoi(optarg)) < 0) {
                report_library_error("--timeout");
                goto out;
            }
            break;
        case 'h':
            check_volume_usage(stdout);
            status = EXIT_OK;
            goto out;
        default:
            check_volume_usage(stderr);
            goto out;
        }
    }
    if (optind != argc - 1) {
        check_volume_usage(stderr);
        goto out;
    }
    if (!(uri = parse_volume_uri(argv[optind]))) {
        report_library_error(NULL);
        goto out;
    }
    for (i = 0; i < server_count; i++) {
        if (add_server(uri, servers[i]) < 0) {
            fprintf(stderr, "gluvirt: -s %s: expected HOST or HOST:PORT\n", servers[i]);
            goto out;
        }
    }
    status = EXIT_FAILED;
    if (!(report = gluvirt_volume_check(NULL, uri, options))) {
        report_library_error(NULL);
        goto out;
    }
    if (json)
        print_json(uri, report);
    else
        print_text(report);
    switch (gluvirt_volume_report_status(report)) {
    case GLUVIRT_CHECK_PASS:
        status = EXIT_OK;
        break;
    case GLUVIRT_CHECK_WARN:
        status = EXIT_WARNINGS;
        break;
    default:
        status = EXIT_FAILED;
    }
out:
    gluvirt_volume_report_free(report);
    gluvirt_uri_free(uri);
    gluvirt_volume_check_options_free(options);
    return status;
}

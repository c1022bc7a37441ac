/*
 * gluvirt uri: check a gluster URI, print its canonical form or its parts,
 * and convert between URIs, QEMU's JSON form and libvirt's disk XML.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

enum uri_form { FORM_URI, FORM_QEMU_JSON, FORM_LIBVIRT_XML, FORM_BAD };

static enum uri_form form_named(const char *name)
{
    if (!strcmp(name, "uri"))
        return FORM_URI;
    if (!strcmp(name, "qemu-json"))
        return FORM_QEMU_JSON;
    if (!strcmp(name, "libvirt-xml"))
        return FORM_LIBVIRT_XML;
    return FORM_BAD;
}

static void uri_usage(FILE *out)
{
    fprintf(out,
            "usage: gluvirt uri [--json] URI\n"
            "       gluvirt uri --to qemu-json|libvirt-xml URI\n"
            "       gluvirt uri --from qemu-json|libvirt-xml [--json | --to FORM] TEXT\n"
            "\n"
            "Checks a gluster URI the way QEMU reads it and prints its canonical form\n"
            "(exit 0), or says what is wrong with it on stderr (exit 1).\n"
            "  --json      print the parts as a JSON object instead\n"
            "  --to FORM   print the location as QEMU's json: option or libvirt's <disk> XML\n"
            "  --from FORM read TEXT as QEMU's JSON or libvirt XML instead of a URI\n"
            "TEXT '-' reads standard input.\n");
}

static const char *transport_name(int transport)
{
    switch (transport) {
    case GLUVIRT_TRANSPORT_TCP:
        return "tcp";
    case GLUVIRT_TRANSPORT_UNIX:
        return "unix";
    case GLUVIRT_TRANSPORT_RDMA:
        return "rdma";
    default:
        return "unknown";
    }
}

static void print_server_fields(const gluvirt_uri *uri, size_t i)
{
    int transport = gluvirt_uri_server_transport(uri, i);

    printf("\"transport\":\"%s\",\"host\":", transport_name(transport));
    print_json_string(stdout, gluvirt_uri_server_host(uri, i));
    if (transport == GLUVIRT_TRANSPORT_UNIX)
        printf(",\"port\":null");
    else
        printf(",\"port\":%d", gluvirt_uri_server_port(uri, i));
    printf(",\"socket\":");
    print_json_string(stdout, gluvirt_uri_server_socket(uri, i));
}

/* The parts as one JSON object: the first server's fields at the top, then all servers. */
static void print_parts_json(const gluvirt_uri *uri)
{
    size_t i, n = gluvirt_uri_server_count(uri);

    putchar('{');
    print_server_fields(uri, 0);
    printf(",\"volume\":");
    print_json_string(stdout, gluvirt_uri_volume(uri));
    printf(",\"path\":");
    print_json_string(stdout, gluvirt_uri_path(uri));
    printf(",\"servers\":[");
    for (i = 0; i < n; i++) {
        printf(i ? ",{" : "{");
        print_server_fields(uri, i);
        putchar('}');
    }
    printf("]}\n");
}

static char *read_all(FILE *in)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;

    while (buf && (n = fread(buf + len, 1, cap - len - 1, in)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *grown = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static gluvirt_uri *read_location(enum uri_form from, const char *text)
{
    switch (from) {
    case FORM_QEMU_JSON:
        return gluvirt_uri_from_qemu_json(text);
    case FORM_LIBVIRT_XML:
        return gluvirt_uri_from_libvirt_xml(text);
    default:
        return gluvirt_uri_parse(text);
    }
}

static char *write_location(enum uri_form to, const gluvirt_uri *uri)
{
    switch (to) {
    case FORM_QEMU_JSON:
        return gluvirt_uri_to_qemu_json(uri);
    case FORM_LIBVIRT_XML:
        return gluvirt_uri_to_libvirt_xml(uri);
    default:
        return gluvirt_uri_format(uri);
    }
}

static void warn_about(const gluvirt_uri *uri)
{
    size_t i;

    for (i = 0; i < gluvirt_uri_server_count(uri); i++)
        if (gluvirt_uri_server_transport(uri, i) == GLUVIRT_TRANSPORT_RDMA)
            fprintf(stderr, "gluvirt: warning: GlusterFS no longer supports rdma; server %s "
                            "will be reached over tcp\n", gluvirt_uri_server_host(uri, i));
}

int cmd_uri(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"to", required_argument, NULL, 't'},
        {"from", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum uri_form from = FORM_URI, to = FORM_URI;
    int as_json = 0, c, status = EXIT_FAILED;
    char *input = NULL, *output = NULL;
    gluvirt_uri *uri = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+jt:f:h", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = 1;
            break;
        case 't':
        case 'f':
            if (form_named(optarg) == FORM_BAD) {
                fprintf(stderr, "gluvirt uri: unknown form '%s': use uri, qemu-json or "
                                "libvirt-xml\n", optarg);
                return EXIT_USAGE;
            }
            *(c == 't' ? &to : &from) = form_named(optarg);
            break;
        case 'h':
            uri_usage(stdout);
            return EXIT_OK;
        default:
            uri_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || (as_json && to != FORM_URI)) {
        uri_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[optind], "-") && !(input = read_all(stdin))) {
        fprintf(stderr, "gluvirt uri: cannot read standard input\n");
        return EXIT_FAILED;
    }
    uri = read_location(from, input ? input : argv[optind]);
    if (!uri) {
        report_library_error(NULL);
        goto out;
    }
    warn_about(uri);
    if (as_json) {
        print_parts_json(uri);
        status = EXIT_OK;
        goto out;
    }
    output = write_location(to, uri);
    if (!output) {
        report_library_error(NULL);
        goto out;
    }
    fputs(output, stdout);
    if (!*output || output[strlen(output) - 1] != '\n')
        putchar('\n');
    status = EXIT_OK;
out:
    gluvirt_free(output);
    gluvirt_uri_free(uri);
    free(input);
    return status;
}

/*
 * gluvirt_uri_parse against the vector table: every URI that qemu-img 7.2
 * accepts is accepted with the same volume, path, host, port and socket,
 * unless the table marks it as one of gluvirt's deliberate refusals; every
 * URI that qemu-img rejects is rejected with the message the table gives.
 * (tests/uri/qemu-agreement.sh re-checks the table's QEMU columns against
 * the installed qemu-img.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "vectors.h"

static const char *transport_name(int t)
{
    return t == GLUVIRT_TRANSPORT_UNIX ? "unix" : t == GLUVIRT_TRANSPORT_RDMA ? "rdma" : "tcp";
}

/* QEMU keeps an IPv6 host's brackets (and its %25); gluvirt stores the bare address. */
static char *qemu_host_as_gluvirt(const char *host)
{
    size_t len;
    char *bare, *zone;

    if (!host || host[0] != '[')
        return host ? strdup(host) : NULL;
    len = strlen(host);
    bare = strndup(host + 1, len - 2);
    zone = strstr(bare, "%25");
    if (zone)
        memmove(zone + 1, zone + 3, strlen(zone + 3) + 1);
    return bare;
}

static void check_accepted(const struct uri_vector *v, gluvirt_uri *uri)
{
    char *host = qemu_host_as_gluvirt(v->host);
    int transport = gluvirt_uri_server_transport(uri, 0);

    cr_expect_str_eq(gluvirt_uri_volume(uri), v->volume, "line %d %s: volume", v->line, v->uri);
    cr_expect_str_eq(gluvirt_uri_path(uri), v->path, "line %d %s: path", v->line, v->uri);
    if (v->transport && strcmp(v->transport, "unix") == 0) {
        cr_expect_eq(transport, GLUVIRT_TRANSPORT_UNIX, "line %d %s", v->line, v->uri);
        cr_expect_str_eq(gluvirt_uri_server_socket(uri, 0), v->socket, "line %d %s: socket",
                         v->line, v->uri);
    } else {
        /* QEMU 7.2 turns rdma into tcp; gluvirt keeps the name and connects over tcp. */
        cr_expect_neq(transport, GLUVIRT_TRANSPORT_UNIX, "line %d %s: transport %s", v->line,
                      v->uri, transport_name(transport));
        cr_expect_str_eq(gluvirt_uri_server_host(uri, 0), host, "line %d %s: host", v->line,
                         v->uri);
        cr_expect_eq(gluvirt_uri_server_port(uri, 0), v->port, "line %d %s: port", v->line,
                     v->uri);
    }
    free(host);
}

Test(uri_vectors, agree_with_qemu)
{
    size_t n, i, accepted = 0, rejected = 0, deliberate = 0;
    struct uri_vector *v = load_uri_vectors(&n);

    cr_assert_geq(n, 80, "the table has only %zu vectors", n);
    for (i = 0; i < n; i++) {
        gluvirt_uri *uri = gluvirt_uri_parse(v[i].uri);

        /* The table itself: gluvirt never accepts what QEMU rejects. */
        cr_assert(v[i].qemu_ok || !v[i].gluvirt_ok,
                  "line %d %s: QEMU rejects it, so gluvirt must too", v[i].line, v[i].uri);
        if (v[i].gluvirt_ok) {
            cr_expect_not_null(uri, "line %d %s: rejected: %s", v[i].line, v[i].uri,
                               gluvirt_errmsg());
            if (uri)
                check_accepted(&v[i], uri);
            accepted++;
        } else {
            cr_expect_null(uri, "line %d %s: accepted, the table says reject", v[i].line,
                           v[i].uri);
            if (!uri) {
                cr_expect_eq(gluvirt_errno(), EINVAL, "line %d", v[i].line);
                cr_expect(strstr(gluvirt_errmsg(), v[i].gluvirt_error) != NULL,
                          "line %d %s: message '%s' lacks '%s'", v[i].line, v[i].uri,
                          gluvirt_errmsg(), v[i].gluvirt_error);
            }
            rejected++;
            deliberate += v[i].qemu_ok;
        }
        gluvirt_uri_free(uri);
    }
    cr_log_info("%zu vectors: %zu accepted, %zu rejected (%zu of them on purpose where QEMU "
                "accepts)", n, accepted, rejected, deliberate);
    free_uri_vectors(v, n);
}

/* Each accepted vector survives format -> parse, and its canonical form is a fixed point. */
Test(uri_vectors, accepted_ones_round_trip)
{
    size_t n, i;
    struct uri_vector *v = load_uri_vectors(&n);

    for (i = 0; i < n; i++) {
        gluvirt_uri *uri = gluvirt_uri_parse(v[i].uri), *again;
        char *text;

        if (!uri)
            continue;
        text = gluvirt_uri_format(uri);
        cr_assert_not_null(text, "line %d: %s", v[i].line, gluvirt_errmsg());
        again = gluvirt_uri_parse(text);
        cr_assert_not_null(again, "line %d: '%s' does not re-parse: %s", v[i].line, text,
                           gluvirt_errmsg());
        cr_expect(gluvirt_uri_equal(uri, again), "line %d: %s -> %s changes the URI",
                  v[i].line, v[i].uri, text);
        gluvirt_free(text);
        gluvirt_uri_free(again);
        gluvirt_uri_free(uri);
    }
    free_uri_vectors(v, n);
}

/*
 * The URI object: construction by hand, getters, copies, equality, the
 * canonical formatter, and the round-trip property parse(format(u)) == u.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

static gluvirt_uri *must_parse(const char *text)
{
    gluvirt_uri *uri = gluvirt_uri_parse(text);

    cr_assert_not_null(uri, "parse '%s': %s", text, gluvirt_errmsg());
    return uri;
}

static void assert_round_trip(const gluvirt_uri *uri)
{
    char *text = gluvirt_uri_format(uri);
    gluvirt_uri *again;
    char *text2;

    cr_assert_not_null(text, "format: %s", gluvirt_errmsg());
    again = gluvirt_uri_parse(text);
    cr_assert_not_null(again, "re-parse '%s': %s", text, gluvirt_errmsg());
    cr_assert(gluvirt_uri_equal(uri, again), "parse(format(u)) != u for '%s'", text);
    text2 = gluvirt_uri_format(again);
    cr_assert_str_eq(text, text2, "format is not a fixed point");
    gluvirt_free(text);
    gluvirt_free(text2);
    gluvirt_uri_free(again);
}

Test(uri_object, built_by_hand_matches_parsed)
{
    gluvirt_uri *by_hand = gluvirt_uri_new("vmstore", "/images/vm1.qcow2");
    gluvirt_uri *parsed = must_parse("gluster://10.0.0.5/vmstore/images/vm1.qcow2");

    cr_assert_not_null(by_hand);
    cr_assert_eq(gluvirt_uri_server_count(by_hand), 0);
    cr_assert_eq(gluvirt_uri_add_tcp_server(by_hand, "10.0.0.5", 0), 0);
    cr_assert(gluvirt_uri_equal(by_hand, parsed));
    cr_assert_str_eq(gluvirt_uri_path(by_hand), "images/vm1.qcow2");
    cr_assert_eq(gluvirt_uri_server_port(by_hand, 0), 24007);
    gluvirt_uri_free(by_hand);
    gluvirt_uri_free(parsed);
}

Test(uri_object, several_servers_keep_their_order)
{
    gluvirt_uri *uri = gluvirt_uri_new("vol", "a.img");

    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "node1", 24007), 0);
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, "/run/glusterd.socket"), 0);
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "fd00::2", 24008), 0);
    cr_assert_eq(gluvirt_uri_server_count(uri), 3);
    cr_assert_str_eq(gluvirt_uri_server_host(uri, 0), "node1");
    cr_assert_eq(gluvirt_uri_server_transport(uri, 1), GLUVIRT_TRANSPORT_UNIX);
    cr_assert_null(gluvirt_uri_server_host(uri, 1));
    cr_assert_str_eq(gluvirt_uri_server_socket(uri, 1), "/run/glusterd.socket");
    cr_assert_eq(gluvirt_uri_server_port(uri, 1), 0);
    cr_assert_eq(gluvirt_uri_server_port(uri, 2), 24008);
    /* A URI holds one server: formatting several is an error that says what to use. */
    cr_assert_null(gluvirt_uri_format(uri));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert(strstr(gluvirt_errmsg(), "QEMU JSON"), "%s", gluvirt_errmsg());
    gluvirt_uri_free(uri);
}

Test(uri_object, dup_is_deep_and_equal)
{
    gluvirt_uri *uri = must_parse("gluster+unix:///v/d/x.raw?socket=/tmp/g.sock");
    gluvirt_uri *copy = gluvirt_uri_dup(uri);

    cr_assert(gluvirt_uri_equal(uri, copy));
    cr_assert_neq(gluvirt_uri_volume(uri), gluvirt_uri_volume(copy));
    gluvirt_uri_free(uri);
    cr_assert_str_eq(gluvirt_uri_server_socket(copy, 0), "/tmp/g.sock");
    gluvirt_uri_free(copy);
}

Test(uri_object, equality_sees_every_field)
{
    static const char *const distinct[] = {
        "gluster://h/v/a",         "gluster://h/v/b",      "gluster://h/w/a",
        "gluster://g/v/a",         "gluster://h:1/v/a",    "gluster+rdma://h/v/a",
        "gluster+unix:///v/a?socket=/s", "gluster+unix:///v/a?socket=/t",
    };
    size_t i, j, n = sizeof distinct / sizeof distinct[0];

    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            gluvirt_uri *a = must_parse(distinct[i]), *b = must_parse(distinct[j]);

            cr_assert_eq(gluvirt_uri_equal(a, b), i == j, "%s vs %s", distinct[i], distinct[j]);
            gluvirt_uri_free(a);
            gluvirt_uri_free(b);
        }
}

Test(uri_object, defaults_make_spellings_equal)
{
    gluvirt_uri *a = must_parse("gluster://localhost/v/a");
    gluvirt_uri *b = must_parse("gluster:///v/a");
    gluvirt_uri *c = must_parse("gluster+tcp://localhost:0/v/a");
    gluvirt_uri *d = must_parse("gluster://localhost:24007//v//a");

    cr_assert(gluvirt_uri_equal(a, b));
    cr_assert(gluvirt_uri_equal(a, c));
    cr_assert(gluvirt_uri_equal(a, d));
    gluvirt_uri_free(a);
    gluvirt_uri_free(b);
    gluvirt_uri_free(c);
    gluvirt_uri_free(d);
}

Test(uri_object, canonical_form)
{
    static const char *const cases[][2] = {
        {"gluster+tcp://Host.Example:24007/vol/a.img", "gluster://Host.Example/vol/a.img"},
        {"gluster://h:0/vol//dir//a.img", "gluster://h/vol/dir//a.img"},
        {"gluster://[::1]:24008/vol/a.img", "gluster://[::1]:24008/vol/a.img"},
        {"gluster://h/v/a%20b%2Bc", "gluster://h/v/a%20b+c"},
        {"gluster://h/v/%7Euser/%61.img", "gluster://h/v/~user/a.img"},
        {"gluster+unix:///v/a?socket=/run/a%26b.sock", "gluster+unix:///v/a?socket=/run/a%26b.sock"},
        {"gluster://h/v/a.img#frag", "gluster://h/v/a.img"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gluvirt_uri *uri = must_parse(cases[i][0]);
        char *text = gluvirt_uri_format(uri);

        cr_assert_str_eq(text, cases[i][1], "format('%s')", cases[i][0]);
        gluvirt_free(text);
        gluvirt_uri_free(uri);
    }
}

/* Every byte value (but NUL) in volume, path and socket survives format -> parse. */
Test(uri_object, round_trip_every_byte)
{
    char volume[8], path[16], sock[24];
    int c;

    for (c = 1; c < 256; c++) {
        gluvirt_uri *uri;

        if (c == '/' || c < 0x20 || c == 0x7f)
            continue;
        snprintf(volume, sizeof volume, "v_%d", c);
        snprintf(path, sizeof path, "d%c/i%c.img", c, c);
        snprintf(sock, sizeof sock, "/run/s%c.sock", c);
        if (c == '.') /* "d./i..img" has no dot segment, but keep the test simple */
            continue;
        uri = gluvirt_uri_new(volume, path);
        cr_assert_not_null(uri, "byte 0x%02x: %s", c, gluvirt_errmsg());
        cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "h", 0), 0);
        assert_round_trip(uri);
        gluvirt_uri_free(uri);

        uri = gluvirt_uri_new(volume, path);
        cr_assert_eq(gluvirt_uri_add_unix_server(uri, sock), 0, "%s", gluvirt_errmsg());
        assert_round_trip(uri);
        gluvirt_uri_free(uri);
    }
}

/* Random locations built by hand survive format -> parse (seeded, repeatable). */
Test(uri_object, round_trip_random)
{
    static const char alphabet[] = "abcXYZ019-._~!$&'()*+,;=:@ %?#[]\"<>\\^`{|}\xc3\xa9";
    static const char volume_chars[] = "abcXYZ019-_";
    unsigned seed = 20261125;
    int n;

    for (n = 0; n < 2000; n++) {
        char volume[12], path[40];
        size_t i, vl = 1 + rand_r(&seed) % 10, pl = 1 + rand_r(&seed) % 38;
        gluvirt_uri *uri;

        for (i = 0; i < vl; i++)
            volume[i] = volume_chars[rand_r(&seed) % (sizeof volume_chars - 1)];
        volume[vl] = '\0';
        for (i = 0; i < pl; i++)
            path[i] = rand_r(&seed) % 6 ? alphabet[rand_r(&seed) % (sizeof alphabet - 1)] : '/';
        path[pl] = '\0';
        uri = gluvirt_uri_new(volume, path);
        if (!uri) /* dot segments, an empty path after stripping '/' */
            continue;
        switch (rand_r(&seed) % 3) {
        case 0:
            cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "node-1.example", rand_r(&seed) % 65536), 0);
            break;
        case 1:
            cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "fe80::1%eth0", 0), 0);
            break;
        default:
            cr_assert_eq(gluvirt_uri_add_unix_server(uri, "/run/x y&z=1;#.sock"), 0);
        }
        assert_round_trip(uri);
        gluvirt_uri_free(uri);
    }
}

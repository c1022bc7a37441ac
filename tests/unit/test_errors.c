/*
 * Error reporting: every failure sets a message and an errno for the calling
 * thread only; bad arguments give errors, not crashes.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

Test(errors, message_and_errno_after_failure)
{
    cr_assert_null(gluvirt_uri_parse("gluster://h:70000/v/a"));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(errno, EINVAL);
    cr_assert(strstr(gluvirt_errmsg(), "port 70000 at column 13 is out of range 0-65535"),
              "%s", gluvirt_errmsg());
}

Test(errors, null_arguments_are_errors)
{
    cr_assert_null(gluvirt_uri_parse(NULL));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_null(gluvirt_uri_new(NULL, "a"));
    cr_assert_null(gluvirt_uri_new("v", NULL));
    cr_assert_null(gluvirt_uri_new("v", ""));
    cr_assert_null(gluvirt_uri_new("v/w", "a"));
    cr_assert_eq(gluvirt_uri_add_tcp_server(NULL, "h", 0), -1);
    cr_assert_eq(gluvirt_uri_add_unix_server(NULL, "/s"), -1);
    cr_assert_null(gluvirt_uri_format(NULL));
    cr_assert_null(gluvirt_uri_dup(NULL));
    cr_assert_null(gluvirt_uri_to_qemu_json(NULL));
    cr_assert_null(gluvirt_uri_to_libvirt_xml(NULL));
    cr_assert_null(gluvirt_uri_from_qemu_json(NULL));
    cr_assert_null(gluvirt_uri_from_libvirt_xml(NULL));
    cr_assert_eq(gluvirt_uri_server_count(NULL), 0);
    cr_assert_null(gluvirt_uri_volume(NULL));
    gluvirt_uri_free(NULL);
    gluvirt_free(NULL);
}

Test(errors, server_index_out_of_range)
{
    gluvirt_uri *uri = gluvirt_uri_parse("gluster://h/v/a");

    cr_assert_eq(gluvirt_uri_server_transport(uri, 1), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert(strstr(gluvirt_errmsg(), "index 1 is out of range"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_server_port(uri, 5), -1);
    cr_assert_null(gluvirt_uri_server_host(uri, 1));
    cr_assert_null(gluvirt_uri_server_socket(uri, 0)); /* tcp server: no socket */
    gluvirt_uri_free(uri);
}

Test(errors, bad_servers_refused)
{
    gluvirt_uri *uri = gluvirt_uri_new("v", "a");
    char long_path[109]; /* one byte more than a unix socket address holds */

    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "h", 65536), -1);
    cr_assert(strstr(gluvirt_errmsg(), "out of range"));
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "h", -1), -1);
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "", 1), -1);
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "fe80::zz", 1), -1);
    cr_assert(strstr(gluvirt_errmsg(), "not a valid IPv6 address"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "a/b", 1), -1);
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, ""), -1);
    cr_assert(strstr(gluvirt_errmsg(), "socket path is empty"), "%s", gluvirt_errmsg());
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, long_path), -1);
    cr_assert(strstr(gluvirt_errmsg(), "longer than a unix socket address holds"), "%s",
              gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_server_count(uri), 0, "a refused server must not be added");
    gluvirt_uri_free(uri);
}

static void *fail_on_other_thread(void *arg)
{
    (void)arg;
    gluvirt_uri_parse("nfs://h/v/a");
    return NULL;
}

/* A failure on another thread leaves this thread's message alone. */
Test(errors, message_is_per_thread)
{
    pthread_t thread;

    cr_assert_null(gluvirt_uri_parse("gluster://h/v"));
    cr_assert_eq(pthread_create(&thread, NULL, fail_on_other_thread, NULL), 0);
    pthread_join(thread, NULL);
    cr_assert(strstr(gluvirt_errmsg(), "no image path after volume 'v'"), "%s",
              gluvirt_errmsg());
}

Test(errors, version_is_the_header_version)
{
    cr_assert_str_eq(gluvirt_version(), GLUVIRT_VERSION);
}

/* A name that is not UTF-8 is fine in a URI (percent-encoded) but cannot go
 * into JSON or XML: the writers say so instead of writing invalid text. */
Test(errors, writers_refuse_what_their_format_cannot_carry)
{
    gluvirt_uri *uri = gluvirt_uri_parse("gluster://h/vol/%E9t%E9.img");
    char *text;

    cr_assert_not_null(uri, "%s", gluvirt_errmsg());
    cr_assert_null(gluvirt_uri_to_qemu_json(uri));
    cr_assert(strstr(gluvirt_errmsg(), "path is not UTF-8"), "%s", gluvirt_errmsg());
    cr_assert_null(gluvirt_uri_to_libvirt_xml(uri));
    cr_assert(strstr(gluvirt_errmsg(), "path is not UTF-8"), "%s", gluvirt_errmsg());
    text = gluvirt_uri_format(uri);
    cr_assert_str_eq(text, "gluster://h/vol/%E9t%E9.img");
    gluvirt_free(text);
    gluvirt_uri_free(uri);
}

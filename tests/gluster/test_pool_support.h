/* Shared by the test_pool suites: set-up, helpers and request records. */
#ifndef GLUVIRT_TESTS_TEST_POOL_SUPPORT_H
#define GLUVIRT_TESTS_TEST_POOL_SUPPORT_H

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

/*
 * The connection pool against the real test volumes (gv0 gv1 gv2 gvsecure
 * from tests/cluster/test-volumes.sh): sharing by full identity, concurrent
 * connects, one test per error path, linger and reaper, a bounded
 * gluvirt_pool_free, fork, and a caller's stderr that gluster never writes
 * to.
 *
 * Run inside the cluster's network namespace.  Without the volumes the
 * tests that need them skip, or fail when GLUVIRT_REQUIRE_GLUSTER=1 (CI).
 * Each test runs in its own process (Criterion), so a pool whose background
 * glfs_fini is still running at exit costs nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>
#include <gluvirt/pool.h>

/* An address in the namespace's loopback range where nothing listens: a
 * connect there is refused at once. */
#define DEAD_HOST "127.1.1.250"
#define LONG_LINGER_MS 60000

/* ------------------------------------------------------------ helpers */

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int gluster_required(void)
{
    const char *require = getenv("GLUVIRT_REQUIRE_GLUSTER");

    return require != NULL && strcmp(require, "1") == 0;
}

/* Without GLUVIRT_TEST_HOST in the environment, read the env file that
 * gluster-cluster.sh writes (lines "export NAME='value'"), as
 * tests/gluster/lib.sh does. */
static void load_cluster_env_file(void)
{
    const char *base = getenv("GLUVIRT_CLUSTER_BASE");
    char path[512], line[1024];
    FILE *file;

    if (getenv("GLUVIRT_TEST_HOST") != NULL)
        return;
    snprintf(path, sizeof path, "%s/env", base != NULL ? base : "/tmp/gluvirt-cluster");
    file = fopen(path, "r");
    if (file == NULL)
        return;
    while (fgets(line, sizeof line, file) != NULL) {
        char *name = line, *value, *end;

        if (strncmp(name, "export ", 7) == 0)
            name += 7;
        value = strchr(name, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (*value == '\'')
            value++;
        end = value + strcspn(value, "'\n");
        *end = '\0';
        setenv(name, value, 0);
    }
    fclose(file);
}

/* True when something accepts TCP connections on host:port. */
static int tcp_port_answers(const char *host, int port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd, ok;

    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return 1; /* not an IPv4 literal: let the pool find out */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

static void not_available(const char *why)
{
    if (gluster_required())
        cr_assert_fail("%s (GLUVIRT_REQUIRE_GLUSTER=1)", why);
    cr_skip_test("%s", why);
}

/* The test host, or the test skips (fails under GLUVIRT_REQUIRE_GLUSTER=1). */
static const char *require_gluster(void)
{
    const char *host;
    char why[256];

    load_cluster_env_file();
    host = getenv("GLUVIRT_TEST_HOST");
    if (host == NULL || *host == '\0')
        not_available("no gluster test volumes (start them: tests/cluster/test-volumes.sh up)");
    if (!tcp_port_answers(host, GLUVIRT_DEFAULT_PORT)) {
        snprintf(why, sizeof why,
                 "glusterd on %s:%d does not answer: are the test volumes up, and does the test "
                 "run inside their network namespace (ip netns exec gluvirt ...)?",
                 host, GLUVIRT_DEFAULT_PORT);
        not_available(why);
    }
    return host;
}

static const char *require_socket(void)
{
    const char *socket_path = getenv("GLUVIRT_TEST_SOCKET");

    if (socket_path == NULL || *socket_path == '\0')
        not_available("GLUVIRT_TEST_SOCKET is not set (tests/cluster/test-volumes.sh prints it)");
    return socket_path;
}

static void require_volume(const char *volume)
{
    const char *volumes = getenv("GLUVIRT_TEST_VOLUMES");
    size_t length = strlen(volume);
    char why[256];

    for (const char *p = volumes; p != NULL && (p = strstr(p, volume)) != NULL; p += length) {
        int starts = p == volumes || p[-1] == ' ';
        int ends = p[length] == '\0' || p[length] == ' ';

        if (starts && ends)
            return;
    }
    snprintf(why, sizeof why,
             "test volume %s is missing (GLUVIRT_TEST_VOLUMES='%s'): restart the test "
             "volumes with tests/cluster/test-volumes.sh up",
             volume, volumes != NULL ? volumes : "");
    not_available(why);
}

/* gluster://HOST[:PORT]/VOLUME/pool-test.img, built by hand. */
static gluvirt_uri *tcp_uri(const char *host, int port, const char *volume)
{
    gluvirt_uri *uri = gluvirt_uri_new(volume, "pool-test.img");

    cr_assert_not_null(uri, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, host, port), 0, "%s", gluvirt_errmsg());
    return uri;
}

static gluvirt_uri *parse_uri(const char *format, ...) __attribute__((format(printf, 1, 2)));
static gluvirt_uri *parse_uri(const char *format, ...)
{
    va_list args;
    char *text;
    gluvirt_uri *uri;

    va_start(args, format);
    cr_assert_neq(vasprintf(&text, format, args), -1);
    va_end(args);
    uri = gluvirt_uri_parse(text);
    cr_assert_not_null(uri, "%s: %s", text, gluvirt_errmsg());
    free(text);
    return uri;
}

static gluvirt_pool *make_pool(unsigned linger_ms, unsigned connect_timeout_ms)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_pool_options_set_linger(options, linger_ms), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_pool_options_set_connect_timeout(options, connect_timeout_ms), 0, "%s",
                 gluvirt_errmsg());
    pool = gluvirt_pool_new(options);
    /* The pool keeps a copy: the options may go at once. */
    gluvirt_pool_options_free(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    return pool;
}

static gluvirt_connection *connect_ok(gluvirt_pool *pool, const gluvirt_uri *uri)
{
    gluvirt_connection *connection = gluvirt_pool_connect(pool, uri);

    cr_assert_not_null(connection, "connect to %s failed: %s", gluvirt_uri_volume(uri),
                       gluvirt_errmsg());
    cr_assert_str_eq(gluvirt_connection_volume(connection), gluvirt_uri_volume(uri));
    return connection;
}

/* Checks a failed connect: NULL, errno and every expected piece of the
 * message.  The list of pieces ends with NULL. */
static void expect_failure(gluvirt_connection *connection, int expected_errno, ...)
{
    const char *message = gluvirt_errmsg();
    va_list pieces;
    const char *piece;

    cr_assert_null(connection, "connect succeeded, expected errno %d", expected_errno);
    cr_assert_eq(gluvirt_errno(), expected_errno, "errno %d (%s), expected %d (%s): %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected_errno,
                 strerror(expected_errno), message);
    cr_assert_eq(errno, expected_errno, "errno variable %d, gluvirt_errno %d", errno,
                 expected_errno);
    va_start(pieces, expected_errno);
    while ((piece = va_arg(pieces, const char *)) != NULL)
        cr_assert(strstr(message, piece) != NULL, "message lacks \"%s\": %s", piece, message);
    va_end(pieces);
}

#define STAT(pool, counter) gluvirt_pool_stat((pool), GLUVIRT_POOL_##counter)

static void expect_stat(gluvirt_pool *pool, gluvirt_pool_counter counter, const char *name,
                        int64_t expected)
{
    int64_t value = gluvirt_pool_stat(pool, counter);

    cr_assert_eq(value, expected, "%s is %lld, expected %lld", name, (long long)value,
                 (long long)expected);
}
#define EXPECT_STAT(pool, counter, expected) \
    expect_stat((pool), GLUVIRT_POOL_##counter, #counter, (expected))

/* Polls until counter >= at_least, for at most timeout_ms; returns its last value. */
static int64_t wait_stat_at_least(gluvirt_pool *pool, gluvirt_pool_counter counter,
                                  int64_t at_least, unsigned timeout_ms)
{
    double deadline = now_seconds() + timeout_ms / 1000.0;
    int64_t value;

    while ((value = gluvirt_pool_stat(pool, counter)) < at_least && now_seconds() < deadline)
        sleep_ms(10);
    return value;
}


#endif

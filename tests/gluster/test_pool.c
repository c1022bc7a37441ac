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

/* ------------------------------------------------------------ sharing */

Test(pool, sharing_same_uri_same_connection, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *uri = parse_uri("gluster://%s/gv0/a.img", host);
    /* Another image on the same volume through the same server, port
     * spelled out: the image path is not part of the key, 24007 is the
     * default. */
    gluvirt_uri *same = parse_uri("gluster://%s:24007/gv0/dir/b.qcow2", host);
    gluvirt_uri *other = parse_uri("gluster://%s/gv1/a.img", host);
    gluvirt_connection *first, *second, *third;

    first = connect_ok(pool, uri);
    EXPECT_STAT(pool, MISSES, 1);
    EXPECT_STAT(pool, HITS, 0);
    EXPECT_STAT(pool, INITS, 1);
    EXPECT_STAT(pool, LIVE, 1);
    EXPECT_STAT(pool, IDLE, 0);

    second = connect_ok(pool, uri);
    cr_assert_eq(second, first, "the same URI gave another connection");
    third = connect_ok(pool, same);
    cr_assert_eq(third, first, "another image on the same volume gave another connection");
    EXPECT_STAT(pool, MISSES, 1);
    EXPECT_STAT(pool, HITS, 2);
    EXPECT_STAT(pool, INITS, 1);
    EXPECT_STAT(pool, LIVE, 1);

    gluvirt_connection *gv1 = connect_ok(pool, other);
    cr_assert_neq(gv1, first, "gv1 and gv0 share a connection");
    EXPECT_STAT(pool, MISSES, 2);
    EXPECT_STAT(pool, INITS, 2);
    EXPECT_STAT(pool, LIVE, 2);

    /* Three references to gv0: two releases leave it in use. */
    gluvirt_connection_release(second);
    gluvirt_connection_release(third);
    EXPECT_STAT(pool, IDLE, 0);
    gluvirt_connection_release(first);
    gluvirt_connection_release(gv1);
    EXPECT_STAT(pool, IDLE, 2);
    EXPECT_STAT(pool, LIVE, 2);
    EXPECT_STAT(pool, FAILURES, 0);
    EXPECT_STAT(pool, FINALISED, 0);

    gluvirt_uri_free(uri);
    gluvirt_uri_free(same);
    gluvirt_uri_free(other);
    gluvirt_pool_free(pool);
}

/* The key is the volume plus the ordered server list: the same volume
 * through the unix socket, or through a list in another order, is another
 * connection; the same list built anew is the same one. */
Test(pool, sharing_key_is_full_identity, .timeout = 20)
{
    const char *host = require_gluster();
    const char *socket_path = require_socket();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *tcp = tcp_uri(host, 0, "gv0");
    gluvirt_uri *unix_uri = parse_uri("gluster+unix:///gv0/x?socket=%s", socket_path);
    gluvirt_uri *tcp_then_unix = tcp_uri(host, 0, "gv0");
    gluvirt_uri *unix_then_tcp = gluvirt_uri_new("gv0", "x");
    gluvirt_uri *tcp_then_unix_again = tcp_uri(host, 24007, "gv0");
    gluvirt_connection *c[5];

    cr_assert_eq(gluvirt_uri_add_unix_server(tcp_then_unix, socket_path), 0);
    cr_assert_eq(gluvirt_uri_add_unix_server(unix_then_tcp, socket_path), 0);
    cr_assert_eq(gluvirt_uri_add_tcp_server(unix_then_tcp, host, 0), 0);
    cr_assert_eq(gluvirt_uri_add_unix_server(tcp_then_unix_again, socket_path), 0);

    c[0] = connect_ok(pool, tcp);
    c[1] = connect_ok(pool, unix_uri);
    c[2] = connect_ok(pool, tcp_then_unix);
    c[3] = connect_ok(pool, unix_then_tcp);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            cr_assert_neq(c[i], c[j], "keys %d and %d share a connection", j, i);
    EXPECT_STAT(pool, MISSES, 4);
    EXPECT_STAT(pool, INITS, 4);
    EXPECT_STAT(pool, LIVE, 4);
    EXPECT_STAT(pool, HITS, 0);

    c[4] = connect_ok(pool, tcp_then_unix_again);
    cr_assert_eq(c[4], c[2], "the same server list built again gave another connection");
    EXPECT_STAT(pool, HITS, 1);
    EXPECT_STAT(pool, INITS, 4);

    for (int i = 0; i < 5; i++)
        gluvirt_connection_release(c[i]);
    EXPECT_STAT(pool, IDLE, 4);
    gluvirt_uri_free(tcp);
    gluvirt_uri_free(unix_uri);
    gluvirt_uri_free(tcp_then_unix);
    gluvirt_uri_free(unix_then_tcp);
    gluvirt_uri_free(tcp_then_unix_again);
    gluvirt_pool_free(pool);
}

/* ------------------------------------------------------------ concurrency */

struct concurrent_run;

struct thread_result {
    struct concurrent_run *run;
    int index;
    gluvirt_connection *connection;
    int error;
    char message[512];
    int bad_volume; /* cycles that got a connection to another volume */
    int failures;   /* cycles that got no connection */
};

struct concurrent_run {
    gluvirt_pool *pool;
    const gluvirt_uri *uris[3];
    int uri_count;
    int cycles;
    unsigned seed;
    pthread_barrier_t start;
    struct thread_result results[16];
};

/* Each thread does `cycles` connect/release pairs on uris picked at random
 * (a seed per thread, so a failure can be replayed). */
static void *stress_thread(void *arg)
{
    struct thread_result *result = arg;
    struct concurrent_run *run = result->run;
    unsigned seed = run->seed + (unsigned)result->index;

    pthread_barrier_wait(&run->start);
    for (int i = 0; i < run->cycles; i++) {
        const gluvirt_uri *uri = run->uris[rand_r(&seed) % run->uri_count];
        gluvirt_connection *connection = gluvirt_pool_connect(run->pool, uri);

        if (connection == NULL) {
            if (result->failures++ == 0) {
                result->error = gluvirt_errno();
                snprintf(result->message, sizeof result->message, "%s", gluvirt_errmsg());
            }
            continue;
        }
        if (strcmp(gluvirt_connection_volume(connection), gluvirt_uri_volume(uri)) != 0)
            result->bad_volume++;
        gluvirt_connection_release(connection);
    }
    return NULL;
}

/* One connect per thread, all at once; the reference is kept. */
static void *connect_once_thread(void *arg)
{
    struct thread_result *result = arg;
    struct concurrent_run *run = result->run;

    pthread_barrier_wait(&run->start);
    result->connection = gluvirt_pool_connect(run->pool, run->uris[0]);
    if (result->connection == NULL) {
        result->error = gluvirt_errno();
        snprintf(result->message, sizeof result->message, "%s", gluvirt_errmsg());
    }
    return NULL;
}

static void run_threads(struct concurrent_run *run, int count, void *(*body)(void *))
{
    pthread_t threads[16];

    cr_assert(count <= 16);
    cr_assert_eq(pthread_barrier_init(&run->start, NULL, (unsigned)count), 0);
    for (int i = 0; i < count; i++) {
        run->results[i].run = run;
        run->results[i].index = i;
        cr_assert_eq(pthread_create(&threads[i], NULL, body, &run->results[i]), 0);
    }
    for (int i = 0; i < count; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&run->start);
}

Test(pool, stress_16_threads_share_3_connections, .timeout = 40)
{
    const char *host = require_gluster();
    struct concurrent_run run = { .cycles = 200, .uri_count = 3, .seed = 20240611 };
    gluvirt_uri *uris[3];
    const char *volumes[3] = { "gv0", "gv1", "gv2" };
    double start;

    for (int i = 0; i < 3; i++)
        run.uris[i] = uris[i] = tcp_uri(host, 0, volumes[i]);
    run.pool = make_pool(LONG_LINGER_MS, 10000);
    start = now_seconds();
    run_threads(&run, 16, stress_thread);
    cr_log_info("16 x 200 connect/release cycles in %.3f s (seed %u)", now_seconds() - start,
                run.seed);

    for (int i = 0; i < 16; i++) {
        cr_assert_eq(run.results[i].failures, 0, "thread %d: %d failures, first: %s", i,
                     run.results[i].failures, run.results[i].message);
        cr_assert_eq(run.results[i].bad_volume, 0, "thread %d got the wrong volume %d times",
                     i, run.results[i].bad_volume);
    }
    EXPECT_STAT(run.pool, INITS, 3);
    EXPECT_STAT(run.pool, FAILURES, 0);
    cr_assert_eq(STAT(run.pool, HITS) + STAT(run.pool, MISSES), 3200,
                 "HITS %lld + MISSES %lld != 3200", (long long)STAT(run.pool, HITS),
                 (long long)STAT(run.pool, MISSES));
    cr_assert_geq(STAT(run.pool, MISSES), 3);
    EXPECT_STAT(run.pool, LIVE, 3);
    EXPECT_STAT(run.pool, IDLE, 3);
    EXPECT_STAT(run.pool, FINALISED, 0);
    for (int i = 0; i < 3; i++)
        gluvirt_uri_free(uris[i]);
    gluvirt_pool_free(run.pool);
}

/* Concurrent first connects to one key run glfs_init once. */
Test(pool, concurrent_first_connects_init_once, .timeout = 20)
{
    const char *host = require_gluster();
    struct concurrent_run run = { 0 };
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");

    run.uris[0] = uri;
    run.pool = make_pool(LONG_LINGER_MS, 10000);
    run_threads(&run, 8, connect_once_thread);
    for (int i = 0; i < 8; i++) {
        cr_assert_not_null(run.results[i].connection, "thread %d: %s", i,
                           run.results[i].message);
        cr_assert_eq(run.results[i].connection, run.results[0].connection,
                     "threads 0 and %d got different connections", i);
    }
    EXPECT_STAT(run.pool, INITS, 1);
    EXPECT_STAT(run.pool, LIVE, 1);
    EXPECT_STAT(run.pool, FAILURES, 0);
    cr_assert_eq(STAT(run.pool, HITS) + STAT(run.pool, MISSES), 8);
    for (int i = 0; i < 8; i++)
        gluvirt_connection_release(run.results[i].connection);
    EXPECT_STAT(run.pool, IDLE, 1);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(run.pool);
}

/* Every waiter of a failed first connect gets the error; nothing is cached,
 * and the next call tries again. */
Test(pool, concurrent_connects_to_dead_server_all_fail, .timeout = 20)
{
    struct concurrent_run run = { 0 };
    gluvirt_uri *uri;
    int64_t inits;

    require_gluster(); /* runs in the namespace, where DEAD_HOST refuses */
    uri = tcp_uri(DEAD_HOST, 24007, "gv0");
    run.uris[0] = uri;
    run.pool = make_pool(LONG_LINGER_MS, 10000);
    run_threads(&run, 8, connect_once_thread);
    for (int i = 0; i < 8; i++) {
        cr_assert_null(run.results[i].connection, "thread %d connected to a dead server", i);
        cr_assert_eq(run.results[i].error, ECONNREFUSED, "thread %d: errno %d: %s", i,
                     run.results[i].error, run.results[i].message);
        cr_assert(strstr(run.results[i].message, DEAD_HOST ":24007") != NULL,
                  "thread %d: message does not name " DEAD_HOST ":24007: %s", i,
                  run.results[i].message);
    }
    EXPECT_STAT(run.pool, FAILURES, 8);
    EXPECT_STAT(run.pool, LIVE, 0);
    EXPECT_STAT(run.pool, IDLE, 0);
    inits = STAT(run.pool, INITS);
    cr_assert(inits >= 1 && inits <= 8, "INITS %lld", (long long)inits);

    expect_failure(gluvirt_pool_connect(run.pool, uri), ECONNREFUSED, DEAD_HOST ":24007",
                   (char *)NULL);
    EXPECT_STAT(run.pool, INITS, inits + 1);
    EXPECT_STAT(run.pool, FAILURES, 9);
    EXPECT_STAT(run.pool, LIVE, 0);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(run.pool);
}

/* ------------------------------------------------------------ errors */

Test(pool, errors_unreachable_server, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    /* Port 1: the test host's address, where nothing listens. */
    gluvirt_uri *uri = tcp_uri(host, 1, "gv0");
    char where[64];
    double start = now_seconds();

    snprintf(where, sizeof where, "%s:1", host);
    expect_failure(gluvirt_pool_connect(pool, uri), ECONNREFUSED, where, (char *)NULL);
    cr_assert_lt(now_seconds() - start, 2.0, "a refused connect took %.3f s",
                 now_seconds() - start);
    EXPECT_STAT(pool, FAILURES, 1);
    EXPECT_STAT(pool, LIVE, 0);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

Test(pool, errors_unix_socket_missing, .timeout = 20)
{
    gluvirt_pool *pool;
    gluvirt_uri *uri;
    char socket_path[96];

    require_gluster();
    snprintf(socket_path, sizeof socket_path, "/tmp/gluvirt-test-no-such-%ld.socket",
             (long)getpid());
    pool = make_pool(LONG_LINGER_MS, 10000);
    uri = parse_uri("gluster+unix:///gv0/x?socket=%s", socket_path);
    expect_failure(gluvirt_pool_connect(pool, uri), ECONNREFUSED, socket_path, (char *)NULL);
    EXPECT_STAT(pool, FAILURES, 1);
    EXPECT_STAT(pool, LIVE, 0);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

Test(pool, errors_no_such_volume, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gluvirt-no-such-volume");
    double start = now_seconds();

    expect_failure(gluvirt_pool_connect(pool, uri), ENOENT, "gluvirt-no-such-volume",
                   "gluster volume list", (char *)NULL);
    cr_assert_lt(now_seconds() - start, 2.0, "took %.3f s", now_seconds() - start);
    EXPECT_STAT(pool, FAILURES, 1);
    EXPECT_STAT(pool, LIVE, 0);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

/* gvsecure has server.allow-insecure off; with client-bind-insecure on the
 * client's port is above 1024, the brick refuses it, and gfapi alone would
 * retry forever.  The pool must say why, long before its connect timeout. */
Test(pool, errors_insecure_port, .timeout = 40)
{
    const char *host = require_gluster();
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;
    gluvirt_uri *secure, *open_volume;
    gluvirt_connection *control;
    double start, took;

    require_volume("gvsecure");
    cr_assert_eq(gluvirt_pool_options_set_xlator_option(options, "*-client-*",
                                                        "client-bind-insecure", "on"),
                 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_pool_options_set_connect_timeout(options, 20000), 0);
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());

    /* The same client options work on a volume that allows insecure ports. */
    open_volume = tcp_uri(host, 0, "gv0");
    control = connect_ok(pool, open_volume);
    gluvirt_connection_release(control);

    secure = tcp_uri(host, 0, "gvsecure");
    start = now_seconds();
    expect_failure(gluvirt_pool_connect(pool, secure), EACCES, "server.allow-insecure on",
                   "rpc-auth-allow-insecure on", (char *)NULL);
    took = now_seconds() - start;
    cr_log_info("insecure port refused after %.3f s", took);
    cr_assert_lt(took, 5.0, "took %.3f s of a 20 s connect timeout", took);
    EXPECT_STAT(pool, FAILURES, 1);
    EXPECT_STAT(pool, LIVE, 1); /* the gv0 control connection, lingering */
    gluvirt_uri_free(secure);
    gluvirt_uri_free(open_volume);
    gluvirt_pool_free(pool);
}

/* A server that accepts TCP connections (the kernel completes them from the
 * listen backlog) but never answers: only the connect timeout ends it. */
Test(pool, errors_timeout, .timeout = 20)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t length = sizeof addr;
    gluvirt_pool *pool;
    gluvirt_uri *uri;
    int listener;
    char where[64];
    double start, took;

    require_gluster();
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(listener, 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0, "%s",
                 strerror(errno));
    cr_assert_eq(listen(listener, 16), 0);
    cr_assert_eq(getsockname(listener, (struct sockaddr *)&addr, &length), 0);
    snprintf(where, sizeof where, "127.0.0.1:%d", ntohs(addr.sin_port));

    pool = make_pool(LONG_LINGER_MS, 500);
    uri = tcp_uri("127.0.0.1", ntohs(addr.sin_port), "gv0");
    start = now_seconds();
    expect_failure(gluvirt_pool_connect(pool, uri), ETIMEDOUT, where, (char *)NULL);
    took = now_seconds() - start;
    cr_log_info("connect timeout of 500 ms ended the call after %.3f s", took);
    cr_assert(took >= 0.4 && took <= 3.0, "the call returned after %.3f s", took);
    EXPECT_STAT(pool, FAILURES, 1);
    EXPECT_STAT(pool, LIVE, 0);

    /* The stuck client must not hold up the pool's shutdown. */
    start = now_seconds();
    gluvirt_pool_free(pool);
    took = now_seconds() - start;
    cr_assert_lt(took, 1.0, "gluvirt_pool_free took %.3f s after a timed-out connect", took);
    gluvirt_uri_free(uri);
    close(listener);
}

/* Bad arguments are errors (EINVAL), never crashes; no server needed. */
Test(pool, errors_bad_options_and_arguments, .timeout = 10)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;
    gluvirt_uri *no_server = gluvirt_uri_new("gv0", "x");
    char log_path[] = "/tmp/gluvirt-test-log-XXXXXX";
    int fd = mkstemp(log_path);

#define EXPECT_EINVAL(call)                                                                  \
    do {                                                                                     \
        errno = 0;                                                                           \
        cr_assert_eq((call), -1, #call " was accepted");                                     \
        cr_assert_eq(gluvirt_errno(), EINVAL, #call ": errno %d: %s", gluvirt_errno(),       \
                     gluvirt_errmsg());                                                      \
        cr_assert_eq(errno, EINVAL, #call ": errno variable %d", errno);                     \
        cr_assert_neq(gluvirt_errmsg()[0], '\0', #call ": no message");                      \
    } while (0)

    cr_assert_not_null(options);
    cr_assert_geq(fd, 0);
    close(fd);

    EXPECT_EINVAL(gluvirt_pool_options_set_log(NULL, log_path, 4));
    EXPECT_EINVAL(gluvirt_pool_options_set_log(options, "-", 4));
    EXPECT_EINVAL(gluvirt_pool_options_set_log(options, log_path, -1));
    EXPECT_EINVAL(gluvirt_pool_options_set_log(options, log_path, 10));
    EXPECT_EINVAL(gluvirt_pool_options_set_log(options, log_path, 1000000));
    EXPECT_EINVAL(gluvirt_pool_options_set_log(options, log_path, -2147483647 - 1));
    cr_assert_eq(gluvirt_pool_options_set_log(options, log_path, 0), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_pool_options_set_log(options, log_path, 9), 0, "%s", gluvirt_errmsg());

    EXPECT_EINVAL(gluvirt_pool_options_set_linger(NULL, 1));
    EXPECT_EINVAL(gluvirt_pool_options_set_max_idle(NULL, 1));
    EXPECT_EINVAL(gluvirt_pool_options_set_connect_timeout(NULL, 1000));
    EXPECT_EINVAL(gluvirt_pool_options_set_exit_wait(NULL, 1000));
    EXPECT_EINVAL(gluvirt_pool_options_set_xlator_option(NULL, "*-write-behind", "k", "v"));
    EXPECT_EINVAL(gluvirt_pool_options_set_xlator_option(options, NULL, "k", "v"));
    EXPECT_EINVAL(gluvirt_pool_options_set_xlator_option(options, "*-write-behind", NULL, "v"));
    EXPECT_EINVAL(gluvirt_pool_options_set_xlator_option(options, "*-write-behind", "k", NULL));
    cr_assert_eq(gluvirt_pool_options_set_xlator_option(options, "*-write-behind",
                                                        "strict-O_DIRECT", "on"),
                 0, "%s", gluvirt_errmsg());
    /* Setting a key again replaces its value. */
    cr_assert_eq(gluvirt_pool_options_set_xlator_option(options, "*-write-behind",
                                                        "strict-O_DIRECT", "off"),
                 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_pool_options_set_linger(options, 0), 0);
    cr_assert_eq(gluvirt_pool_options_set_max_idle(options, 1), 0);

    pool = gluvirt_pool_new(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    gluvirt_pool_options_free(options);

    errno = 0;
    cr_assert_null(gluvirt_pool_connect(NULL, no_server));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_null(gluvirt_pool_connect(pool, NULL));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_null(gluvirt_pool_connect(pool, no_server));
    cr_assert_eq(gluvirt_errno(), EINVAL, "a URI without servers: errno %d: %s",
                 gluvirt_errno(), gluvirt_errmsg());
    EXPECT_EINVAL(gluvirt_pool_stat(NULL, GLUVIRT_POOL_LIVE));
    EXPECT_EINVAL(gluvirt_pool_stat(pool, (gluvirt_pool_counter)7));
    EXPECT_EINVAL(gluvirt_pool_stat(pool, (gluvirt_pool_counter)-1));
    EXPECT_STAT(pool, FAILURES, 0); /* refused arguments are not connect failures */
    cr_assert_null(gluvirt_connection_volume(NULL));

    gluvirt_connection_release(NULL);
    gluvirt_pool_options_free(NULL);
    gluvirt_pool_free(NULL);
    gluvirt_pool_free(pool);
    gluvirt_uri_free(no_server);
    unlink(log_path);
#undef EXPECT_EINVAL
}

/* ------------------------------------------------------------ linger, reaper */

Test(pool, linger_then_reaper_finalises, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(200, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    gluvirt_connection *connection = connect_ok(pool, uri);
    double start, took;
    int64_t live;

    start = now_seconds();
    gluvirt_connection_release(connection);
    took = now_seconds() - start;
    cr_assert_lt(took, 0.05, "release took %.3f s", took);
    EXPECT_STAT(pool, LIVE, 1);
    EXPECT_STAT(pool, IDLE, 1);

    cr_assert_eq(wait_stat_at_least(pool, GLUVIRT_POOL_FINALISED, 1, 2000), 1,
                 "not finalised within 2 s of a 200 ms linger");
    live = STAT(pool, LIVE);
    cr_assert_eq(live, 0, "LIVE %lld after finalising", (long long)live);
    EXPECT_STAT(pool, IDLE, 0);
    cr_log_info("finalised %.3f s after release", now_seconds() - start);

    /* Gone means a new connect connects again. */
    connection = connect_ok(pool, uri);
    EXPECT_STAT(pool, INITS, 2);
    EXPECT_STAT(pool, MISSES, 2);
    gluvirt_connection_release(connection);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

Test(pool, linger_reuses_idle_connection, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    gluvirt_connection *first = connect_ok(pool, uri), *again;

    gluvirt_connection_release(first);
    EXPECT_STAT(pool, IDLE, 1);
    again = connect_ok(pool, uri);
    EXPECT_STAT(pool, HITS, 1);
    EXPECT_STAT(pool, INITS, 1);
    EXPECT_STAT(pool, IDLE, 0);
    EXPECT_STAT(pool, LIVE, 1);
    gluvirt_connection_release(again);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

Test(pool, linger_zero_finalises_at_once, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(0, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    gluvirt_connection *connection = connect_ok(pool, uri);
    double start = now_seconds(), took;

    gluvirt_connection_release(connection);
    took = now_seconds() - start;
    cr_assert_lt(took, 0.05, "release took %.3f s (glfs_fini on the caller's thread?)", took);
    cr_assert_eq(wait_stat_at_least(pool, GLUVIRT_POOL_FINALISED, 1, 1000), 1,
                 "linger 0: not finalised within 1 s");
    EXPECT_STAT(pool, LIVE, 0);
    gluvirt_uri_free(uri);
    gluvirt_pool_free(pool);
}

/* max_idle 1: of two idle connections the older goes, the newer stays. */
Test(pool, max_idle_finalises_oldest, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;
    gluvirt_uri *gv0 = tcp_uri(host, 0, "gv0"), *gv1 = tcp_uri(host, 0, "gv1");
    gluvirt_connection *older, *newer;

    cr_assert_eq(gluvirt_pool_options_set_linger(options, LONG_LINGER_MS), 0);
    cr_assert_eq(gluvirt_pool_options_set_max_idle(options, 1), 0);
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());

    older = connect_ok(pool, gv0);
    newer = connect_ok(pool, gv1);
    gluvirt_connection_release(older);
    gluvirt_connection_release(newer);
    cr_assert_geq(wait_stat_at_least(pool, GLUVIRT_POOL_FINALISED, 1, 2000), 1,
                  "two idle connections with max_idle 1: none finalised within 2 s");
    EXPECT_STAT(pool, FINALISED, 1);
    EXPECT_STAT(pool, LIVE, 1);
    EXPECT_STAT(pool, IDLE, 1);

    newer = connect_ok(pool, gv1);
    EXPECT_STAT(pool, HITS, 1);
    EXPECT_STAT(pool, INITS, 2);
    older = connect_ok(pool, gv0);
    EXPECT_STAT(pool, INITS, 3);
    gluvirt_connection_release(older);
    gluvirt_connection_release(newer);
    gluvirt_uri_free(gv0);
    gluvirt_uri_free(gv1);
    gluvirt_pool_free(pool);
}

/* ------------------------------------------------------------ shutdown */

Test(pool, pool_free_is_bounded, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    double start, took;

    gluvirt_connection_release(connect_ok(pool, uri));
    start = now_seconds();
    gluvirt_pool_free(pool);
    took = now_seconds() - start;
    cr_log_info("gluvirt_pool_free with one idle connection: %.3f s", took);
    cr_assert_lt(took, 0.5, "gluvirt_pool_free took %.3f s", took);
    gluvirt_uri_free(uri);
}

/* A connection still held when its pool goes stays usable; releasing it
 * later is quick too. */
Test(pool, connection_outlives_pool_free, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool(LONG_LINGER_MS, 10000);
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    gluvirt_connection *connection = connect_ok(pool, uri);
    double start, took;

    start = now_seconds();
    gluvirt_pool_free(pool);
    took = now_seconds() - start;
    cr_assert_lt(took, 0.5, "gluvirt_pool_free took %.3f s", took);
    cr_assert_str_eq(gluvirt_connection_volume(connection), "gv0");
    start = now_seconds();
    gluvirt_connection_release(connection);
    took = now_seconds() - start;
    cr_assert_lt(took, 0.5, "the last release after gluvirt_pool_free took %.3f s", took);
    gluvirt_uri_free(uri);
}

/* ------------------------------------------------------------ fork */

/* Runs child_body in a forked child that reports one line through a pipe;
 * kills it when it has not exited within timeout_ms.  Returns the line. */
static void run_child(void (*child_body)(int report_fd, void *arg), void *arg,
                      unsigned timeout_ms, char *report, size_t report_size)
{
    int pipe_fds[2], status = 0;
    pid_t child, done = 0;
    double deadline;
    ssize_t got;

    cr_assert_eq(pipe(pipe_fds), 0);
    child = fork();
    cr_assert_geq(child, 0, "fork: %s", strerror(errno));
    if (child == 0) {
        close(pipe_fds[0]);
        alarm(10); /* a hung child must not outlive the test */
        child_body(pipe_fds[1], arg);
        _exit(0);
    }
    close(pipe_fds[1]);
    deadline = now_seconds() + timeout_ms / 1000.0;
    while ((done = waitpid(child, &status, WNOHANG)) == 0 && now_seconds() < deadline)
        sleep_ms(10);
    if (done == 0) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        close(pipe_fds[0]);
        cr_assert_fail("the child did not finish within %u ms (hung on the parent's pool?)",
                       timeout_ms);
    }
    got = read(pipe_fds[0], report, report_size - 1);
    report[got > 0 ? got : 0] = '\0';
    close(pipe_fds[0]);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child ended with status 0x%x; it said: %s", status, report);
}

struct fork_case {
    gluvirt_pool *pool;
    gluvirt_uri *uri;
    gluvirt_connection *connection;
};

static void child_connects(int report_fd, void *arg)
{
    struct fork_case *fork_case = arg;
    double start = now_seconds();
    gluvirt_connection *connection = gluvirt_pool_connect(fork_case->pool, fork_case->uri);
    double took = now_seconds() - start;

    dprintf(report_fd, "connection=%s errno=%d took=%.3f message=%s",
            connection != NULL ? "yes" : "no", gluvirt_errno(), took, gluvirt_errmsg());
    _exit(connection == NULL && gluvirt_errno() == ECHILD && took < 2.0 ? 0 : 1);
}

Test(pool, fork_child_gets_echild, .timeout = 20)
{
    const char *host = require_gluster();
    struct fork_case fork_case = { .pool = make_pool(LONG_LINGER_MS, 10000) };
    char report[1024];

    fork_case.uri = tcp_uri(host, 0, "gv0");
    fork_case.connection = connect_ok(fork_case.pool, fork_case.uri);
    run_child(child_connects, &fork_case, 5000, report, sizeof report);
    cr_log_info("child: %s", report);
    /* The parent's pool is unharmed. */
    gluvirt_connection *again = connect_ok(fork_case.pool, fork_case.uri);
    cr_assert_eq(again, fork_case.connection);
    gluvirt_connection_release(again);
    gluvirt_connection_release(fork_case.connection);
    gluvirt_uri_free(fork_case.uri);
    gluvirt_pool_free(fork_case.pool);
}

/* A child that tidies up the parent's objects (stat, release, free) must
 * not hang on threads it does not have. */
static void child_cleans_up(int report_fd, void *arg)
{
    struct fork_case *fork_case = arg;
    double start = now_seconds();
    int64_t live = gluvirt_pool_stat(fork_case->pool, GLUVIRT_POOL_LIVE);
    int stat_errno = gluvirt_errno();

    gluvirt_connection_release(fork_case->connection);
    gluvirt_pool_free(fork_case->pool);
    dprintf(report_fd, "stat=%lld errno=%d took=%.3f", (long long)live, stat_errno,
            now_seconds() - start);
    _exit(live == -1 && stat_errno == ECHILD && now_seconds() - start < 2.0 ? 0 : 1);
}

Test(pool, fork_child_cleanup_does_not_hang, .timeout = 20)
{
    const char *host = require_gluster();
    struct fork_case fork_case = { .pool = make_pool(LONG_LINGER_MS, 10000) };
    char report[1024];

    fork_case.uri = tcp_uri(host, 0, "gv0");
    fork_case.connection = connect_ok(fork_case.pool, fork_case.uri);
    run_child(child_cleans_up, &fork_case, 5000, report, sizeof report);
    cr_log_info("child: %s", report);
    EXPECT_STAT(fork_case.pool, LIVE, 1);
    gluvirt_connection_release(fork_case.connection);
    gluvirt_uri_free(fork_case.uri);
    gluvirt_pool_free(fork_case.pool);
}

/* ------------------------------------------------------------ logging */

/* By default gluster's log goes nowhere: not to the caller's stderr, even
 * when a connect fails. */
Test(pool, stderr_stays_clean, .timeout = 20)
{
    const char *host = require_gluster();
    char path[] = "/tmp/gluvirt-test-stderr-XXXXXX";
    int capture = mkstemp(path), saved;
    gluvirt_pool *pool;
    gluvirt_uri *dead, *missing, *good;
    gluvirt_connection *failed, *missing_volume, *connection;
    struct stat info;
    char text[2048];
    ssize_t got;

    cr_assert_geq(capture, 0);
    unlink(path);
    dead = tcp_uri(DEAD_HOST, 24007, "gv0");
    missing = tcp_uri(host, 0, "gluvirt-no-such-volume");
    good = tcp_uri(host, 0, "gv0");

    /* No assertion may run while fd 2 is redirected: results are checked
     * afterwards. */
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    cr_assert_geq(saved, 0);
    dup2(capture, STDERR_FILENO);
    pool = gluvirt_pool_new(NULL);
    failed = gluvirt_pool_connect(pool, dead);
    missing_volume = gluvirt_pool_connect(pool, missing);
    connection = gluvirt_pool_connect(pool, good);
    gluvirt_connection_release(connection);
    gluvirt_pool_free(pool);
    sleep_ms(300); /* background finalising starts logging at once, if it does */
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    cr_assert_null(failed);
    cr_assert_null(missing_volume);
    cr_assert_not_null(connection);
    cr_assert_eq(fstat(capture, &info), 0);
    got = pread(capture, text, sizeof text - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    close(capture);
    cr_assert_eq(info.st_size, 0, "%lld bytes reached stderr:\n%s", (long long)info.st_size,
                 text);
    gluvirt_uri_free(dead);
    gluvirt_uri_free(missing);
    gluvirt_uri_free(good);
}

/* A log file named in the options receives gfapi's messages: at level 7
 * (info) glfs_fini writes some as soon as it starts, so linger 0 shows them
 * right after the release. */
Test(pool, log_goes_to_named_file, .timeout = 20)
{
    const char *host = require_gluster();
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;
    gluvirt_uri *uri = tcp_uri(host, 0, "gv0");
    char path[] = "/tmp/gluvirt-test-log-XXXXXX";
    int fd = mkstemp(path);
    struct stat info = { 0 };
    double deadline;

    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(gluvirt_pool_options_set_log(options, path, 7), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_pool_options_set_linger(options, 0), 0);
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    gluvirt_connection_release(connect_ok(pool, uri));
    deadline = now_seconds() + 2.0;
    while (stat(path, &info) == 0 && info.st_size == 0 && now_seconds() < deadline)
        sleep_ms(20);
    cr_assert_gt(info.st_size, 0, "nothing logged to %s at level 7 within 2 s", path);
    gluvirt_pool_free(pool);
    gluvirt_uri_free(uri);
    unlink(path);
}

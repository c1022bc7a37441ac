/* The pool on the real volumes: sharing, concurrency, errors. */
#include "test_pool_support.h"

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
    cr_assert_lt(now_seconds() - start, 5.0, "a refused connect took %.3f s",
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
    cr_assert_lt(now_seconds() - start, 5.0, "took %.3f s", now_seconds() - start);
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
    cr_assert_lt(took, 3.0, "gluvirt_pool_free took %.3f s after a timed-out connect", took);
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

/* The pool on the real volumes: linger and reaper, shutdown, fork, logging. */
#include "test_pool_support.h"

/* What a caller waits for in a release or gluvirt_pool_free: bookkeeping
 * only, where a glfs_fini on the caller's thread would take ~10 s.  The
 * bound leaves room for a busy machine (a sanitizer build beside other
 * tests on two cores), far below what it guards against. */
#define QUICK_SECONDS 2.0

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
    cr_assert_lt(took, QUICK_SECONDS, "release took %.3f s", took);
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
    cr_assert_lt(took, QUICK_SECONDS, "release took %.3f s (glfs_fini on the caller's thread?)", took);
    cr_assert_eq(wait_stat_at_least(pool, GLUVIRT_POOL_FINALISED, 1, 5000), 1,
                 "linger 0: not finalised within 5 s");
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
    cr_assert_lt(took, QUICK_SECONDS, "gluvirt_pool_free took %.3f s", took);
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
    cr_assert_lt(took, QUICK_SECONDS, "gluvirt_pool_free took %.3f s", took);
    cr_assert_str_eq(gluvirt_connection_volume(connection), "gv0");
    start = now_seconds();
    gluvirt_connection_release(connection);
    took = now_seconds() - start;
    cr_assert_lt(took, QUICK_SECONDS, "the last release after gluvirt_pool_free took %.3f s", took);
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

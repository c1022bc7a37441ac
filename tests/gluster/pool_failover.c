/*
 * Volfile server failover through the pool, run by pool-failover.sh on a
 * 2-node cluster whose node 1 glusterd is stopped (its brick still runs):
 *
 *   pool_failover VOLUME DEAD_HOST LIVE_HOST
 *
 * - servers [DEAD_HOST, LIVE_HOST]: the connect succeeds once gfapi moves
 *   on to the second server (about 3 s);
 * - only DEAD_HOST: fails at once with ECONNREFUSED naming DEAD_HOST:24007;
 * - only LIVE_HOST: succeeds at once.
 *
 * Prints one "ok:" or "FAIL:" line per check; exits 1 if any failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>
#include <gluvirt/pool.h>

static int failed;

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int ok, const char *what, const char *detail)
{
    printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, detail[0] != '\0' ? ": " : "", detail);
    fflush(stdout);
    if (!ok)
        failed++;
}

static gluvirt_uri *make_uri(const char *volume, const char *first, const char *second)
{
    gluvirt_uri *uri = gluvirt_uri_new(volume, "failover.img");

    if (uri == NULL || gluvirt_uri_add_tcp_server(uri, first, 0) != 0 ||
        (second != NULL && gluvirt_uri_add_tcp_server(uri, second, 0) != 0)) {
        fprintf(stderr, "pool_failover: cannot build the URI: %s\n", gluvirt_errmsg());
        gluvirt_uri_free(uri);
        return NULL;
    }
    return uri;
}

int main(int argc, char **argv)
{
    gluvirt_pool_options *options;
    gluvirt_pool *pool;
    gluvirt_uri *both, *dead_only, *live_only;
    gluvirt_connection *connection;
    char detail[1024], expected[300];
    double start, took;

    if (argc != 4) {
        fprintf(stderr, "usage: pool_failover VOLUME DEAD_HOST LIVE_HOST\n");
        return 2;
    }
    const char *volume = argv[1], *dead = argv[2], *live = argv[3];

    options = gluvirt_pool_options_new();
    /* Long enough for the ~3 s failover, short enough to bound the test. */
    if (options == NULL || gluvirt_pool_options_set_connect_timeout(options, 15000) != 0) {
        fprintf(stderr, "pool_failover: options: %s\n", gluvirt_errmsg());
        return 2;
    }
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    both = make_uri(volume, dead, live);
    dead_only = make_uri(volume, dead, NULL);
    live_only = make_uri(volume, live, NULL);
    if (pool == NULL || both == NULL || dead_only == NULL || live_only == NULL) {
        fprintf(stderr, "pool_failover: setup: %s\n", gluvirt_errmsg());
        return 2;
    }

    start = now_seconds();
    connection = gluvirt_pool_connect(pool, both);
    took = now_seconds() - start;
    if (connection != NULL)
        snprintf(detail, sizeof detail, "connected after %.3f s", took);
    else
        snprintf(detail, sizeof detail, "errno %d after %.3f s: %s", gluvirt_errno(), took,
                 gluvirt_errmsg());
    check(connection != NULL, "servers [dead, live] fail over to the second", detail);
    gluvirt_connection_release(connection);

    start = now_seconds();
    connection = gluvirt_pool_connect(pool, dead_only);
    took = now_seconds() - start;
    snprintf(expected, sizeof expected, "%s:24007", dead);
    snprintf(detail, sizeof detail, "errno %d after %.3f s: %s", gluvirt_errno(), took,
             connection != NULL ? "(connected)" : gluvirt_errmsg());
    check(connection == NULL && gluvirt_errno() == ECONNREFUSED &&
              strstr(gluvirt_errmsg(), expected) != NULL && took < 2.0,
          "only the dead server: ECONNREFUSED at once, naming it", detail);
    gluvirt_connection_release(connection);

    start = now_seconds();
    connection = gluvirt_pool_connect(pool, live_only);
    took = now_seconds() - start;
    if (connection != NULL)
        snprintf(detail, sizeof detail, "connected after %.3f s", took);
    else
        snprintf(detail, sizeof detail, "errno %d after %.3f s: %s", gluvirt_errno(), took,
                 gluvirt_errmsg());
    check(connection != NULL && took < 2.0, "only the live server: connects at once", detail);
    gluvirt_connection_release(connection);

    gluvirt_uri_free(both);
    gluvirt_uri_free(dead_only);
    gluvirt_uri_free(live_only);
    gluvirt_pool_free(pool);
    return failed == 0 ? 0 : 1;
}

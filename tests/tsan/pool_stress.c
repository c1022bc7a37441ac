/*
 * Concurrency stress of the connection pool, meant to run under
 * ThreadSanitizer (tests/tsan.sh builds it with the library
 * sources and -fsanitize=thread) against the test volumes gv0 gv1 gv2:
 *
 *   1. one pool, linger 60 s: 16 threads x 200 connect/release cycles over
 *      the three volumes while 4 more threads make connects that fail (a
 *      dead server, a volume that does not exist), all started at once;
 *   2. one pool, linger 30 ms, max_idle 2: threads hold connections briefly
 *      and pause, so that the reaper finalises connections while others
 *      revive them;
 *   3. gluvirt_pool_free while another thread releases the last reference
 *      to a connection of that pool.
 *
 * Needs GLUVIRT_TEST_HOST and the network namespace of the test volumes.
 * Prints one line per check; exits 1 if a check failed (ThreadSanitizer
 * exits on its own with its exitcode at the first report).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>
#include <gluvirt/pool.h>

#define STRESS_THREADS 16
#define STRESS_CYCLES 200
#define FAILING_THREADS 4
#define FAILING_CYCLES 25
#define REAPER_THREADS 6
#define REAPER_CYCLES 40
#define DEAD_HOST "127.1.1.250"

static const char *const volumes[3] = { "gv0", "gv1", "gv2" };
static int checks_failed;

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

static void check(int ok, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *format, ...)
{
    va_list args;

    printf("%s: ", ok ? "ok" : "FAIL");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
    fflush(stdout);
    if (!ok)
        checks_failed++;
}

static gluvirt_uri *tcp_uri(const char *host, const char *volume)
{
    gluvirt_uri *uri = gluvirt_uri_new(volume, "stress.img");

    if (uri == NULL || gluvirt_uri_add_tcp_server(uri, host, 0) != 0) {
        fprintf(stderr, "pool_stress: cannot build a URI for %s: %s\n", volume,
                gluvirt_errmsg());
        exit(2);
    }
    return uri;
}

static gluvirt_pool *make_pool(unsigned linger_ms, unsigned max_idle)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;

    if (options == NULL || gluvirt_pool_options_set_linger(options, linger_ms) != 0 ||
        gluvirt_pool_options_set_max_idle(options, max_idle) != 0 ||
        gluvirt_pool_options_set_connect_timeout(options, 10000) != 0) {
        fprintf(stderr, "pool_stress: options: %s\n", gluvirt_errmsg());
        exit(2);
    }
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    if (pool == NULL) {
        fprintf(stderr, "pool_stress: gluvirt_pool_new: %s\n", gluvirt_errmsg());
        exit(2);
    }
    return pool;
}

struct worker {
    pthread_t thread;
    gluvirt_pool *pool;
    gluvirt_uri *const *uris; /* gv0 gv1 gv2, or the one failing URI */
    int expected_errno;       /* 0: connects must succeed */
    int cycles;
    unsigned seed;
    unsigned hold_ms, pause_ms; /* upper bounds of random waits per cycle */
    pthread_barrier_t *start;
    /* results */
    int wrong;    /* unexpected outcomes */
    char first_wrong[512];
};

static void note_wrong(struct worker *worker, const char *what)
{
    if (worker->wrong++ == 0)
        snprintf(worker->first_wrong, sizeof worker->first_wrong, "%s (errno %d: %s)", what,
                 gluvirt_errno(), gluvirt_errmsg());
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    unsigned seed = worker->seed;

    pthread_barrier_wait(worker->start);
    for (int i = 0; i < worker->cycles; i++) {
        int pick = worker->expected_errno != 0 ? 0 : (int)(rand_r(&seed) % 3);
        const gluvirt_uri *uri = worker->uris[pick];
        gluvirt_connection *connection = gluvirt_pool_connect(worker->pool, uri);

        if (worker->expected_errno != 0) {
            if (connection != NULL)
                note_wrong(worker, "a connect that must fail succeeded");
            else if (gluvirt_errno() != worker->expected_errno)
                note_wrong(worker, "a failing connect gave the wrong errno");
        } else if (connection == NULL) {
            note_wrong(worker, "connect failed");
        } else if (strcmp(gluvirt_connection_volume(connection), volumes[pick]) != 0) {
            note_wrong(worker, "connected to the wrong volume");
        }
        if (worker->hold_ms != 0)
            sleep_ms(rand_r(&seed) % worker->hold_ms);
        gluvirt_connection_release(connection);
        if (worker->pause_ms != 0)
            sleep_ms(rand_r(&seed) % worker->pause_ms);
    }
    return NULL;
}

static void run_workers(struct worker *workers, int count)
{
    pthread_barrier_t start;

    pthread_barrier_init(&start, NULL, (unsigned)count);
    for (int i = 0; i < count; i++) {
        workers[i].start = &start;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "pool_stress: pthread_create failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < count; i++)
        pthread_join(workers[i].thread, NULL);
    pthread_barrier_destroy(&start);
}

static int report_workers(const struct worker *workers, int count, const char *what)
{
    int wrong = 0;

    for (int i = 0; i < count; i++)
        if (workers[i].wrong != 0) {
            check(0, "%s thread %d: %d wrong outcomes, first: %s", what, i, workers[i].wrong,
                  workers[i].first_wrong);
            wrong++;
        }
    return wrong;
}

static int64_t stat_of(gluvirt_pool *pool, gluvirt_pool_counter counter)
{
    return gluvirt_pool_stat(pool, counter);
}

static void shared_pool_with_failures(const char *host)
{
    gluvirt_pool *pool = make_pool(60000, 16);
    gluvirt_uri *uris[3], *dead, *missing;
    struct worker workers[STRESS_THREADS + FAILING_THREADS];
    int count = 0;
    double start;

    for (int i = 0; i < 3; i++)
        uris[i] = tcp_uri(host, volumes[i]);
    dead = tcp_uri(DEAD_HOST, "gv0");
    missing = tcp_uri(host, "gluvirt-no-such-volume");
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < STRESS_THREADS; i++, count++) {
        workers[count].pool = pool;
        workers[count].uris = uris;
        workers[count].cycles = STRESS_CYCLES;
        workers[count].seed = 1000u + (unsigned)i;
    }
    for (int i = 0; i < FAILING_THREADS; i++, count++) {
        workers[count].pool = pool;
        workers[count].uris = i % 2 == 0 ? &dead : &missing;
        workers[count].expected_errno = i % 2 == 0 ? ECONNREFUSED : ENOENT;
        workers[count].cycles = FAILING_CYCLES;
        workers[count].seed = 2000u + (unsigned)i;
    }
    start = now_seconds();
    run_workers(workers, count);
    printf("phase 1: %d x %d cycles and %d x %d failing connects in %.3f s\n", STRESS_THREADS,
           STRESS_CYCLES, FAILING_THREADS, FAILING_CYCLES, now_seconds() - start);

    if (report_workers(workers, count, "phase 1") == 0)
        check(1, "phase 1: every connect gave the expected outcome");
    check(stat_of(pool, GLUVIRT_POOL_FAILURES) == FAILING_THREADS * FAILING_CYCLES,
          "phase 1: FAILURES %lld == %d", (long long)stat_of(pool, GLUVIRT_POOL_FAILURES),
          FAILING_THREADS * FAILING_CYCLES);
    check(stat_of(pool, GLUVIRT_POOL_LIVE) == 3 && stat_of(pool, GLUVIRT_POOL_IDLE) == 3,
          "phase 1: LIVE %lld and IDLE %lld == 3", (long long)stat_of(pool, GLUVIRT_POOL_LIVE),
          (long long)stat_of(pool, GLUVIRT_POOL_IDLE));
    check(stat_of(pool, GLUVIRT_POOL_FINALISED) == 0, "phase 1: FINALISED %lld == 0",
          (long long)stat_of(pool, GLUVIRT_POOL_FINALISED));
    gluvirt_pool_free(pool);
    for (int i = 0; i < 3; i++)
        gluvirt_uri_free(uris[i]);
    gluvirt_uri_free(dead);
    gluvirt_uri_free(missing);
}

static void reaper_races_revivals(const char *host)
{
    gluvirt_pool *pool = make_pool(30, 2);
    gluvirt_uri *uris[3];
    struct worker workers[REAPER_THREADS];
    int64_t inits, finalised, live = -1;
    double start, deadline;

    for (int i = 0; i < 3; i++)
        uris[i] = tcp_uri(host, volumes[i]);
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < REAPER_THREADS; i++) {
        workers[i].pool = pool;
        workers[i].uris = uris;
        workers[i].cycles = REAPER_CYCLES;
        workers[i].seed = 3000u + (unsigned)i;
        workers[i].hold_ms = 5;
        workers[i].pause_ms = 60;
    }
    start = now_seconds();
    run_workers(workers, REAPER_THREADS);
    printf("phase 2: %d x %d cycles with linger 30 ms in %.3f s\n", REAPER_THREADS,
           REAPER_CYCLES, now_seconds() - start);
    if (report_workers(workers, REAPER_THREADS, "phase 2") == 0)
        check(1, "phase 2: every connect succeeded on the right volume");

    /* Everything is released: the reaper must empty the pool. */
    deadline = now_seconds() + 3.0;
    while ((live = stat_of(pool, GLUVIRT_POOL_LIVE)) != 0 && now_seconds() < deadline)
        sleep_ms(10);
    inits = stat_of(pool, GLUVIRT_POOL_INITS);
    finalised = stat_of(pool, GLUVIRT_POOL_FINALISED);
    check(live == 0, "phase 2: LIVE %lld == 0 after the linger", (long long)live);
    check(inits == finalised && inits >= 3, "phase 2: every one of %lld INITS finalised (%lld)",
          (long long)inits, (long long)finalised);
    check(stat_of(pool, GLUVIRT_POOL_FAILURES) == 0, "phase 2: no FAILURES");
    gluvirt_pool_free(pool);
    for (int i = 0; i < 3; i++)
        gluvirt_uri_free(uris[i]);
}

struct holder {
    gluvirt_connection *connection;
    pthread_barrier_t *go;
    unsigned delay_us;
};

/* Releases the last reference while the main thread frees the pool. */
static void *holder_main(void *arg)
{
    struct holder *holder = arg;
    struct timespec delay = { .tv_nsec = (long)holder->delay_us * 1000L };

    pthread_barrier_wait(holder->go);
    nanosleep(&delay, NULL);
    gluvirt_connection_release(holder->connection);
    return NULL;
}

static void free_while_held(const char *host)
{
    gluvirt_uri *uri = tcp_uri(host, "gv0");
    double slowest = 0;
    int rounds = 20, done = 0;

    for (int round = 0; round < rounds; round++) {
        gluvirt_pool *pool = make_pool(60000, 16);
        pthread_barrier_t go;
        struct holder holder = { .go = &go, .delay_us = (unsigned)(round % 5) * 500u };
        pthread_t thread;
        double start, took;

        holder.connection = gluvirt_pool_connect(pool, uri);
        if (holder.connection == NULL) {
            check(0, "phase 3: connect: %s", gluvirt_errmsg());
            gluvirt_pool_free(pool);
            break;
        }
        if (strcmp(gluvirt_connection_volume(holder.connection), "gv0") != 0)
            check(0, "phase 3: wrong volume");
        pthread_barrier_init(&go, NULL, 2);
        pthread_create(&thread, NULL, holder_main, &holder);
        pthread_barrier_wait(&go);
        start = now_seconds();
        gluvirt_pool_free(pool);
        took = now_seconds() - start;
        pthread_join(thread, NULL);
        pthread_barrier_destroy(&go);
        if (took > slowest)
            slowest = took;
        done++;
    }
    check(done == rounds, "phase 3: %d rounds of gluvirt_pool_free racing the last release",
          done);
    check(slowest < 1.0, "phase 3: slowest gluvirt_pool_free took %.3f s", slowest);
    gluvirt_uri_free(uri);
}

int main(void)
{
    const char *host = getenv("GLUVIRT_TEST_HOST");

    if (host == NULL || *host == '\0') {
        fprintf(stderr, "pool_stress: GLUVIRT_TEST_HOST is not set\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    shared_pool_with_failures(host);
    reaper_races_revivals(host);
    free_while_held(host);
    printf("pool_stress: %s\n", checks_failed == 0 ? "all checks passed" : "checks FAILED");
    return checks_failed == 0 ? 0 : 1;
}

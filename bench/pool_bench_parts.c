/* The pool benchmark's measurements: warm, cold, bare gfapi, N images. */
#include "pool_bench.h"

/* ------------------------------------------------------------ small tools */

int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void fail(struct figures *f, const char *fmt, ...) BENCH_PRINTF(2, 3);
void fail(struct figures *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->error, sizeof f->error, fmt, ap);
    va_end(ap);
    f->ok = 0;
}

static void warn(struct figures *f, const char *fmt, ...) BENCH_PRINTF(2, 3);
static void warn(struct figures *f, const char *fmt, ...)
{
    size_t used = strlen(f->warnings);
    va_list ap;

    if (used && used + 3 < sizeof f->warnings) {
        memcpy(f->warnings + used, "\n", 2);
        used++;
    }
    va_start(ap, fmt);
    vsnprintf(f->warnings + used, sizeof f->warnings - used, fmt, ap);
    va_end(ap);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Sorts the samples. */
static struct sample_stats summarise(int64_t *ns, size_t n)
{
    struct sample_stats s = {NAN, NAN, NAN, NAN};
    double sum = 0;
    size_t i, rank;

    if (n == 0)
        return s;
    qsort(ns, n, sizeof *ns, compare_i64);
    for (i = 0; i < n; i++)
        sum += (double)ns[i];
    rank = (size_t)ceil(0.99 * (double)n);
    s.mean = sum / (double)n;
    s.p99 = (double)ns[rank ? rank - 1 : 0];
    s.min = (double)ns[0];
    s.max = (double)ns[n - 1];
    return s;
}

long count_threads(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    long n = 0;

    if (!dir)
        return -1;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static long rss_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!status)
        return -1;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(status);
    return kib;
}

static void image_path(unsigned index, char *out, size_t size)
{
    snprintf(out, size, "bench-img-%u", index);
}

static gluvirt_uri *image_uri(const struct bench_config *cfg, unsigned index, struct figures *f)
{
    char path[64];
    gluvirt_uri *uri;

    image_path(index, path, sizeof path);
    uri = gluvirt_uri_new(cfg->volume, path);
    if (uri && gluvirt_uri_add_tcp_server(uri, cfg->host, cfg->port) == 0)
        return uri;
    fail(f, "cannot describe %s:%d/%s/%s: %s", cfg->host, cfg->port, cfg->volume, path,
         gluvirt_errmsg());
    gluvirt_uri_free(uri);
    return NULL;
}

static gluvirt_pool *make_pool(unsigned linger_ms, int set_linger, struct figures *f)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool = NULL;

    if (options && (!set_linger || gluvirt_pool_options_set_linger(options, linger_ms) == 0))
        pool = gluvirt_pool_new(options);
    if (!pool)
        fail(f, "cannot make a pool: %s", gluvirt_errmsg());
    gluvirt_pool_options_free(options);
    return pool;
}

static void record_counters(gluvirt_pool *pool, struct figures *f)
{
    snprintf(f->counters, sizeof f->counters,
             "live %lld, idle %lld, hits %lld, misses %lld, inits %lld, failures %lld, "
             "finalised %lld",
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_LIVE),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_IDLE),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_MISSES),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_INITS),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_FAILURES),
             (long long)gluvirt_pool_stat(pool, GLUVIRT_POOL_FINALISED));
}

static void expect_counter(gluvirt_pool *pool, gluvirt_pool_counter counter, const char *name,
                           int64_t expected, struct figures *f)
{
    int64_t got = gluvirt_pool_stat(pool, counter);

    if (got != expected)
        warn(f, "pool counter %s is %lld, expected %lld", name, (long long)got,
             (long long)expected);
}

/*
 * A client the way a program without the pool makes one, logging like a
 * pool's client does by default.  On failure the half-made client is left
 * alone: finalising it would cost 10 s and the process ends soon anyway.
 */
static glfs_t *bare_connect(const struct bench_config *cfg, struct figures *f)
{
    glfs_t *fs = glfs_new(cfg->volume);

    if (!fs) {
        fail(f, "glfs_new(\"%s\") failed: %s", cfg->volume, strerror(errno));
        return NULL;
    }
    if (glfs_set_volfile_server(fs, "tcp", cfg->host, cfg->port) < 0 ||
        glfs_set_logging(fs, "/dev/null", 4) < 0) {
        fail(f, "gfapi refused server %s:%d or its log: %s", cfg->host, cfg->port,
             strerror(errno));
        return NULL;
    }
    if (glfs_init(fs) != 0) {
        fail(f, "glfs_init of volume '%s' on %s:%d failed: %s (is the test volume up, and does "
             "this run inside its network namespace?)",
             cfg->volume, cfg->host, cfg->port, strerror(errno));
        return NULL;
    }
    return fs;
}

/* ------------------------------------------------------------ 1. warm */

void part_warm(const struct bench_config *cfg, struct figures *f)
{
    int64_t *connect_ns = calloc(cfg->warm_cycles, sizeof *connect_ns);
    int64_t *release_ns = calloc(cfg->warm_cycles, sizeof *release_ns);
    int64_t *pair_ns = calloc(cfg->warm_cycles, sizeof *pair_ns);
    gluvirt_uri *uri = image_uri(cfg, 0, f);
    gluvirt_pool *pool = uri ? make_pool(WARM_LINGER_MS, 1, f) : NULL;
    gluvirt_connection *c;
    unsigned i;

    if (!connect_ns || !release_ns || !pair_ns) {
        fail(f, "out of memory for %u samples", cfg->warm_cycles);
        return;
    }
    if (!pool)
        return;
    c = gluvirt_pool_connect(pool, uri);
    if (!c) {
        fail(f, "first connect: %s", gluvirt_errmsg());
        return;
    }
    gluvirt_connection_release(c);

    for (i = 0; i < cfg->warm_cycles; i++) {
        int64_t t0 = now_ns(), t1, t2;

        c = gluvirt_pool_connect(pool, uri);
        t1 = now_ns();
        if (!c) {
            fail(f, "warm connect %u: %s", i, gluvirt_errmsg());
            return;
        }
        gluvirt_connection_release(c);
        t2 = now_ns();
        connect_ns[i] = t1 - t0;
        release_ns[i] = t2 - t1;
        pair_ns[i] = t2 - t0;
    }
    f->warm_connect = summarise(connect_ns, cfg->warm_cycles);
    f->warm_release = summarise(release_ns, cfg->warm_cycles);
    f->warm_pair = summarise(pair_ns, cfg->warm_cycles);

    expect_counter(pool, GLUVIRT_POOL_INITS, "inits", 1, f);
    expect_counter(pool, GLUVIRT_POOL_HITS, "hits", cfg->warm_cycles, f);
    expect_counter(pool, GLUVIRT_POOL_MISSES, "misses", 1, f);
    expect_counter(pool, GLUVIRT_POOL_LIVE, "live", 1, f);
    expect_counter(pool, GLUVIRT_POOL_IDLE, "idle", 1, f);
    record_counters(pool, f);
    gluvirt_pool_free(pool);
    gluvirt_uri_free(uri);
    f->ok = 1;
}

/* ------------------------------------------------------------ 2. cold */

/*
 * Linger 0: each release lets the connection go; once the pool has handed
 * it to glfs_fini the next connect to the same key must make a new client.
 * One untimed cycle first, so that loading gfapi's translators (once per
 * process) is not counted; the bare gfapi part does the same.
 */
void part_cold(const struct bench_config *cfg, struct figures *f)
{
    unsigned n = cfg->cold_cycles, i;
    int64_t *connect_ns = calloc(n, sizeof(int64_t));
    int64_t *release_ns = calloc(n, sizeof(int64_t));
    int64_t *handoff_ns = calloc(n, sizeof(int64_t));
    int64_t free_ns;
    gluvirt_uri *uri = image_uri(cfg, 0, f);
    gluvirt_pool *pool = uri ? make_pool(0, 1, f) : NULL;
    unsigned late = 0;

    if (!connect_ns || !release_ns || !handoff_ns) {
        fail(f, "out of memory");
        return;
    }
    if (!pool)
        return;
    for (i = 0; i <= n; i++) {
        int64_t t0 = now_ns(), t1, t2, deadline;
        gluvirt_connection *c = gluvirt_pool_connect(pool, uri);

        t1 = now_ns();
        if (!c) {
            fail(f, "cold connect %u: %s", i, gluvirt_errmsg());
            return;
        }
        gluvirt_connection_release(c);
        t2 = now_ns();
        deadline = t2 + REAPER_DEADLINE_NS;
        while (gluvirt_pool_stat(pool, GLUVIRT_POOL_FINALISED) < (int64_t)i + 1 &&
               now_ns() < deadline)
            sleep_ms(1);
        if (gluvirt_pool_stat(pool, GLUVIRT_POOL_FINALISED) < (int64_t)i + 1)
            late++;
        if (i == 0)
            continue;
        connect_ns[i - 1] = t1 - t0;
        release_ns[i - 1] = t2 - t1;
        handoff_ns[i - 1] = now_ns() - t2;
    }
    if (late)
        warn(f, "linger 0: %u of %u released connections were not handed to glfs_fini within "
             "%lld s (counter 'finalised')",
             late, n + 1, REAPER_DEADLINE_NS / 1000000000LL);
    f->cold_connect = summarise(connect_ns, n);
    f->cold_release = summarise(release_ns, n);
    f->cold_handoff = summarise(handoff_ns, n);
    expect_counter(pool, GLUVIRT_POOL_INITS, "inits", n + 1, f);
    expect_counter(pool, GLUVIRT_POOL_MISSES, "misses", n + 1, f);
    expect_counter(pool, GLUVIRT_POOL_HITS, "hits", 0, f);
    expect_counter(pool, GLUVIRT_POOL_LIVE, "live", 0, f);
    record_counters(pool, f);
    free_ns = now_ns();
    gluvirt_pool_free(pool);
    free_ns = now_ns() - free_ns;
    f->cold_last_free = summarise(&free_ns, 1);
    gluvirt_uri_free(uri);
    f->ok = 1;
}

/* A new pool (default options) per cycle: what a short-lived user waits for. */
void part_fresh(const struct bench_config *cfg, struct figures *f)
{
    unsigned n = cfg->cold_cycles, i;
    int64_t *new_ns = calloc(n, sizeof(int64_t));
    int64_t *connect_ns = calloc(n, sizeof(int64_t));
    int64_t *release_ns = calloc(n, sizeof(int64_t));
    int64_t *free_ns = calloc(n, sizeof(int64_t));
    gluvirt_uri *uri = image_uri(cfg, 0, f);

    if (!new_ns || !connect_ns || !release_ns || !free_ns) {
        fail(f, "out of memory");
        return;
    }
    if (!uri)
        return;
    for (i = 0; i <= n; i++) {
        int64_t t0 = now_ns(), t1, t2, t3, t4, t5;
        gluvirt_pool *pool = make_pool(0, 0, f);
        gluvirt_connection *c;

        t1 = now_ns();
        if (!pool)
            return;
        c = gluvirt_pool_connect(pool, uri);
        t2 = now_ns();
        if (!c) {
            fail(f, "connect through new pool %u: %s", i, gluvirt_errmsg());
            return;
        }
        gluvirt_connection_release(c);
        t3 = now_ns();
        if (i == n)
            record_counters(pool, f);
        t4 = now_ns(); /* reading the counters is not part of the caller's cost */
        gluvirt_pool_free(pool);
        t5 = now_ns();
        if (i == 0)
            continue;
        new_ns[i - 1] = t1 - t0;
        connect_ns[i - 1] = t2 - t1;
        release_ns[i - 1] = t3 - t2;
        free_ns[i - 1] = t5 - t4;
    }
    f->fresh_new = summarise(new_ns, n);
    f->fresh_connect = summarise(connect_ns, n);
    f->fresh_release = summarise(release_ns, n);
    f->fresh_free = summarise(free_ns, n);
    gluvirt_uri_free(uri);
    f->ok = 1;
}

/* ------------------------------------------------------------ 3. bare gfapi */

struct fini_job {
    glfs_t *fs;
    int64_t ns;
    int rc;
};

static void *fini_thread(void *arg)
{
    struct fini_job *job = arg;
    int64_t t0 = now_ns();

    job->rc = glfs_fini(job->fs);
    job->ns = now_ns() - t0;
    return NULL;
}

/*
 * Clients made one after the other, each init timed alone: as many as the
 * cold part makes, so that both means rest on as many samples.  Then
 * bare_cycles of them are finalised at once on threads, each fini timed on
 * its own thread, so the run waits about 10 s once instead of once per
 * cycle.  The others are left to the process's _exit.  One untimed client
 * first, as in the cold part.
 */
void part_bare(const struct bench_config *cfg, struct figures *f)
{
    unsigned inits = cfg->cold_cycles > cfg->bare_cycles ? cfg->cold_cycles : cfg->bare_cycles;
    unsigned finis = cfg->bare_cycles, i, started = 0;
    glfs_t **clients = calloc(inits + 1, sizeof *clients);
    struct fini_job *jobs = calloc(finis, sizeof *jobs);
    pthread_t *threads = calloc(finis, sizeof *threads);
    int64_t *init_ns = calloc(inits, sizeof(int64_t));
    int64_t *fini_ns = calloc(finis, sizeof(int64_t));

    if (!clients || !jobs || !threads || !init_ns || !fini_ns) {
        fail(f, "out of memory");
        return;
    }
    for (i = 0; i <= inits; i++) {
        int64_t t0 = now_ns();

        clients[i] = bare_connect(cfg, f);
        if (!clients[i])
            return;
        if (i > 0)
            init_ns[i - 1] = now_ns() - t0;
    }
    for (i = 0; i < finis; i++) {
        jobs[i].fs = clients[inits - i]; /* the youngest: fini right after init */
        if (pthread_create(&threads[i], NULL, fini_thread, &jobs[i]) != 0) {
            fail(f, "cannot start a thread for glfs_fini");
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (started < finis)
        return;
    for (i = 0; i < finis; i++) {
        if (jobs[i].rc != 0)
            warn(f, "glfs_fini returned %d", jobs[i].rc);
        fini_ns[i] = jobs[i].ns;
    }
    f->bare_init = summarise(init_ns, inits);
    f->bare_fini = summarise(fini_ns, finis);
    f->ok = 1;
}

/* ------------------------------------------------------------ 4. N images */

void part_make_images(const struct bench_config *cfg, struct figures *f)
{
    char data[IMAGE_FILE_SIZE], path[64];
    glfs_t *fs = bare_connect(cfg, f);
    unsigned i;

    if (!fs)
        return;
    memset(data, 0x5a, sizeof data);
    for (i = 0; i < cfg->images; i++) {
        glfs_fd_t *fd;

        image_path(i, path, sizeof path);
        fd = glfs_creat(fs, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (!fd) {
            fail(f, "cannot create %s on volume '%s': %s", path, cfg->volume, strerror(errno));
            return;
        }
        if (glfs_write(fd, data, sizeof data, 0) != (ssize_t)sizeof data) {
            fail(f, "cannot write %s on volume '%s': %s", path, cfg->volume, strerror(errno));
            return;
        }
        if (glfs_close(fd) != 0) {
            fail(f, "cannot close %s on volume '%s': %s", path, cfg->volume, strerror(errno));
            return;
        }
    }
    /* Closed files are on the brick; the client itself ends with the process. */
    f->ok = 1;
}

void part_remove_images(const struct bench_config *cfg, struct figures *f)
{
    char path[64];
    glfs_t *fs = bare_connect(cfg, f);
    unsigned i;

    if (!fs)
        return;
    for (i = 0; i < cfg->images; i++) {
        image_path(i, path, sizeof path);
        if (glfs_unlink(fs, path) != 0 && errno != ENOENT)
            warn(f, "cannot remove %s: %s", path, strerror(errno));
    }
    f->ok = 1;
}

static void record_baseline(struct figures *f)
{
    f->threads_base = (double)count_threads();
    f->rss_base_kib = (double)rss_kib();
}

static void record_after_setup(struct figures *f)
{
    sleep_ms(SETTLE_MS);
    f->threads_after = (double)count_threads();
    f->rss_after_kib = (double)rss_kib();
}

void part_images_pool(const struct bench_config *cfg, struct figures *f)
{
    unsigned n = cfg->images, i;
    gluvirt_uri **uris = calloc(n, sizeof *uris);
    gluvirt_image **images = calloc(n, sizeof *images);
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_pool *pool;
    int64_t t0;

    if (!uris || !images || !options || gluvirt_open_options_set_writable(options, 1) < 0) {
        fail(f, "out of memory");
        return;
    }
    for (i = 0; i < n; i++)
        if (!(uris[i] = image_uri(cfg, i, f)))
            return;
    record_baseline(f);

    t0 = now_ns();
    pool = make_pool(0, 0, f);
    if (!pool)
        return;
    for (i = 0; i < n; i++) {
        images[i] = gluvirt_image_open_uri(pool, uris[i], options);
        if (!images[i]) {
            fail(f, "open image %u through the pool: %s", i, gluvirt_errmsg());
            return;
        }
    }
    f->setup_ns = (double)(now_ns() - t0);
    record_after_setup(f);

    /* One glfs_t for all: the pool made one client and served the rest
     * from it. */
    f->clients = (double)gluvirt_pool_stat(pool, GLUVIRT_POOL_INITS);
    if (f->clients != 1)
        warn(f, "%u images on one volume got %.0f glfs_t clients", n, f->clients);
    expect_counter(pool, GLUVIRT_POOL_INITS, "inits", 1, f);
    expect_counter(pool, GLUVIRT_POOL_HITS, "hits", n - 1, f);
    expect_counter(pool, GLUVIRT_POOL_LIVE, "live", 1, f);
    expect_counter(pool, GLUVIRT_POOL_IDLE, "idle", 0, f);
    record_counters(pool, f);

    t0 = now_ns();
    for (i = 0; i < n; i++)
        gluvirt_image_close(images[i]);
    gluvirt_pool_free(pool);
    f->teardown_ns = (double)(now_ns() - t0);
    for (i = 0; i < n; i++)
        gluvirt_uri_free(uris[i]);
    gluvirt_open_options_free(options);
    f->ok = 1;
}

void part_images_bare(const struct bench_config *cfg, struct figures *f)
{
    unsigned n = cfg->images, i;
    glfs_t **clients = calloc(n, sizeof *clients);
    glfs_fd_t **fds = calloc(n, sizeof *fds);
    int64_t t0;

    if (!clients || !fds) {
        fail(f, "out of memory");
        return;
    }
    record_baseline(f);
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        char path[64];

        clients[i] = bare_connect(cfg, f);
        if (!clients[i])
            return;
        image_path(i, path, sizeof path);
        fds[i] = glfs_open(clients[i], path, O_RDWR);
        if (!fds[i]) {
            fail(f, "cannot open %s: %s", path, strerror(errno));
            return;
        }
    }
    f->setup_ns = (double)(now_ns() - t0);
    record_after_setup(f);
    f->clients = n;
    /* No glfs_fini: N of them would take about N x 10 s in series. */
    f->ok = 1;
}

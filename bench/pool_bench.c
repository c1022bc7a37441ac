/*
 * pool_bench — what the connection pool saves, measured on a real volume.
 *
 * One run compares connecting through a gluvirt_pool with bare gfapi (one
 * glfs_t per user) and prints the figures side by side:
 *
 *   1. warm: connect+release through a pool whose connection lingers;
 *   2. cold: connects through a pool with linger 0, each one made after the
 *      pool handed the previous client to glfs_fini; and a new pool per
 *      cycle, timing what the caller waits for in release and pool_free;
 *   3. bare gfapi: glfs_new+glfs_set_volfile_server+glfs_init, then
 *      glfs_fini (about 10 s each, so few cycles, finalised in parallel);
 *   4. N images on one volume, each with an open file: N references to one
 *      pooled connection against N glfs_t of their own — setup time, and
 *      threads and RSS over the process's baseline.
 *
 * Each part runs in a child process forked before anything touches gfapi,
 * so its thread and memory figures start from a clean process and the
 * glfs_fini threads one part leaves behind do not run during the next.  A
 * child reports its figures through a pipe and _exits without waiting for
 * background finalisation.  That is also how the N separate glfs_t of part 4
 * end: finalising them would take about 10 s each.
 */
#include "pool_bench.h"

/* ------------------------------------------------------------ running parts */

static void clear_figures(struct figures *f)
{
    const struct sample_stats none = {NAN, NAN, NAN, NAN};

    memset(f, 0, sizeof *f);
    f->warm_connect = f->warm_release = f->warm_pair = none;
    f->cold_connect = f->cold_release = f->cold_handoff = f->cold_last_free = none;
    f->fresh_new = f->fresh_connect = f->fresh_release = f->fresh_free = none;
    f->bare_init = f->bare_fini = none;
    f->setup_ns = f->teardown_ns = f->clients = NAN;
    f->threads_base = f->threads_after = f->rss_base_kib = f->rss_after_kib = NAN;
}

static int write_all(int fd, const void *data, size_t size)
{
    const char *p = data;

    while (size) {
        ssize_t n = write(fd, p, size);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static size_t read_all(int fd, void *data, size_t size)
{
    char *p = data;
    size_t got = 0;

    while (got < size) {
        ssize_t n = read(fd, p + got, size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/*
 * Run one part in a child process and collect its figures.  The child
 * _exits as soon as it has reported: it neither waits for glfs_fini threads
 * the pool started nor finalises clients it made itself.
 */
static void run_part(const char *name, void (*part)(const struct bench_config *, struct figures *),
                     const struct bench_config *cfg, struct figures *out)
{
    int64_t t0 = now_ns();
    int fds[2], status = 0, reported;
    pid_t pid;

    clear_figures(out);
    fprintf(stderr, "pool_bench: %s ...", name);
    fflush(stderr);
    fflush(stdout);
    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        fail(out, "cannot start a process for %s: %s", name, strerror(errno));
        fprintf(stderr, " failed\n");
        return;
    }
    if (pid == 0) {
        struct figures f;

        close(fds[0]);
        alarm(PART_TIMEOUT_S);
        clear_figures(&f);
        part(cfg, &f);
        write_all(fds[1], &f, sizeof f);
        _exit(0);
    }
    close(fds[1]);
    reported = read_all(fds[0], out, sizeof *out) == sizeof *out;
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!reported) {
        char reason[128] = "";

        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            snprintf(reason, sizeof reason, ": it did not finish within %d s", PART_TIMEOUT_S);
        else if (WIFSIGNALED(status))
            snprintf(reason, sizeof reason, ": it was killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        clear_figures(out);
        fail(out, "the %s part ended without reporting%s", name, reason);
    }
    fprintf(stderr, " %.1f s%s\n", (double)(now_ns() - t0) / 1e9, out->ok ? "" : ", FAILED");
}

/* ------------------------------------------------------------ the table */

#define METRIC_WIDTH 46
#define VALUE_WIDTH 13

/* Display width of UTF-8 text: one column per code point. */
static int columns(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void print_padded(const char *s, int width, int right)
{
    int pad = width - columns(s);

    if (right)
        printf("%*s%s", pad > 0 ? pad : 0, "", s);
    else
        printf("%s%*s", s, pad > 0 ? pad : 0, "");
}

static void format_value(double v, char *out, size_t size)
{
    if (isnan(v))
        snprintf(out, size, "n/a");
    else if (fabs(v) >= 1000)
        snprintf(out, size, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(out, size, "%.1f", v);
    else
        snprintf(out, size, "%.2f", v);
}

static void format_ratio(double pool, double bare, char *out, size_t size)
{
    double r = bare / pool;

    if (isnan(pool) || isnan(bare) || pool <= 0)
        snprintf(out, size, "n/a");
    else if (r >= 100)
        snprintf(out, size, "%.0fx", r);
    else if (r >= 10)
        snprintf(out, size, "%.1fx", r);
    else
        snprintf(out, size, "%.2fx", r);
}

static void table_row(const char *metric, double pool, double bare)
{
    char p[32], b[32], r[32];

    format_value(pool, p, sizeof p);
    format_value(bare, b, sizeof b);
    format_ratio(pool, bare, r, sizeof r);
    print_padded(metric, METRIC_WIDTH, 0);
    printf(" | ");
    print_padded(p, VALUE_WIDTH, 1);
    printf(" | ");
    print_padded(b, VALUE_WIDTH, 1);
    printf(" | ");
    print_padded(r, 11, 1);
    printf("\n");
}

static void table_rule(void)
{
    int i;

    for (i = 0; i < METRIC_WIDTH + 1; i++)
        putchar('-');
    printf("+");
    for (i = 0; i < VALUE_WIDTH + 2; i++)
        putchar('-');
    printf("+");
    for (i = 0; i < VALUE_WIDTH + 2; i++)
        putchar('-');
    printf("+------------\n");
}

static double us(double ns)
{
    return ns / 1e3;
}

static double ms(double ns)
{
    return ns / 1e6;
}

static double mib(double kib)
{
    return kib / 1024.0;
}

struct results {
    struct figures warm, cold, fresh, bare, make_images, images_pool, images_bare, remove_images;
};

static void print_failure(const char *name, const struct figures *f)
{
    if (!f->ok)
        printf("  %s: FAILED: %s\n", name, f->error[0] ? f->error : "no reason given");
}

static void print_warnings(const char *name, const struct figures *f)
{
    const char *line = f->warnings;

    while (*line) {
        size_t len = strcspn(line, "\n");

        printf("  %s: %.*s\n", name, (int)len, line);
        line += len;
        if (*line)
            line++;
    }
}

static void print_report(const struct bench_config *cfg, const struct results *r)
{
    const struct figures *wp = &r->images_pool, *wb = &r->images_bare;
    double bare_init = r->bare.bare_init.mean, bare_fini = r->bare.bare_fini.mean;
    char title[96];
    int all_ok = r->warm.ok && r->cold.ok && r->fresh.ok && r->bare.ok && r->make_images.ok &&
                 r->images_pool.ok && r->images_bare.ok;

    printf("\nlibgluvirt %s connection pool against bare gfapi: volume '%s' on %s:%d\n",
           gluvirt_version(), cfg->volume, cfg->host, cfg->port);
    printf("ratio = bare gfapi / pool (above 1: the pool costs less)\n\n");
    print_padded("metric", METRIC_WIDTH, 0);
    printf(" | ");
    print_padded("pool", VALUE_WIDTH, 1);
    printf(" | ");
    print_padded("bare gfapi", VALUE_WIDTH, 1);
    printf(" |       ratio\n");
    table_rule();
    table_row("warm connect, mean µs (bare: init)", us(r->warm.warm_connect.mean), us(bare_init));
    table_row("warm release, mean µs (bare: fini)", us(r->warm.warm_release.mean), us(bare_fini));
    table_row("warm connect+release, mean µs", us(r->warm.warm_pair.mean),
              us(bare_init + bare_fini));
    table_row("warm connect+release, p99 µs", us(r->warm.warm_pair.p99), NAN);
    table_row("cold connect (linger 0), mean ms", ms(r->cold.cold_connect.mean), ms(bare_init));
    table_row("cold release (linger 0), mean µs", us(r->cold.cold_release.mean), us(bare_fini));
    table_row("new pool: connect, mean ms", ms(r->fresh.fresh_connect.mean), ms(bare_init));
    table_row("new pool: release+pool_free, mean µs",
              us(r->fresh.fresh_release.mean + r->fresh.fresh_free.mean), us(bare_fini));
    snprintf(title, sizeof title, "%u images: setup ms", cfg->images);
    table_row(title, ms(wp->setup_ns), ms(wb->setup_ns));
    snprintf(title, sizeof title, "%u images: glfs_t clients", cfg->images);
    table_row(title, wp->clients, wb->clients);
    snprintf(title, sizeof title, "%u images: threads over baseline", cfg->images);
    table_row(title, wp->threads_after - wp->threads_base, wb->threads_after - wb->threads_base);
    snprintf(title, sizeof title, "%u images: RSS over baseline MiB", cfg->images);
    table_row(title, mib(wp->rss_after_kib - wp->rss_base_kib),
              mib(wb->rss_after_kib - wb->rss_base_kib));

    printf("\n");
    if (r->warm.ok && r->cold.ok && r->bare.ok)
        printf("samples: warm %u cycles (connect p99 %.2f µs, connect+release max %.0f µs); cold "
               "%u cycles per pool kind (connect %.1f-%.1f ms with linger 0); bare gfapi %u inits "
               "(%.1f-%.1f ms) and %u finis (%.2f-%.2f s, run in parallel)\n",
               cfg->warm_cycles, us(r->warm.warm_connect.p99), us(r->warm.warm_pair.max),
               cfg->cold_cycles, ms(r->cold.cold_connect.min), ms(r->cold.cold_connect.max),
               cfg->cold_cycles > cfg->bare_cycles ? cfg->cold_cycles : cfg->bare_cycles,
               ms(r->bare.bare_init.min), ms(r->bare.bare_init.max), cfg->bare_cycles,
               r->bare.bare_fini.min / 1e9, r->bare.bare_fini.max / 1e9);
    if (r->cold.ok)
        printf("cold, linger 0: release to hand-off to glfs_fini %.1f ms mean (max %.1f ms); "
               "pool_free afterwards %.0f µs\n",
               ms(r->cold.cold_handoff.mean), ms(r->cold.cold_handoff.max),
               us(r->cold.cold_last_free.mean));
    if (r->fresh.ok)
        printf("new pool per cycle (default linger): pool_new %.0f µs, release %.1f µs, "
               "pool_free %.0f µs mean (max %.0f µs)\n",
               us(r->fresh.fresh_new.mean), us(r->fresh.fresh_release.mean),
               us(r->fresh.fresh_free.mean), us(r->fresh.fresh_free.max));
    if (wp->ok && wb->ok)
        printf("%u images: baselines %.0f threads / %.1f MiB (pool), %.0f threads / %.1f MiB "
               "(bare); measured %d ms after setup; pool teardown (close+release+pool_free) "
               "%.1f ms\n",
               cfg->images, wp->threads_base, mib(wp->rss_base_kib), wb->threads_base,
               mib(wb->rss_base_kib), SETTLE_MS, ms(wp->teardown_ns));
    if (wb->ok)
        printf("the %u separate glfs_t were not finalised: their process _exit()ed (glfs_fini "
               "would take about %.0f s in series)\n",
               cfg->images, isnan(bare_fini) ? 10.0 * cfg->images : bare_fini / 1e9 * cfg->images);
    printf("pool counters: warm [%s]\n               cold [%s]\n               %u images [%s]\n",
           r->warm.ok ? r->warm.counters : "-", r->cold.ok ? r->cold.counters : "-",
           cfg->images, wp->ok ? wp->counters : "-");

    if (r->warm.warnings[0] || r->cold.warnings[0] || r->fresh.warnings[0] ||
        r->bare.warnings[0] || wp->warnings[0] || wb->warnings[0] || r->remove_images.warnings[0]) {
        printf("\nunexpected library behaviour:\n");
        print_warnings("warm", &r->warm);
        print_warnings("cold", &r->cold);
        print_warnings("new pool", &r->fresh);
        print_warnings("bare gfapi", &r->bare);
        print_warnings("images through the pool", wp);
        print_warnings("images with own glfs_t", wb);
        print_warnings("removing images", &r->remove_images);
    }
    if (!all_ok) {
        printf("\nfailed parts:\n");
        print_failure("warm", &r->warm);
        print_failure("cold", &r->cold);
        print_failure("new pool", &r->fresh);
        print_failure("bare gfapi", &r->bare);
        print_failure("creating images", &r->make_images);
        print_failure("images through the pool", wp);
        print_failure("images with own glfs_t", wb);
    }

    printf("\nsummary: ");
    if (r->warm.ok && r->bare.ok)
        printf("a warm pooled connect+release takes %.2f µs against %.2f s for "
               "glfs_init+glfs_fini (%.0fx less); ",
               us(r->warm.warm_pair.mean), (bare_init + bare_fini) / 1e9,
               (bare_init + bare_fini) / r->warm.warm_pair.mean);
    if (wp->ok && wb->ok)
        printf("%u images on one volume cost +%.0f threads and +%.1f MiB through the pool against "
               "+%.0f threads and +%.1f MiB with a glfs_t each, set up in %.0f ms against %.0f ms",
               cfg->images, wp->threads_after - wp->threads_base,
               mib(wp->rss_after_kib - wp->rss_base_kib), wb->threads_after - wb->threads_base,
               mib(wb->rss_after_kib - wb->rss_base_kib), ms(wp->setup_ns), ms(wb->setup_ns));
    if (!all_ok)
        printf("%sSOME PARTS FAILED (see above)", r->warm.ok || wp->ok ? "; " : "");
    printf("\n");
}

/* ------------------------------------------------------------ main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pool_bench [--host H] [--port P] [--volume V] [--images N] [--cycles N]\n"
            "                  [--cold-cycles N] [--bare-cycles N]\n"
            "\n"
            "Compares libgluvirt's connection pool with bare gfapi on a real volume and\n"
            "prints a table.  Run it where the volfile server is reachable (for the test\n"
            "volumes: inside network namespace 'gluvirt'; bench/run-pool-bench.sh does it).\n"
            "\n"
            "  --host H         volfile server (default $GLUVIRT_TEST_HOST or %s)\n"
            "  --port P         its port (default 24007)\n"
            "  --volume V       volume (default %s); bench-img-0..N-1 are created there\n"
            "                   and removed at the end\n"
            "  --images N       images opened at once in the last part (default %d)\n"
            "  --cycles N       warm connect+release cycles (default %d)\n"
            "  --cold-cycles N  cold connects, per pool kind (default %d)\n"
            "  --bare-cycles N  bare glfs_fini samples, run in parallel (default %d; the\n"
            "                   part takes about 10 s); bare glfs_init is timed as often\n"
            "                   as the cold connects\n",
            DEFAULT_HOST, DEFAULT_VOLUME, DEFAULT_IMAGES, DEFAULT_WARM_CYCLES,
            DEFAULT_COLD_CYCLES, DEFAULT_BARE_CYCLES);
}

static int parse_count(const char *option, const char *text, unsigned min, unsigned max,
                       unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max) {
        fprintf(stderr, "pool_bench: %s wants a number from %u to %u, not '%s'\n", option, min,
                max, text);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"volume", required_argument, NULL, 'v'},
        {"images", required_argument, NULL, 'i'},
        {"cycles", required_argument, NULL, 'c'},
        {"cold-cycles", required_argument, NULL, 'C'},
        {"bare-cycles", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench_config cfg = {
        .host = getenv("GLUVIRT_TEST_HOST") && *getenv("GLUVIRT_TEST_HOST")
                    ? getenv("GLUVIRT_TEST_HOST")
                    : DEFAULT_HOST,
        .volume = DEFAULT_VOLUME,
        .port = GLUVIRT_DEFAULT_PORT,
        .images = DEFAULT_IMAGES,
        .warm_cycles = DEFAULT_WARM_CYCLES,
        .cold_cycles = DEFAULT_COLD_CYCLES,
        .bare_cycles = DEFAULT_BARE_CYCLES,
    };
    static struct results r;
    unsigned port = GLUVIRT_DEFAULT_PORT;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        int rc = 0;

        switch (opt) {
        case 'H': cfg.host = optarg; break;
        case 'v': cfg.volume = optarg; break;
        case 'p': rc = parse_count("--port", optarg, 1, 65535, &port); break;
        case 'i': rc = parse_count("--images", optarg, 1, 10000, &cfg.images); break;
        case 'c': rc = parse_count("--cycles", optarg, 1, 100000000, &cfg.warm_cycles); break;
        case 'C': rc = parse_count("--cold-cycles", optarg, 1, 10000, &cfg.cold_cycles); break;
        case 'b': rc = parse_count("--bare-cycles", optarg, 1, 100, &cfg.bare_cycles); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (rc < 0)
            return 2;
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    cfg.port = (int)port;
    clear_figures(&r.warm);
    r.cold = r.fresh = r.bare = r.make_images = r.images_pool = r.images_bare =
        r.remove_images = r.warm;
    /* fork() below is only safe while this process has no other thread. */
    if (count_threads() != 1)
        fprintf(stderr, "pool_bench: warning: %ld threads before the first fork\n",
                count_threads());

    run_part("warm connects through a pool", part_warm, &cfg, &r.warm);
    run_part("cold connects, linger 0", part_cold, &cfg, &r.cold);
    run_part("cold connects, a new pool each", part_fresh, &cfg, &r.fresh);
    run_part("bare glfs_init and glfs_fini (about 10 s)", part_bare, &cfg, &r.bare);
    run_part("creating the image files", part_make_images, &cfg, &r.make_images);
    if (r.make_images.ok) {
        run_part("images through one pool", part_images_pool, &cfg, &r.images_pool);
        run_part("images with a glfs_t each", part_images_bare, &cfg, &r.images_bare);
        run_part("removing the image files", part_remove_images, &cfg, &r.remove_images);
    } else {
        fail(&r.images_pool, "not run: the image files could not be made");
        fail(&r.images_bare, "not run: the image files could not be made");
    }
    print_report(&cfg, &r);
    fflush(stdout);
    return r.warm.ok && r.cold.ok && r.fresh.ok && r.bare.ok && r.make_images.ok &&
                   r.images_pool.ok && r.images_bare.ok
               ? 0
               : 1;
}

/* Shared by the reliability programs; see support.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <glusterfs/api/glfs.h>

/* ------------------------------------------------------------ reporting */

static atomic_int failures;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void print_line(const char *prefix, const char *what, const char *format, va_list args)
{
    pthread_mutex_lock(&print_lock);
    fputs(prefix, stdout);
    if (what)
        fputs(what, stdout);
    if (format && format[0]) {
        if (what)
            fputs(": ", stdout);
        vprintf(format, args);
    }
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
}

void rel_check(int ok, const char *what, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    print_line(ok ? "ok: " : "FAIL: ", what, format, args);
    va_end(args);
    if (!ok)
        atomic_fetch_add(&failures, 1);
}

void rel_figure(const char *name, const char *format, ...)
{
    char prefix[128];
    va_list args;

    snprintf(prefix, sizeof prefix, "figure: %s = ", name);
    va_start(args, format);
    print_line(prefix, NULL, format, args);
    va_end(args);
}

void rel_note(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    print_line("note: ", NULL, format, args);
    va_end(args);
}

int rel_failures(void)
{
    return atomic_load(&failures);
}

double rel_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rel_sleep(double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double rel_ping_timeout(void)
{
    const char *text = getenv("GLUVIRT3_PING_TIMEOUT");

    return text && atof(text) > 0 ? atof(text) : 5.0;
}

/* Defined when AddressSanitizer's runtime is in the process (it is linked
 * into the sanitizer build); declared weak so that the plain build links. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

int64_t rel_heap_bytes(const char **source)
{
    struct mallinfo2 info;

    if (__sanitizer_get_current_allocated_bytes) {
        *source = "AddressSanitizer's allocator: bytes allocated and not freed";
        return (int64_t)__sanitizer_get_current_allocated_bytes();
    }
    info = mallinfo2();
    *source = "glibc mallinfo2: uordblks + hblkhd";
    return (int64_t)(info.uordblks + info.hblkhd);
}

void rel_clock_text(double when, char *text, size_t size)
{
    struct timespec real;
    struct tm tm;
    double wall;
    time_t seconds;

    clock_gettime(CLOCK_REALTIME, &real);
    wall = (double)real.tv_sec + (double)real.tv_nsec / 1e9 - rel_now() + when;
    seconds = (time_t)wall;
    gmtime_r(&seconds, &tm);
    snprintf(text, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((wall - (double)seconds) * 1000));
}

long rel_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* xorshift64*: cheap, and a run replays from its printed seed. */
uint64_t rel_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

uint64_t rel_seed(void)
{
    const char *text = getenv("GLUVIRT_TEST_SEED");
    uint64_t seed = text ? strtoull(text, NULL, 0) : UINT64_C(0x72656c6961626c65);

    return seed ? seed : 1;
}

/* ------------------------------------------------------------ cluster */

int rel_hook(const char *format, ...)
{
    const char *tool = getenv("GLUVIRT3_TOOL");
    char args[512], command[1024];
    va_list ap;
    int status;

    if (!tool || !*tool) {
        rel_check(0, "fault hook", "GLUVIRT3_TOOL is not set (run me from reliability.sh)");
        return -1;
    }
    va_start(ap, format);
    vsnprintf(args, sizeof args, format, ap);
    va_end(ap);
    snprintf(command, sizeof command, "'%s' %s", tool, args);
    fflush(stdout);
    status = system(command);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rel_check(0, "fault hook", "'%s' failed (status %d)", args, status);
        return status == 0 ? -1 : status;
    }
    return 0;
}

int rel_create_images(const char *volume, const char *host, const char *const *names,
                      int count, uint64_t size)
{
    const char *base = getenv("GLUVIRT3_BASE");
    char log[512];
    glfs_t *fs = glfs_new(volume);
    int rc = 0;

    snprintf(log, sizeof log, "%s/create-%s.log", base ? base : "/tmp", volume);
    if (!fs || glfs_set_volfile_server(fs, "tcp", host, 24007) != 0 ||
        glfs_set_logging(fs, log, 4) != 0 || glfs_init(fs) != 0) {
        rel_check(0, "create images", "cannot connect to %s on %s: %s (see %s)", volume, host,
                  strerror(errno), log);
        return -1;
    }
    for (int i = 0; i < count && rc == 0; i++) {
        /* Not O_TRUNC: on a sharded volume gfapi's open ignores it (the
         * size and the shards past the first stay as they were), so an
         * image made again would read the last run's data.  ftruncate to 0
         * drops the shards. */
        glfs_fd_t *fd = glfs_creat(fs, names[i], O_RDWR, 0644);

        if (!fd || glfs_ftruncate(fd, 0, NULL, NULL) != 0 ||
            glfs_ftruncate(fd, (off_t)size, NULL, NULL) != 0 || glfs_fsync(fd, NULL, NULL) != 0) {
            rel_check(0, "create images", "%s on %s: %s", names[i], volume, strerror(errno));
            rc = -1;
        }
        if (fd)
            glfs_close(fd);
    }
    /* No glfs_fini: it would wait ~10 s for an RPC timer; see cluster.md. */
    return rc;
}

char *rel_uri(const char *host, const char *volume, const char *name)
{
    char *uri;

    if (asprintf(&uri, "gluster://%s/%s/%s", host, volume, name) < 0)
        abort();
    return uri;
}

gluvirt_pool *rel_pool_new(const char *tag, unsigned linger_ms)
{
    const char *base = getenv("GLUVIRT3_BASE");
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool = NULL;
    char log[512];

    snprintf(log, sizeof log, "%s/client-%s.log", base ? base : "/tmp", tag);
    if (options && gluvirt_pool_options_set_log(options, log, 4) == 0 &&
        gluvirt_pool_options_set_connect_timeout(options, 20000) == 0 &&
        gluvirt_pool_options_set_linger(options, linger_ms) == 0)
        pool = gluvirt_pool_new(options);
    if (!pool)
        rel_check(0, "pool", "cannot make a pool: %s", gluvirt_errmsg());
    gluvirt_pool_options_free(options);
    return pool;
}

int rel_is_qcow2(const char *uri)
{
    size_t n = strlen(uri);

    return n > 6 && strcmp(uri + n - 6, ".qcow2") == 0;
}

gluvirt_image *rel_open(gluvirt_pool *pool, const char *uri, int writable, unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_writable(options, writable) == 0 &&
        (!rel_is_qcow2(uri) ||
         gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2) == 0) &&
        (depth == 0 || gluvirt_open_options_set_queue_depth(options, depth) == 0))
        image = gluvirt_image_open(pool, uri, options);
    gluvirt_open_options_free(options);
    return image;
}

int64_t rel_verify_image(const char *uri, const unsigned char *model, uint64_t size,
                         char *why, size_t why_size)
{
    const size_t chunk = 4u << 20;
    gluvirt_pool *pool = rel_pool_new("verify", 0);
    gluvirt_image *image = pool ? rel_open(pool, uri, 0, 0) : NULL;
    unsigned char *buf = malloc(chunk);
    int64_t verified = -1;

    if (!image || !buf) {
        snprintf(why, why_size, "cannot open %s for the check: %s", uri, gluvirt_errmsg());
        goto out;
    }
    if (gluvirt_image_size(image) != (int64_t)size) {
        snprintf(why, why_size, "%s has %" PRId64 " bytes, the model %" PRIu64, uri,
                 gluvirt_image_size(image), size);
        goto out;
    }
    for (uint64_t at = 0; at < size; at += chunk) {
        size_t want = size - at < chunk ? (size_t)(size - at) : chunk;
        ssize_t got = gluvirt_image_pread(image, buf, want, at);

        if (got != (ssize_t)want) {
            snprintf(why, why_size, "read of %zu at %" PRIu64 " of %s: %zd (%s)", want, at,
                     uri, got, got < 0 ? gluvirt_errmsg() : "short");
            goto out;
        }
        if (memcmp(buf, model + at, want) != 0) {
            size_t b = 0;

            while (buf[b] == model[at + b])
                b++;
            snprintf(why, why_size, "byte %" PRIu64 " of %s reads 0x%02x, the model says 0x%02x",
                     at + b, uri, buf[b], model[at + b]);
            goto out;
        }
    }
    verified = (int64_t)size;
out:
    free(buf);
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    return verified;
}

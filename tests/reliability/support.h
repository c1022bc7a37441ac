/*
 * Shared by the reliability programs (faults, load): reporting, the hook
 * that injects faults into the three-node pool, images made through gfapi,
 * and workers that drive images through the public API and check every
 * byte they read against a model of what was written.
 *
 * A model is exact because a worker owns a region of each image and never
 * has two requests in flight that overlap where one of them writes: a write
 * changes the model when it is submitted, a read is compared with the model
 * when it completes.
 */
#ifndef GLUVIRT_TESTS_RELIABILITY_SUPPORT_H
#define GLUVIRT_TESTS_RELIABILITY_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

/* Ping timeout of the pool's volumes, in seconds (GLUVIRT3_PING_TIMEOUT,
 * which three-node.sh sets; 5 when unset). */
double rel_ping_timeout(void);

/* ------------------------------------------------------------ reporting */

/* "ok: what[: detail]" or "FAIL: ..." on stdout; counts failures. */
void rel_check(int ok, const char *what, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* "figure: name = value" lines, which the driver script collects. */
void rel_figure(const char *name, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* "note: ..." progress lines. */
void rel_note(const char *format, ...) __attribute__((format(printf, 1, 2)));
int rel_failures(void);

double rel_now(void);
void rel_sleep(double seconds);
/* Resident set size of this process in KiB, or -1. */
long rel_rss_kib(void);

/*
 * rel_heap_bytes: bytes the program (gfapi included) has allocated and not
 * freed, by the allocator's own count: glibc's mallinfo2 (arena chunks in
 * use plus mmapped blocks), or under AddressSanitizer its allocator's count
 * (mallinfo means nothing there, and the resident set grows with the
 * quarantine and the shadow).  *source names the counter.
 */
int64_t rel_heap_bytes(const char **source);

/* "09:11:51.123" (UTC, as gluster's logs stamp their lines) for a time
 * taken with rel_now(). */
void rel_clock_text(double when, char *text, size_t size);

uint64_t rel_random(uint64_t *state);
/* The seed: GLUVIRT_TEST_SEED or a fixed default, printed by the caller. */
uint64_t rel_seed(void);

/* ------------------------------------------------------------ cluster */

/*
 * rel_hook: run the three-node tool (GLUVIRT3_TOOL, set by the driver) with
 * the given arguments, e.g. rel_hook("kill-brick %s %d", volume, 2).
 * Returns its exit status (0 on success).
 */
int rel_hook(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * rel_create_images: create (or empty) the named files on volume through a
 * gfapi client of their own and give each the size.  The library cannot
 * create files yet; qemu-img would cost 10 s of glfs_fini per image.  The
 * client is never finalised (its threads die with the process).
 */
int rel_create_images(const char *volume, const char *host, const char *const *names,
                      int count, uint64_t size);

/* "gluster://host/volume/name", to free(). */
char *rel_uri(const char *host, const char *volume, const char *name);

/* A pool whose gfapi log goes to GLUVIRT3_BASE/client-<tag>.log. */
gluvirt_pool *rel_pool_new(const char *tag, unsigned linger_ms);
gluvirt_image *rel_open(gluvirt_pool *pool, const char *uri, int writable, unsigned depth);

/* Whether uri names a qcow2 image: the file name ends in .qcow2 (the tests
 * name their images; nothing is probed).  rel_open opens those as qcow2. */
int rel_is_qcow2(const char *uri);

/*
 * rel_verify_image: read the whole image through a new pool (another gfapi
 * client, so nothing comes from the first one's caches) and compare it with
 * model.  Returns the bytes compared, or -1 with a reason in why.
 */
int64_t rel_verify_image(const char *uri, const unsigned char *model, uint64_t size,
                         char *why, size_t why_size);

/* Latencies (latency.h) and workers (worker.h), for the callers of this
 * header. */
#include "worker.h"

#endif

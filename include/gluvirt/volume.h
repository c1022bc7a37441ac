/*
 * libgluvirt — checking that a gluster volume is ready to hold VM images.
 *
 * gluvirt_volume_check connects to a volume as a hypervisor would and
 * reports, item by item, what stands between it and a working VM store:
 *
 *   id              subject                 what is checked
 *   server          HOST:PORT or socket     glusterd answers there (one item
 *                                           per volfile server of the URI)
 *   volume          the volume's name       a client connects and fetches
 *                                           the volume's client graph
 *   insecure-port   the volume's name       a client on a port above 1024,
 *                                           as a qemu that is not root uses,
 *                                           is accepted (server.allow-insecure,
 *                                           rpc-auth-allow-insecure)
 *   bricks          the volume's name       every brick of the graph answers
 *   replica         the volume's name       the layout: replica 3 (or 2 with
 *                                           an arbiter) passes; replica 2 and
 *                                           plain distribute warn
 *   tunable         a volume option name    one item per setting of the
 *                                           "virt" option group that shows
 *                                           in the client graph
 *                                           (features.shard, network.remote-dio,
 *                                           performance.strict-o-direct, ...)
 *   owner           the volume's name       owner of the volume's root
 *                                           (107:107, qemu's, by default)
 *   free-space      the volume's name       space left
 *
 * Each item passes, warns or fails; items that are not passing carry the
 * fix, usually the gluster command that makes them pass.  When the volume
 * cannot be reached, the report holds the items up to the one that failed.
 * Server-side settings that the client graph does not show (the server's
 * event threads, keepalive, self-heal daemon tuning) are not judged.
 */
#ifndef GLUVIRT_VOLUME_H
#define GLUVIRT_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include <gluvirt/common.h>
#include <gluvirt/pool.h>
#include <gluvirt/uri.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_volume_report gluvirt_volume_report;
typedef struct gluvirt_volume_check_options gluvirt_volume_check_options;

typedef enum gluvirt_check_status {
    GLUVIRT_CHECK_PASS = 0,
    GLUVIRT_CHECK_WARN = 1,
    GLUVIRT_CHECK_FAIL = 2
} gluvirt_check_status;

/* The texts of a report item. */
typedef enum gluvirt_check_field {
    GLUVIRT_CHECK_ID = 0,      /* "server", "volume", "tunable", ... (see above) */
    GLUVIRT_CHECK_SUBJECT = 1, /* what the item is about: "127.1.1.1:24007", "features.shard" */
    GLUVIRT_CHECK_DETAIL = 2,  /* what was found, one sentence */
    GLUVIRT_CHECK_FIX = 3      /* what to do; NULL for a passing item */
} gluvirt_check_field;

/* Defaults of the options below. */
#define GLUVIRT_CHECK_DEFAULT_UID 107
#define GLUVIRT_CHECK_DEFAULT_GID 107
#define GLUVIRT_CHECK_DEFAULT_MIN_FREE (10ull << 30)
#define GLUVIRT_CHECK_DEFAULT_TIMEOUT_MS 5000

/* gluvirt_volume_check_options_new: every default; NULL with ENOMEM.
 * Free with gluvirt_volume_check_options_free (accepts NULL).  Since 1.0. */
GLUVIRT_API gluvirt_volume_check_options *gluvirt_volume_check_options_new(void);
GLUVIRT_API void gluvirt_volume_check_options_free(gluvirt_volume_check_options *options);

/* The user and group qemu runs as, which should own the volume's root
 * (default 107:107, Debian's and Fedora's qemu).  Since 1.0. */
GLUVIRT_API int gluvirt_volume_check_options_set_owner(gluvirt_volume_check_options *options,
                                                       uint32_t uid, uint32_t gid);

/* Free space below this many bytes warns (default 10 GiB); under 1 % of the
 * volume, or under 256 MiB, fails.  Since 1.0. */
GLUVIRT_API int gluvirt_volume_check_options_set_min_free(gluvirt_volume_check_options *options,
                                                          uint64_t bytes);

/* How long each connection the check makes may take to fetch the volume's
 * layout (default 5 s); a pool the caller passes keeps its own connect
 * timeout.  Since 1.0. */
GLUVIRT_API int gluvirt_volume_check_options_set_timeout(gluvirt_volume_check_options *options,
                                                         unsigned milliseconds);

/*
 * gluvirt_volume_check: check the volume of uri (its image path is not
 * used) through pool (NULL: a private pool).  options may be NULL.
 *
 * A volume that cannot be reached is not an error: the report says so.
 * Returns a report to free with gluvirt_volume_report_free, or NULL with
 * EINVAL (a NULL uri) or ENOMEM.  Takes a few hundred milliseconds on a
 * healthy volume (a second when a brick is down); up to the timeout per
 * server that does not answer.  The check makes one client per volfile
 * server, one for the volume and, as root, one on an unprivileged port;
 * they are finalised in the background.
 * Thread-safe.  Since 1.0.
 */
GLUVIRT_API gluvirt_volume_report *gluvirt_volume_check(gluvirt_pool *pool,
                                                        const gluvirt_uri *uri,
                                                        const gluvirt_volume_check_options *options);

/* gluvirt_volume_report_free: accepts NULL.  Since 1.0. */
GLUVIRT_API void gluvirt_volume_report_free(gluvirt_volume_report *report);

/* The worst status of the report's items.  Since 1.0. */
GLUVIRT_API gluvirt_check_status gluvirt_volume_report_status(const gluvirt_volume_report *report);

/* How many items the report holds.  Since 1.0. */
GLUVIRT_API size_t gluvirt_volume_report_count(const gluvirt_volume_report *report);

/* The status of item i, or -1 with EINVAL when i is out of range.  Since 1.0. */
GLUVIRT_API int gluvirt_volume_report_item_status(const gluvirt_volume_report *report, size_t i);

/* A text of item i, owned by the report; NULL for the fix of a passing
 * item, or with EINVAL for i or field out of range.  Since 1.0. */
GLUVIRT_API const char *gluvirt_volume_report_item(const gluvirt_volume_report *report, size_t i,
                                                   gluvirt_check_field field);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_VOLUME_H */

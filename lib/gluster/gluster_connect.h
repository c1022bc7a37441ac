/* One gfapi client for a volume: made with a deadline, finished in the background. */
#ifndef GLUVIRT_GLUSTER_CONNECT_H
#define GLUVIRT_GLUSTER_CONNECT_H

#include <glusterfs/api/glfs.h>

#include "gluster/gluster_log.h"
#include "util/internal.h"

struct glv_xlator_option {
    char *xlator, *key, *value;
};

/* What a pool's options say about each client it makes. */
struct glv_client_settings {
    char *log_file;
    int log_level;
    unsigned connect_timeout_ms;
    size_t xlator_option_count;
    struct glv_xlator_option *xlator_options;
};

/*
 * A ready client for where's volume and servers, or NULL with the error set
 * (ECONNREFUSED, ENOENT, EACCES, ETIMEDOUT, EIO; see gluvirt_pool_connect).
 * What gfapi logged while connecting goes to the log handler, when one is
 * set; *log: the pipe that takes the client's log to the handler from then
 * on (NULL: none, the client logs where settings say).
 */
glfs_t *glv_gluster_connect(const gluvirt_uri *where, const struct glv_client_settings *settings,
                            struct glv_gfapi_log **log);

/*
 * glfs_fini on a detached thread, then the log pipe stopped (log may be
 * NULL); then done(arg) if done is not NULL.  Returns -1 (and does
 * nothing) when no thread can be started.
 */
int glv_gluster_finish_async(glfs_t *fs, struct glv_gfapi_log *log, void (*done)(void *arg),
                             void *arg);

#endif

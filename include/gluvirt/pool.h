/*
 * libgluvirt — a pool of shared gluster connections (glfs_t).
 *
 * Every image on a volume can share one gfapi client (glfs_t): each client
 * costs several threads, megabytes of memory and a volfile fetch, and
 * finalising one (glfs_fini) blocks for about 10 seconds on GlusterFS 10.
 * A pool hands out counted references to connections:
 *
 *   - The key of a connection is its full identity: the volume and the
 *     ordered list of volfile servers (transport, host, port, socket).  Two
 *     clusters that both have a volume "vmstore" never share a connection.
 *     The pool's options (log, xlator options, timeouts) apply to all its
 *     connections; use another pool for other options.
 *   - Concurrent first connects to one key run glfs_init once; the other
 *     callers wait for its result.  A failed connect is not remembered:
 *     every waiter gets the error, and the next call tries again.
 *   - Volfile servers are tried in order (failover); the first one that
 *     answers serves the volfile.
 *   - When its last reference goes, a connection lingers (reused at no cost
 *     if wanted again), then the pool's reaper thread finalises it, never on
 *     the caller's thread.
 *
 * Shutdown, and why it is safe to be quick: gluvirt_pool_free() finalises
 * the idle connections on background threads and waits only for those that
 * wrote data (up to 1.5 s, enough for the replication post-op that follows
 * the last write; see gluvirt_pool_options_set_exit_wait).  Every file is
 * flushed and closed before its connection goes idle, and write-behind's
 * resync-failed-syncs-after-fsync is on, so a failed fsync is reported, not
 * dropped.  What glfs_fini still does after that (about 10 s of waiting on
 * an RPC timer) frees memory only; a process may exit while it runs.
 *
 * fork(): a pool belongs to the process that made it.  A child must make its
 * own pool; every call on a parent's pool fails in the child with ECHILD
 * instead of hanging on the parent's threads, which the child does not have.
 *
 * Thread safety: all calls on a pool may run concurrently.
 */
#ifndef GLUVIRT_POOL_H
#define GLUVIRT_POOL_H

#include <stdint.h>
#include <gluvirt/common.h>
#include <gluvirt/uri.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gluvirt_pool gluvirt_pool;
typedef struct gluvirt_pool_options gluvirt_pool_options;
/* A counted reference to one connection of a pool (opaque). */
typedef struct gluvirt_connection gluvirt_connection;

/* Defaults of the options below. */
#define GLUVIRT_POOL_DEFAULT_LINGER_MS 10000
#define GLUVIRT_POOL_DEFAULT_MAX_IDLE 16
#define GLUVIRT_POOL_DEFAULT_CONNECT_TIMEOUT_MS 30000
#define GLUVIRT_POOL_DEFAULT_EXIT_WAIT_MS 1500

/*
 * gluvirt_pool_options_new: options with every default.  Free them with
 * gluvirt_pool_options_free; a pool copies what it needs.  Since 1.0.
 */
GLUVIRT_API gluvirt_pool_options *gluvirt_pool_options_new(void);
GLUVIRT_API void gluvirt_pool_options_free(gluvirt_pool_options *options);

/* How long an unused connection stays open for reuse (default 10 s; 0 hands
 * it at once to a background thread that finalises it).  Since 1.0. */
GLUVIRT_API int gluvirt_pool_options_set_linger(gluvirt_pool_options *options,
                                                unsigned milliseconds);

/* How many unused connections may linger at once; the oldest go first
 * (default 16).  Since 1.0. */
GLUVIRT_API int gluvirt_pool_options_set_max_idle(gluvirt_pool_options *options,
                                                  unsigned count);

/*
 * gluvirt_pool_options_set_log: where gfapi writes its log, and how much
 * (0 none ... 4 error ... 7 info ... 9 trace).  Default: nowhere
 * ("/dev/null"), level 4.  "-" (stderr) is refused: gluster's messages do
 * not belong on the caller's terminal; name a file instead.  While a client
 * connects, gfapi logs to a private file that the pool reads to explain
 * failures; its content is then appended to this log.  Since 1.0.
 */
GLUVIRT_API int gluvirt_pool_options_set_log(gluvirt_pool_options *options,
                                             const char *file, int level);

/*
 * gluvirt_pool_options_set_connect_timeout: bound on fetching the volfile
 * and connecting (default 30 s).  A connect that takes longer fails with
 * ETIMEDOUT; its client is finalised in the background when gfapi gives up.
 * Since 1.0.
 */
GLUVIRT_API int gluvirt_pool_options_set_connect_timeout(gluvirt_pool_options *options,
                                                         unsigned milliseconds);

/*
 * gluvirt_pool_options_set_exit_wait: how long gluvirt_pool_free waits for
 * connections that wrote data to finish their last replication round trip
 * (default 1.5 s).  Since 1.0.
 */
GLUVIRT_API int gluvirt_pool_options_set_exit_wait(gluvirt_pool_options *options,
                                                   unsigned milliseconds);

/*
 * gluvirt_pool_options_set_xlator_option: a client-graph option for every
 * connection, as glfs_set_xlator_option takes it (xlator is a glob such as
 * "*-write-behind").  Several may be set; setting a key again replaces its
 * value.  They take precedence over the options the library sets for
 * correctness ("*-write-behind" pass-through=true and
 * resync-failed-syncs-after-fsync=on, "*-replicate-*" post-op-delay-secs=0),
 * so they can override those too.  "*-replicate-*" eager-lock=off made a
 * brick restarted under writes never read before it had the writes it
 * missed in the project's fault tests, at a large cost for many writes in
 * flight on one file.  Since 1.0.
 */
GLUVIRT_API int gluvirt_pool_options_set_xlator_option(gluvirt_pool_options *options,
                                                       const char *xlator, const char *key,
                                                       const char *value);

/*
 * gluvirt_pool_new: a pool with the given options (NULL: defaults).  Starts
 * its reaper thread.  Returns NULL with errno ENOMEM or EAGAIN on failure.
 *
 * Signals: a server that dies under a write makes the socket write raise
 * SIGPIPE.  gfapi's own threads start with SIGPIPE blocked, but gfapi may
 * write from the calling thread too: programs should ignore SIGPIPE
 * (signal(SIGPIPE, SIG_IGN)), as QEMU and the gluvirt command do.
 * Since 1.0.
 */
GLUVIRT_API gluvirt_pool *gluvirt_pool_new(const gluvirt_pool_options *options);

/*
 * gluvirt_pool_free: release the pool.  Idle connections are finalised in
 * the background, waiting at most the exit wait for those that wrote data.
 * Connections still referenced stay valid and are finalised when released,
 * then without the exit wait: before a process exits, release every
 * connection first, then free the pool.  Accepts NULL.  Since 1.0.
 */
GLUVIRT_API void gluvirt_pool_free(gluvirt_pool *pool);

/*
 * gluvirt_pool_connect: a reference to the connection for where's volume
 * and servers (its image path is not used), connecting if needed.
 *
 * Errors (NULL returned; errno and message as usual):
 *   ECONNREFUSED  no volfile server answered; the message names each
 *                 host:port or socket tried
 *   ENOENT        the servers do not know the volume
 *   EACCES        the servers refused this client (e.g. a client port above
 *                 1024 without server.allow-insecure on)
 *   ETIMEDOUT     the connect timeout passed
 *   ECHILD        the pool belongs to the parent of this forked process
 *   EIO           any other gfapi failure (the message quotes gfapi's log)
 * Since 1.0.
 */
GLUVIRT_API gluvirt_connection *gluvirt_pool_connect(gluvirt_pool *pool,
                                                     const gluvirt_uri *where);

/* gluvirt_connection_release: drop a reference.  Accepts NULL.  Since 1.0. */
GLUVIRT_API void gluvirt_connection_release(gluvirt_connection *connection);

/* gluvirt_connection_volume: the volume it serves, owned by it.  Since 1.0. */
GLUVIRT_API const char *gluvirt_connection_volume(const gluvirt_connection *connection);

/* What gluvirt_pool_stat counts. */
typedef enum gluvirt_pool_counter {
    GLUVIRT_POOL_LIVE = 0,     /* connections open now, used or lingering */
    GLUVIRT_POOL_IDLE = 1,     /* of those, lingering unused */
    GLUVIRT_POOL_HITS = 2,     /* connects served by an open connection */
    GLUVIRT_POOL_MISSES = 3,   /* connects that had to connect */
    GLUVIRT_POOL_INITS = 4,    /* glfs_init calls */
    GLUVIRT_POOL_FAILURES = 5, /* connects that failed */
    GLUVIRT_POOL_FINALISED = 6 /* connections handed to glfs_fini */
} gluvirt_pool_counter;

/*
 * gluvirt_pool_stat: one counter of the pool, or -1 with errno EINVAL for an
 * unknown counter.  Since 1.0.
 */
GLUVIRT_API int64_t gluvirt_pool_stat(gluvirt_pool *pool, gluvirt_pool_counter counter);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_POOL_H */

/*
 * The connection pool: shared, counted gfapi clients keyed by their full
 * identity, one glfs_init per key at a time, lingering idle connections
 * finalised by a reaper thread.  pool.h says what callers may rely on.
 *
 * Locking: one mutex per pool guards the list, every connection's state and
 * the counters.  glfs_init and glfs_fini never run under it.  Lifetime: the
 * pool structure lives while the user holds it or any connection (in use,
 * idle, connecting or being finalised) still points to it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gluster/pool_private.h"
#include "uri/uri_internal.h"
#include "util/clock.h"

enum connection_state { CONNECTING, READY, FAILED };

struct gluvirt_connection {
    struct gluvirt_pool *pool;
    struct gluvirt_connection *next; /* in pool->connections while CONNECTING or READY */
    char *key;
    char *volume;
    glfs_t *fs;
    struct glv_gfapi_log *log; /* gfapi's log to the log handler, or NULL */
    enum connection_state state;
    int users;           /* references handed out and not released */
    int waiters;         /* callers waiting for the connect in progress */
    int wrote;           /* data went through it: shutdown waits for the last round trip */
    struct timespec idle_since;
    int failure_errno;   /* FAILED: what every waiter reports */
    char *failure_message;
};

struct gluvirt_pool {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a connect finished, a connection went idle, shutdown;
                             * timed waits on it use CLOCK_MONOTONIC deadlines */
    pid_t owner;
    gluvirt_pool_options options;
    struct gluvirt_connection *connections;
    int holders;            /* the user (until gluvirt_pool_free) + every connection */
    int closing;
    int finishing;          /* glfs_fini threads running */
    int finishing_dirty;    /* of those, connections that wrote */
    pthread_t reaper;
    int64_t counters[GLUVIRT_POOL_FINALISED + 1];
};

/* ------------------------------------------------------------ helpers */

static int owned_by_this_process(const gluvirt_pool *pool)
{
    if (pool->owner == getpid())
        return 1;
    glv_set_error(ECHILD, "this connection pool belongs to process %ld, not to this forked "
                  "child: make a new pool in the child", (long)pool->owner);
    return 0;
}

/* The identity of a connection: volume and ordered servers.  rdma connects
 * as tcp, so it shares tcp's connections. */
static char *connection_key(const gluvirt_uri *where)
{
    struct glv_strbuf sb = {0};
    size_t i;

    glv_strbuf_puts(&sb, where->volume);
    for (i = 0; i < where->server_count; i++) {
        const struct glv_uri_server *s = &where->servers[i];

        if (s->transport == GLUVIRT_TRANSPORT_UNIX)
            glv_strbuf_printf(&sb, "\nunix %s", s->socket);
        else
            glv_strbuf_printf(&sb, "\ntcp %s %d", s->host, s->port);
    }
    return glv_strbuf_finish(&sb);
}

static void connection_free(struct gluvirt_connection *c)
{
    free(c->key);
    free(c->volume);
    free(c->failure_message);
    free(c);
}

static void pool_destroy(gluvirt_pool *pool)
{
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->changed);
    glv_pool_options_clear(&pool->options);
    free(pool);
}

/* Drop one holder; called with the lock held, which it releases. */
static void pool_unhold_and_unlock(gluvirt_pool *pool)
{
    int last = --pool->holders == 0;

    pthread_mutex_unlock(&pool->lock);
    if (last)
        pool_destroy(pool);
}

static void unlink_connection(gluvirt_pool *pool, struct gluvirt_connection *c)
{
    struct gluvirt_connection **p;

    for (p = &pool->connections; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static int earlier(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ------------------------------------------------------------ finishing */

static void finished(void *arg)
{
    struct gluvirt_connection *c = arg;
    gluvirt_pool *pool = c->pool;

    pthread_mutex_lock(&pool->lock);
    pool->finishing--;
    if (c->wrote)
        pool->finishing_dirty--;
    pthread_cond_broadcast(&pool->changed);
    connection_free(c);
    pool_unhold_and_unlock(pool);
}

/*
 * Take an idle connection out of the pool and finalise it on its own thread.
 * Called with the lock held; the connection's holder on the pool passes to
 * the finishing thread.
 */
static void finish_idle(gluvirt_pool *pool, struct gluvirt_connection *c)
{
    unlink_connection(pool, c);
    pool->counters[GLUVIRT_POOL_LIVE]--;
    pool->counters[GLUVIRT_POOL_IDLE]--;
    pool->counters[GLUVIRT_POOL_FINALISED]++;
    pool->finishing++;
    if (c->wrote)
        pool->finishing_dirty++;
    glv_log(GLUVIRT_LOG_DEBUG, "volume '%s': an idle connection is being finished", c->volume);
    if (glv_gluster_finish_async(c->fs, c->log, finished, c) < 0) {
        /* No thread to spare: leave the client to the process's exit rather
         * than block the caller for glfs_fini's 10 s. */
        pool->finishing--;
        if (c->wrote)
            pool->finishing_dirty--;
        connection_free(c);
        pool->holders--; /* never the last: the caller holds the pool too */
    }
}

/* The idle connection that went idle first, or NULL. */
static struct gluvirt_connection *oldest_idle(gluvirt_pool *pool)
{
    struct gluvirt_connection *c, *oldest = NULL;

    for (c = pool->connections; c; c = c->next)
        if (c->state == READY && c->users == 0 &&
            (!oldest || earlier(&c->idle_since, &oldest->idle_since)))
            oldest = c;
    return oldest;
}

static void *reaper_main(void *arg)
{
    gluvirt_pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    while (!pool->closing) {
        struct gluvirt_connection *c = oldest_idle(pool);
        struct timespec now, until;
        long left;

        if (!c) {
            pthread_cond_wait(&pool->changed, &pool->lock);
            continue;
        }
        glv_monotonic_now(&now);
        left = (long)pool->options.linger_ms - glv_ms_between(&c->idle_since, &now);
        if (left <= 0) {
            finish_idle(pool, c);
            continue;
        }
        glv_deadline_after_ms(&until, left);
        pthread_cond_timedwait(&pool->changed, &pool->lock, &until);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* ------------------------------------------------------------ the pool */

GLUVIRT_API gluvirt_pool *gluvirt_pool_new(const gluvirt_pool_options *options)
{
    gluvirt_pool_options *defaults = NULL;
    gluvirt_pool *pool = calloc(1, sizeof *pool);

    if (!pool) {
        glv_set_oom();
        return NULL;
    }
    if (!options && !(options = defaults = gluvirt_pool_options_new())) {
        free(pool);
        return NULL;
    }
    if (glv_pool_options_copy(&pool->options, options) < 0) {
        gluvirt_pool_options_free(defaults);
        free(pool);
        return NULL;
    }
    gluvirt_pool_options_free(defaults);
    if (glv_cond_init_monotonic(&pool->changed) < 0) {
        glv_pool_options_clear(&pool->options);
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->owner = getpid();
    pool->holders = 1;
    if (pthread_create(&pool->reaper, NULL, reaper_main, pool) != 0) {
        glv_set_error(EAGAIN, "cannot start the connection pool's reaper thread");
        pool_destroy(pool);
        return NULL;
    }
    return pool;
}

static void wait_for_dirty_finishes(gluvirt_pool *pool)
{
    struct timespec until;

    glv_deadline_after_ms(&until, (long)pool->options.exit_wait_ms);
    while (pool->finishing_dirty > 0)
        if (pthread_cond_timedwait(&pool->changed, &pool->lock, &until) == ETIMEDOUT)
            break;
}

GLUVIRT_API void gluvirt_pool_free(gluvirt_pool *pool)
{
    struct gluvirt_connection *c, *next;

    if (!pool || !owned_by_this_process(pool))
        return;
    pthread_mutex_lock(&pool->lock);
    pool->closing = 1;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
    pthread_join(pool->reaper, NULL);

    pthread_mutex_lock(&pool->lock);
    for (c = pool->connections; c; c = next) {
        next = c->next;
        if (c->state == READY && c->users == 0)
            finish_idle(pool, c);
    }
    wait_for_dirty_finishes(pool);
    pool_unhold_and_unlock(pool);
}

/* ------------------------------------------------------------ connecting */

static struct gluvirt_connection *find(gluvirt_pool *pool, const char *key)
{
    struct gluvirt_connection *c;

    for (c = pool->connections; c; c = c->next)
        if (!strcmp(c->key, key))
            return c;
    return NULL;
}

/* Wait for another caller's connect to the same key.  Returns the
 * connection (referenced) or NULL with its error; lock held throughout. */
static struct gluvirt_connection *join_connect(gluvirt_pool *pool, struct gluvirt_connection *c)
{
    c->waiters++;
    while (c->state == CONNECTING)
        pthread_cond_wait(&pool->changed, &pool->lock);
    c->waiters--;
    if (c->state == READY) {
        if (c->users++ == 0) /* the connecting caller has let go already */
            pool->counters[GLUVIRT_POOL_IDLE]--;
        pool->counters[GLUVIRT_POOL_HITS]++;
        return c;
    }
    glv_set_error(c->failure_errno, "%s", c->failure_message ? c->failure_message : "");
    pool->counters[GLUVIRT_POOL_FAILURES]++;
    if (c->waiters == 0) {
        connection_free(c);
        pool->holders--; /* the connecting caller still holds the pool */
    }
    return NULL;
}

static struct gluvirt_connection *start_connect(gluvirt_pool *pool, char *key,
                                                const gluvirt_uri *where)
{
    struct gluvirt_connection *c = calloc(1, sizeof *c);
    struct glv_gfapi_log *log;
    glfs_t *fs;

    if (!c || !(c->volume = strdup(where->volume))) {
        free(c);
        free(key);
        glv_set_oom();
        return NULL;
    }
    c->pool = pool;
    c->key = key;
    c->state = CONNECTING;
    c->users = 1;
    c->next = pool->connections;
    pool->connections = c;
    pool->holders++;
    pool->counters[GLUVIRT_POOL_MISSES]++;
    pool->counters[GLUVIRT_POOL_INITS]++;
    pthread_mutex_unlock(&pool->lock);

    fs = glv_gluster_connect(where, &pool->options.client, &log);

    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->changed);
    if (fs) {
        c->fs = fs;
        c->log = log;
        c->state = READY;
        pool->counters[GLUVIRT_POOL_LIVE]++;
        return c;
    }
    c->state = FAILED;
    c->failure_errno = gluvirt_errno();
    c->failure_message = strdup(gluvirt_errmsg());
    unlink_connection(pool, c);
    pool->counters[GLUVIRT_POOL_FAILURES]++;
    if (c->waiters == 0) {
        connection_free(c);
        pool->holders--;
    }
    return NULL;
}

GLUVIRT_API gluvirt_connection *gluvirt_pool_connect(gluvirt_pool *pool, const gluvirt_uri *where)
{
    struct gluvirt_connection *c;
    char *key;

    if (!pool || !where) {
        glv_set_error(EINVAL, "gluvirt_pool_connect: the %s is NULL", pool ? "location" : "pool");
        return NULL;
    }
    if (!owned_by_this_process(pool))
        return NULL;
    if (where->server_count == 0) {
        glv_set_error(EINVAL, "volume '%s': the location names no volfile server", where->volume);
        return NULL;
    }
    if (!(key = connection_key(where)))
        return NULL;
    pthread_mutex_lock(&pool->lock);
    c = find(pool, key);
    if (c && c->state == READY) {
        if (c->users++ == 0)
            pool->counters[GLUVIRT_POOL_IDLE]--;
        pool->counters[GLUVIRT_POOL_HITS]++;
        free(key);
    } else if (c) {
        free(key);
        c = join_connect(pool, c);
    } else {
        c = start_connect(pool, key, where);
    }
    pthread_mutex_unlock(&pool->lock);
    return c;
}

GLUVIRT_API void gluvirt_connection_release(gluvirt_connection *c)
{
    gluvirt_pool *pool;

    if (!c)
        return;
    pool = c->pool;
    if (!owned_by_this_process(pool))
        return;
    pthread_mutex_lock(&pool->lock);
    if (--c->users == 0) {
        glv_monotonic_now(&c->idle_since);
        pool->counters[GLUVIRT_POOL_IDLE]++;
        if (pool->closing || pool->options.linger_ms == 0) {
            finish_idle(pool, c);
        } else {
            while (pool->counters[GLUVIRT_POOL_IDLE] > (int64_t)pool->options.max_idle)
                finish_idle(pool, oldest_idle(pool));
            pthread_cond_broadcast(&pool->changed);
        }
    }
    pthread_mutex_unlock(&pool->lock);
}

GLUVIRT_API const char *gluvirt_connection_volume(const gluvirt_connection *c)
{
    return c ? c->volume : NULL;
}

GLUVIRT_API int64_t gluvirt_pool_stat(gluvirt_pool *pool, gluvirt_pool_counter counter)
{
    int64_t value;

    if (!pool || (int)counter < 0 || counter > GLUVIRT_POOL_FINALISED) {
        glv_set_error(EINVAL, "gluvirt_pool_stat: %s", pool ? "unknown counter" : "the pool is NULL");
        return -1;
    }
    if (!owned_by_this_process(pool))
        return -1;
    pthread_mutex_lock(&pool->lock);
    value = pool->counters[counter];
    pthread_mutex_unlock(&pool->lock);
    return value;
}

glfs_t *glv_connection_glfs(gluvirt_connection *c)
{
    return c->fs;
}

void glv_connection_note_write(gluvirt_connection *c)
{
    __atomic_store_n(&c->wrote, 1, __ATOMIC_RELAXED);
}

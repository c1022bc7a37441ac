/*
 * The process-wide log handler.  A read-write lock keeps a handler alive
 * while it runs: setting a new one waits for the calls in progress, so the
 * old one's free function runs after its last call.  The minimum level is
 * also kept apart, atomically, so that code with nothing to say when no
 * handler is set pays one load.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "util/internal.h"

static pthread_rwlock_t handler_lock = PTHREAD_RWLOCK_INITIALIZER;
static gluvirt_log_fn handler;
static void *handler_opaque;
static gluvirt_log_free_fn handler_free;
static int min_level; /* 0: no handler */

int glv_log_level(void)
{
    return __atomic_load_n(&min_level, __ATOMIC_ACQUIRE);
}

void glv_log_line(int level, const char *message)
{
    if (level > glv_log_level())
        return;
    pthread_rwlock_rdlock(&handler_lock);
    if (handler && level <= min_level)
        handler(level, message, handler_opaque);
    pthread_rwlock_unlock(&handler_lock);
}

void glv_log(int level, const char *fmt, ...)
{
    char message[2048];
    va_list ap;

    if (level > glv_log_level())
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    glv_log_line(level, message);
}

GLUVIRT_API int gluvirt_set_log_handler(gluvirt_log_fn fn, void *opaque,
                                        gluvirt_log_free_fn free_fn, gluvirt_log_level level)
{
    gluvirt_log_free_fn old_free;
    void *old_opaque;

    if (level < GLUVIRT_LOG_ERROR || level > GLUVIRT_LOG_DEBUG) {
        glv_set_error(EINVAL, "gluvirt_set_log_handler: level %d is none of GLUVIRT_LOG_ERROR "
                      "(%d) .. GLUVIRT_LOG_DEBUG (%d)", (int)level, GLUVIRT_LOG_ERROR,
                      GLUVIRT_LOG_DEBUG);
        return -1;
    }
    pthread_rwlock_wrlock(&handler_lock);
    old_free = handler_free;
    old_opaque = handler_opaque;
    handler = fn;
    handler_opaque = fn ? opaque : NULL;
    handler_free = fn ? free_fn : NULL;
    __atomic_store_n(&min_level, fn ? (int)level : 0, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&handler_lock);
    if (old_free)
        old_free(old_opaque);
    if (!fn && free_fn)
        free_fn(opaque);
    return 0;
}

/*
 * libgluvirt — common definitions: export macro, errors, version, memory.
 *
 * Include <gluvirt/gluvirt.h> rather than this file.
 *
 * Error convention (every call in the library):
 *   A call that fails returns -1 or NULL.  It then records, for the calling
 *   thread only, an errno value and a message that says what failed, on what,
 *   and what to do about it.  Read them with gluvirt_errno() and
 *   gluvirt_errmsg() before the next libgluvirt call on the same thread.
 *   Successful calls leave the previous error in place.
 */
#ifndef GLUVIRT_COMMON_H
#define GLUVIRT_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GLUVIRT_BUILDING_LIBRARY) && defined(__GNUC__)
#define GLUVIRT_API __attribute__((visibility("default")))
#else
#define GLUVIRT_API
#endif

/*
 * gluvirt_errmsg: the message of the last failed call on this thread.
 *
 * Returns a string owned by the library, valid until the next failing
 * libgluvirt call on this thread; never NULL (an empty string when no call
 * has failed yet).  Thread-safe.  Since 1.0.
 */
GLUVIRT_API const char *gluvirt_errmsg(void);

/*
 * gluvirt_errno: the errno value of the last failed call on this thread
 * (EINVAL for bad input, ENOMEM, ECONNREFUSED, ...), or 0 when no call has
 * failed yet.  Thread-safe.  Since 1.0.
 */
GLUVIRT_API int gluvirt_errno(void);

/*
 * gluvirt_version: the library's version as "MAJOR.MINOR.MICRO".
 *
 * Compare it with GLUVIRT_VERSION from <gluvirt/version.h> to tell the
 * library a program runs with from the one it was built against.
 * Since 1.0.
 */
GLUVIRT_API const char *gluvirt_version(void);

/*
 * gluvirt_free: release memory that a libgluvirt call returned and documented
 * as "free with gluvirt_free" (formatted URIs, JSON and XML texts).
 * Accepts NULL.  Useful from languages that cannot reach the C library's
 * free(), such as Python's ctypes.  Since 1.0.
 */
GLUVIRT_API void gluvirt_free(void *ptr);

/*
 * Logging.  The library is quiet unless the caller sets a log handler: then
 * its own diagnostics (connections made and finished, images opened and
 * closed, images found corrupt) and gfapi's messages reach the handler, one
 * line each, without a trailing newline.  gfapi writes its log only to a
 * file, so each connection made while a handler is set gives gfapi a pipe
 * that a thread of the library reads and hands on line by line, and asks
 * gfapi for the messages at the handler's minimum level or above; the lines
 * gfapi logs while connecting (also those of a connect that fails) are
 * handed on as well.  A pool whose options name a log file
 * (gluvirt_pool_options_set_log) keeps writing gfapi's log there.  gfapi's
 * lines start with "gfapi: volume 'NAME': ", the level letter and gfapi's
 * message id and source (the timestamp left out).
 */
typedef enum gluvirt_log_level {
    GLUVIRT_LOG_ERROR = 1,
    GLUVIRT_LOG_WARNING = 2,
    GLUVIRT_LOG_INFO = 3,
    GLUVIRT_LOG_DEBUG = 4
} gluvirt_log_level;

/* A log handler: level is a gluvirt_log_level, message one line (valid
 * during the call only). */
typedef void (*gluvirt_log_fn)(int level, const char *message, void *opaque);
typedef void (*gluvirt_log_free_fn)(void *opaque);

/*
 * gluvirt_set_log_handler: send the library's and gfapi's messages of
 * min_level or more severe to handler(level, message, opaque), process-wide,
 * replacing the handler set before (whose free_fn, if any, then runs once
 * its calls in progress have returned).  handler NULL: quiet again (the
 * default); free_fn(opaque), when given, then runs at once.  The handler
 * may run on any thread, also the library's own, several at once; it must
 * not call gluvirt_set_log_handler, and should return soon: gfapi's threads
 * wait for it once a connection's log pipe (1 MiB) is full.  gfapi's level follows min_level for
 * connections made after the call; connections made before keep theirs.
 * Returns 0, or -1 with EINVAL for a min_level that is not one of the
 * four levels (nothing changes then).  Thread-safe.  Since 1.2.
 */
GLUVIRT_API int gluvirt_set_log_handler(gluvirt_log_fn handler, void *opaque,
                                        gluvirt_log_free_fn free_fn, gluvirt_log_level min_level);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_COMMON_H */

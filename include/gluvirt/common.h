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

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_COMMON_H */

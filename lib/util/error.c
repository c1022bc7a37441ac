/*
 * Per-thread error state.  Each thread has its own message buffer, so a
 * failure on one thread never garbles another thread's message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/internal.h"

#define GLV_ERRMSG_MAX 1024

static __thread char errmsg[GLV_ERRMSG_MAX];
static __thread int errnum_saved;

void glv_set_error(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    errnum_saved = errnum;
    errno = errnum;
}

void glv_set_oom(void)
{
    snprintf(errmsg, sizeof errmsg, "out of memory");
    errnum_saved = ENOMEM;
    errno = ENOMEM;
}

GLUVIRT_API const char *gluvirt_errmsg(void)
{
    return errmsg;
}

GLUVIRT_API int gluvirt_errno(void)
{
    return errnum_saved;
}

/* The library's version and the memory-release call for returned strings. */
#include "config.h"

#include <stdlib.h>

#include "util/internal.h"

GLUVIRT_API const char *gluvirt_version(void)
{
    return PACKAGE_VERSION;
}

GLUVIRT_API void gluvirt_free(void *ptr)
{
    free(ptr);
}

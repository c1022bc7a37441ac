/*
 * The library loads with dlopen and unloads with dlclose, as Python's ctypes
 * does, and exports only gluvirt_* symbols under the GLUVIRT_1.0 version.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include <criterion/criterion.h>

Test(dlopen, load_call_unload)
{
    void *lib = dlopen(LIBDIR "/libgluvirt.so.0", RTLD_NOW | RTLD_LOCAL);
    const char *(*version)(void);
    void *(*parse)(const char *);
    void (*release)(void *);
    void *uri;

    cr_assert_not_null(lib, "%s", dlerror());
    *(void **)&version = dlsym(lib, "gluvirt_version");
    *(void **)&parse = dlsym(lib, "gluvirt_uri_parse");
    *(void **)&release = dlsym(lib, "gluvirt_uri_free");
    cr_assert_not_null(version);
    cr_assert_not_null(parse);
    cr_assert_not_null(release);
    cr_assert(strlen(version()) >= 5);
    uri = parse("gluster://h/v/a");
    cr_assert_not_null(uri);
    release(uri);
    cr_assert_eq(dlclose(lib), 0, "%s", dlerror());
}

Test(dlopen, internal_symbols_are_hidden)
{
    void *lib = dlopen(LIBDIR "/libgluvirt.so.0", RTLD_NOW | RTLD_LOCAL);

    cr_assert_not_null(lib, "%s", dlerror());
    cr_assert_null(dlsym(lib, "glv_set_error"), "an internal helper is exported");
    cr_assert_null(dlsym(lib, "glv_strbuf_puts"), "an internal helper is exported");
    cr_assert_not_null(dlvsym(lib, "gluvirt_uri_parse", "GLUVIRT_1.0"),
                       "gluvirt_uri_parse is not versioned GLUVIRT_1.0");
    dlclose(lib);
}

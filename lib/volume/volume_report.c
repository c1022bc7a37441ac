/*
 * The objects around a volume check: the options that say what to expect
 * (qemu's owner, the free space wanted, the connect timeout) and the report
 * that the checks in volume_check.c fill, item by item, and the caller reads.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "volume/volume_check.h"

/* ------------------------------------------------------------ options */

void glv_volume_check_options_init(gluvirt_volume_check_options *o)
{
    o->uid = GLUVIRT_CHECK_DEFAULT_UID;
    o->gid = GLUVIRT_CHECK_DEFAULT_GID;
    o->min_free = GLUVIRT_CHECK_DEFAULT_MIN_FREE;
    o->timeout_ms = GLUVIRT_CHECK_DEFAULT_TIMEOUT_MS;
}

GLUVIRT_API gluvirt_volume_check_options *gluvirt_volume_check_options_new(void)
{
    gluvirt_volume_check_options *o = malloc(sizeof *o);

    if (!o) {
        glv_set_oom();
        return NULL;
    }
    glv_volume_check_options_init(o);
    return o;
}

GLUVIRT_API void gluvirt_volume_check_options_free(gluvirt_volume_check_options *o)
{
    free(o);
}

static int no_options(const void *o, const char *call)
{
    if (o)
        return 0;
    glv_set_error(EINVAL, "%s: the options object is NULL", call);
    return -1;
}

GLUVIRT_API int gluvirt_volume_check_options_set_owner(gluvirt_volume_check_options *o,
                                                       uint32_t uid, uint32_t gid)
{
    if (no_options(o, "gluvirt_volume_check_options_set_owner") < 0)
        return -1;
    o->uid = uid;
    o->gid = gid;
    return 0;
}

GLUVIRT_API int gluvirt_volume_check_options_set_min_free(gluvirt_volume_check_options *o,
                                                          uint64_t bytes)
{
    if (no_options(o, "gluvirt_volume_check_options_set_min_free") < 0)
        return -1;
    o->min_free = bytes;
    return 0;
}

GLUVIRT_API int gluvirt_volume_check_options_set_timeout(gluvirt_volume_check_options *o,
                                                         unsigned milliseconds)
{
    if (no_options(o, "gluvirt_volume_check_options_set_timeout") < 0)
        return -1;
    if (milliseconds == 0) {
        glv_set_error(EINVAL, "gluvirt_volume_check_options_set_timeout: the timeout must be "
                      "at least 1 ms");
        return -1;
    }
    o->timeout_ms = milliseconds;
    return 0;
}

/* ------------------------------------------------------------ the report */

static char *vtext(struct gluvirt_volume_report *r, const char *fmt, va_list ap)
{
    char *s = NULL;

    if (!fmt)
        return NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        r->failed = 1;
        return NULL;
    }
    return s;
}

char *glv_report_asprintf(struct gluvirt_volume_report *r, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = vtext(r, fmt, ap);
    va_end(ap);
    return s;
}

void glv_report_add(struct gluvirt_volume_report *r, gluvirt_check_status status,
                    const char *id, const char *subject, char *fix, const char *fmt, ...)
{
    struct check_item *item;
    va_list ap;

    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        struct check_item *grown = realloc(r->items, cap * sizeof *grown);

        if (!grown) {
            r->failed = 1;
            free(fix);
            return;
        }
        r->items = grown;
        r->cap = cap;
    }
    item = &r->items[r->count++];
    item->status = status;
    item->id = strdup(id);
    item->subject = strdup(subject);
    va_start(ap, fmt);
    item->detail = vtext(r, fmt, ap);
    va_end(ap);
    item->fix = fix;
    if (!item->id || !item->subject || !item->detail)
        r->failed = 1;
}

GLUVIRT_API void gluvirt_volume_report_free(gluvirt_volume_report *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->count; i++) {
        free(r->items[i].id);
        free(r->items[i].subject);
        free(r->items[i].detail);
        free(r->items[i].fix);
    }
    free(r->items);
    free(r);
}

GLUVIRT_API gluvirt_check_status gluvirt_volume_report_status(const gluvirt_volume_report *r)
{
    gluvirt_check_status worst = GLUVIRT_CHECK_PASS;
    size_t i;

    for (i = 0; r && i < r->count; i++)
        if (r->items[i].status > worst)
            worst = r->items[i].status;
    return worst;
}

GLUVIRT_API size_t gluvirt_volume_report_count(const gluvirt_volume_report *r)
{
    return r ? r->count : 0;
}

GLUVIRT_API int gluvirt_volume_report_item_status(const gluvirt_volume_report *r, size_t i)
{
    if (!r || i >= r->count) {
        glv_set_error(EINVAL, "gluvirt_volume_report_item_status: no item %zu", i);
        return -1;
    }
    return (int)r->items[i].status;
}

GLUVIRT_API const char *gluvirt_volume_report_item(const gluvirt_volume_report *r, size_t i,
                                                   gluvirt_check_field field)
{
    if (!r || i >= r->count) {
        glv_set_error(EINVAL, "gluvirt_volume_report_item: no item %zu", i);
        return NULL;
    }
    switch (field) {
    case GLUVIRT_CHECK_ID:
        return r->items[i].id;
    case GLUVIRT_CHECK_SUBJECT:
        return r->items[i].subject;
    case GLUVIRT_CHECK_DETAIL:
        return r->items[i].detail;
    case GLUVIRT_CHECK_FIX:
        return r->items[i].fix;
    }
    glv_set_error(EINVAL, "gluvirt_volume_report_item: unknown field %d", (int)field);
    return NULL;
}

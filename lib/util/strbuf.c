/* A growable string used to build URIs, JSON and XML texts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/internal.h"

static int strbuf_reserve(struct glv_strbuf *sb, size_t extra)
{
    size_t need, cap;
    char *p;

    if (sb->failed)
        return -1;
    if (extra > (size_t)-1 / 2 - sb->len - 1) {
        sb->failed = 1;
        return -1;
    }
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 0;
    cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(sb->data, cap);
    if (!p) {
        sb->failed = 1;
        return -1;
    }
    sb->data = p;
    sb->cap = cap;
    return 0;
}

void glv_strbuf_append(struct glv_strbuf *sb, const char *s, size_t n)
{
    if (strbuf_reserve(sb, n) < 0)
        return;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void glv_strbuf_puts(struct glv_strbuf *sb, const char *s)
{
    glv_strbuf_append(sb, s, strlen(s));
}

void glv_strbuf_putc(struct glv_strbuf *sb, char c)
{
    glv_strbuf_append(sb, &c, 1);
}

void glv_strbuf_printf(struct glv_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || strbuf_reserve(sb, (size_t)n) < 0) {
        sb->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *glv_strbuf_finish(struct glv_strbuf *sb)
{
    char *out;

    if (!sb->failed && strbuf_reserve(sb, 0) < 0)
        sb->failed = 1;
    if (!sb->failed)
        sb->data[sb->len] = '\0'; /* a buffer that never grew holds no terminator yet */
    if (sb->failed) {
        glv_strbuf_release(sb);
        glv_set_oom();
        return NULL;
    }
    out = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return out;
}

void glv_strbuf_release(struct glv_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = 0;
}

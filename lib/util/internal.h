/*
 * Internal helpers shared by the library's files: error recording and a
 * growable string buffer.  Not installed.
 */
#ifndef GLUVIRT_INTERNAL_H
#define GLUVIRT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "gluvirt/gluvirt.h"

#define GLV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/*
 * Record a failure for the calling thread: errnum becomes gluvirt_errno(),
 * the formatted text gluvirt_errmsg().  Also sets errno.
 */
void glv_set_error(int errnum, const char *fmt, ...) GLV_PRINTF(2, 3);

/* Record ENOMEM with a fixed message (no allocation needed). */
void glv_set_oom(void);

/* Logging (log.c).  glv_log_level: the handler's minimum level
 * (GLUVIRT_LOG_*), or 0 when no handler is set: a cheap test before
 * building a message.  glv_log / glv_log_line: hand a message of level to
 * the handler, when one is set and the level is wanted. */
int glv_log_level(void);
void glv_log(int level, const char *fmt, ...) GLV_PRINTF(2, 3);
void glv_log_line(int level, const char *message);

/* A growable NUL-terminated string; on allocation failure it remembers the
 * failure and every later append is a no-op, so callers check once at the end. */
struct glv_strbuf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
};

void glv_strbuf_append(struct glv_strbuf *sb, const char *s, size_t n);
void glv_strbuf_puts(struct glv_strbuf *sb, const char *s);
void glv_strbuf_putc(struct glv_strbuf *sb, char c);
void glv_strbuf_printf(struct glv_strbuf *sb, const char *fmt, ...) GLV_PRINTF(2, 3);
/* Hand over the string (caller frees) or NULL after an allocation failure,
 * with the error recorded. */
char *glv_strbuf_finish(struct glv_strbuf *sb);
void glv_strbuf_release(struct glv_strbuf *sb);

/* UTF-8 (RFC 3629): the length of the well-formed sequence at s, or 0; whether
 * a whole string is well-formed; append code point cp encoded. */
size_t glv_utf8_sequence_length(const unsigned char *s);
int glv_utf8_valid(const char *s);
void glv_utf8_append(struct glv_strbuf *sb, unsigned long cp);

#endif /* GLUVIRT_INTERNAL_H */

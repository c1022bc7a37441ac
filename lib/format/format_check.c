/*
 * The report a format's check fills (format.h): its problem lines, kept up
 * to a bound so that a badly damaged image cannot make the report grow
 * with it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "format/format.h"

void glv_check_note(struct glv_check_report *r, const char *fmt, ...)
{
    char **grown, *line = NULL;
    va_list ap;

    if (r->message_count >= GLV_CHECK_MAX_MESSAGES) {
        r->messages_dropped++;
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    if (!line || !(grown = realloc(r->messages, (r->message_count + 1) * sizeof *grown))) {
        free(line);
        r->messages_dropped++;
        return;
    }
    r->messages = grown;
    r->messages[r->message_count++] = line;
}

void glv_check_report_release(struct glv_check_report *r)
{
    for (size_t i = 0; i < r->message_count; i++)
        free(r->messages[i]);
    free(r->messages);
    r->messages = NULL;
    r->message_count = 0;
}

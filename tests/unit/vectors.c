/*
 * Loads the URI vector table.  Columns (tab separated, '-' for none):
 *   uri qemu transport host port volume path socket qemu_message gluvirt
 * where qemu is "ok" or "invalid" and gluvirt is "same" (accepted with
 * QEMU's fields) or "reject: TEXT" (refused with TEXT in the message).
 * Lines starting with '#' and the header line are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vectors.h"

#define COLUMNS 10

/* Undo the table's escapes: \\ \t \n \r and \xHH. */
static char *unescape(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;

    cr_assert_not_null(out);
    while (*text) {
        if (text[0] == '\\' && text[1]) {
            switch (text[1]) {
            case 't': *o++ = '\t'; text += 2; continue;
            case 'n': *o++ = '\n'; text += 2; continue;
            case 'r': *o++ = '\r'; text += 2; continue;
            case '\\': *o++ = '\\'; text += 2; continue;
            case 'x':
                if (text[2] && text[3]) {
                    char hex[3] = {text[2], text[3], 0};

                    *o++ = (char)strtol(hex, NULL, 16);
                    text += 4;
                    continue;
                }
            }
        }
        *o++ = *text++;
    }
    *o = '\0';
    return out;
}

static char *field(char *text)
{
    return strcmp(text, "-") == 0 ? NULL : unescape(text);
}

static int split_line(char *line, char **cols)
{
    int n = 0;
    char *p = line;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < COLUMNS) {
        cols[n++] = p;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

struct uri_vector *load_uri_vectors(size_t *count)
{
    const char *top = getenv("top_srcdir");
    char path[4096], line[16384];
    struct uri_vector *v = NULL;
    size_t n = 0;
    int lineno = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/tests/uri/qemu-7.2-vectors.tsv", top ? top : ".");
    f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s (set top_srcdir)", path);
    while (fgets(line, sizeof line, f)) {
        char *cols[COLUMNS];
        struct uri_vector *row;

        lineno++;
        if (line[0] == '#' || strncmp(line, "uri\t", 4) == 0 || line[0] == '\n')
            continue;
        cr_assert_eq(split_line(line, cols), COLUMNS, "%s:%d: expected %d columns", path,
                     lineno, COLUMNS);
        v = realloc(v, (n + 1) * sizeof *v);
        cr_assert_not_null(v);
        row = &v[n++];
        row->line = lineno;
        row->uri = unescape(cols[0]);
        row->qemu_ok = strcmp(cols[1], "ok") == 0;
        cr_assert(row->qemu_ok || strcmp(cols[1], "invalid") == 0, "%s:%d: qemu column", path,
                  lineno);
        row->transport = field(cols[2]);
        row->host = field(cols[3]);
        row->port = strcmp(cols[4], "-") ? atoi(cols[4]) : -1;
        row->volume = field(cols[5]);
        row->path = field(cols[6]);
        row->socket = field(cols[7]);
        row->gluvirt_ok = strcmp(cols[9], "same") == 0;
        row->gluvirt_error = NULL;
        if (!row->gluvirt_ok) {
            cr_assert(strncmp(cols[9], "reject: ", 8) == 0, "%s:%d: gluvirt column '%s'", path,
                      lineno, cols[9]);
            row->gluvirt_error = strdup(cols[9] + 8);
        }
    }
    fclose(f);
    *count = n;
    return v;
}

void free_uri_vectors(struct uri_vector *v, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++) {
        free(v[i].uri);
        free(v[i].transport);
        free(v[i].host);
        free(v[i].volume);
        free(v[i].path);
        free(v[i].socket);
        free(v[i].gluvirt_error);
    }
    free(v);
}

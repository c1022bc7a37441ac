/*
 * Reading the client volfile: the translator graph that a gfapi client
 * runs, as glfs_get_volfile hands it out.  The volume check finds the
 * bricks, the layout and the "virt" options there, as the client (and so
 * qemu) sees them; the parsing is a plain walk over the volfile's lines.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gluster/volfile_graph.h"

void glv_volfile_graph_release(struct glv_volfile_graph *g)
{
    free(g->text);
    free(g->line);
    memset(g, 0, sizeof *g);
}

/* The rest of line after its first word when that word is word, else NULL. */
static const char *after_word(const char *line, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(line, word, n) != 0 || (line[n] && line[n] != ' ' && line[n] != '\t'))
        return NULL;
    return line + n + strspn(line + n, " \t");
}

int glv_volfile_graph_load(glfs_t *fs, struct glv_volfile_graph *g)
{
    /* gfapi answers the size it needs as a negative number, and copies
     * exactly len bytes when the buffer is large enough. */
    ssize_t need = glfs_get_volfile(fs, NULL, 0);
    char *save = NULL, *p;

    memset(g, 0, sizeof *g);
    if (need >= 0 || !(g->text = calloc(1, (size_t)-need + 1)) ||
        !(g->line = calloc((size_t)-need / 2 + 1, sizeof *g->line)) ||
        glfs_get_volfile(fs, g->text, (size_t)-need) <= 0) {
        glv_volfile_graph_release(g);
        return -1;
    }
    for (p = strtok_r(g->text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
        size_t n;

        p += strspn(p, " \t");
        for (n = strlen(p); n && strchr(" \t\r", p[n - 1]); n--)
            p[n - 1] = '\0';
        g->line[g->lines++] = p;
    }
    return 0;
}

long glv_volfile_next_xlator(const struct glv_volfile_graph *g, const char *type, size_t *from)
{
    long start = -1;
    const char *t;

    for (; *from < g->lines; (*from)++) {
        const char *line = g->line[*from];

        if (after_word(line, "volume"))
            start = (long)*from;
        else if (start >= 0 && (t = after_word(line, "type")) && !strcmp(t, type))
            return (*from)++, start;
    }
    return -1;
}

long glv_volfile_first_xlator(const struct glv_volfile_graph *g, const char *type,
                              size_t *count)
{
    size_t from = 0, n = 0;
    long first = glv_volfile_next_xlator(g, type, &from), at = first;

    while (at >= 0) {
        n++;
        at = glv_volfile_next_xlator(g, type, &from);
    }
    if (count)
        *count = n;
    return first;
}

const char *glv_volfile_xlator_option(const struct glv_volfile_graph *g, long at,
                                      const char *key)
{
    size_t i;
    const char *rest, *value;

    for (i = (size_t)at + 1; at >= 0 && i < g->lines && !after_word(g->line[i], "end-volume");
         i++)
        if ((rest = after_word(g->line[i], "option")) && (value = after_word(rest, key)))
            return value;
    return NULL;
}

size_t glv_volfile_xlator_subvolumes(const struct glv_volfile_graph *g, long at)
{
    size_t i, n = 0;
    const char *p;

    for (i = (size_t)at + 1; at >= 0 && i < g->lines && !after_word(g->line[i], "end-volume");
         i++) {
        if (!(p = after_word(g->line[i], "subvolumes")))
            continue;
        while (*p) {
            p += strcspn(p, " \t");
            p += strspn(p, " \t");
            n++;
        }
    }
    return n;
}

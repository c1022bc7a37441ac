/*
 * What the files of the volume check share: the options and the report
 * (volume_report.c), the client volfile graph that the checks read
 * (volfile_graph.c), and the checks themselves (volume_check.c), which fill
 * the report.  Private to those three files.
 */
#ifndef GLUVIRT_VOLUME_CHECK_H
#define GLUVIRT_VOLUME_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <glusterfs/api/glfs.h>

#include "internal.h"

/* ------------------------------------------------------------ options and report */

struct gluvirt_volume_check_options {
    uint32_t uid, gid;
    uint64_t min_free;
    unsigned timeout_ms;
};

struct check_item {
    gluvirt_check_status status;
    char *id, *subject, *detail, *fix;
};

/* The checks append items with glv_report_add and may lower the status of
 * the items they added themselves (a server that does not answer only warns
 * when another one does). */
struct gluvirt_volume_report {
    struct check_item *items;
    size_t count, cap;
    int failed; /* an allocation failed: the report is incomplete */
};

/* The defaults that gluvirt_volume_check_options_new gives, for a check
 * called without options. */
void glv_volume_check_options_init(gluvirt_volume_check_options *o);

/*
 * A formatted, allocated text for an item's fix (NULL when fmt is NULL).
 * When the allocation fails it returns NULL and marks the report failed, so
 * that the checks need not test every text they make.
 */
char *glv_report_asprintf(struct gluvirt_volume_report *r, const char *fmt, ...)
    GLV_PRINTF(2, 3);

/*
 * Append an item: id and subject are copied, the detail is formatted, fix
 * (NULL: none) is taken over and freed even when the item cannot be added.
 * A failed allocation marks the report failed instead of returning an error.
 */
void glv_report_add(struct gluvirt_volume_report *r, gluvirt_check_status status,
                    const char *id, const char *subject, char *fix, const char *fmt, ...)
    GLV_PRINTF(6, 7);

/* ------------------------------------------------------------ the client graph */

/* The client volfile as trimmed lines: "volume NAME", "type T", "option K V",
 * "subvolumes A B", "end-volume" for each translator.  A translator is named
 * by the index of its "volume" line; -1 stands for one that is not there, and
 * every lookup accepts it and finds nothing. */
struct glv_volfile_graph {
    char *text;
    char **line;
    size_t lines;
};

/* Fetch the graph the client fs runs (glfs_get_volfile) and split it into
 * lines.  0, or -1 with g empty and no error recorded: the caller reports
 * the graph as unavailable. */
int glv_volfile_graph_load(glfs_t *fs, struct glv_volfile_graph *g);

/* Free what load allocated and empty g; an empty g is fine. */
void glv_volfile_graph_release(struct glv_volfile_graph *g);

/* The next translator of type `type` at or after line *from: the index of
 * its "volume" line, or -1; *from moves past it. */
long glv_volfile_next_xlator(const struct glv_volfile_graph *g, const char *type, size_t *from);

/* The first translator of type `type`, or -1; *count (when not NULL) gets
 * how many the graph has. */
long glv_volfile_first_xlator(const struct glv_volfile_graph *g, const char *type,
                              size_t *count);

/* The value of option key of the translator whose "volume" line is at, or NULL. */
const char *glv_volfile_xlator_option(const struct glv_volfile_graph *g, long at,
                                      const char *key);

/* How many subvolumes the translator at names (0 for -1). */
size_t glv_volfile_xlator_subvolumes(const struct glv_volfile_graph *g, long at);

#endif

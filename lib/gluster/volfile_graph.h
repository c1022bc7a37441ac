/*
 * The client volfile graph (volfile_graph.c): the translators a gfapi
 * client runs, as glfs_get_volfile hands them out, for the volume check.
 */
#ifndef GLUVIRT_GLUSTER_VOLFILE_GRAPH_H
#define GLUVIRT_GLUSTER_VOLFILE_GRAPH_H

#include <stddef.h>

#include <glusterfs/api/glfs.h>

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

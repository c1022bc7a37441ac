/*
 * What the files of the volume check share: the options and the report
 * (volume_report.c) and the checks themselves (volume_check.c), which fill
 * the report reading the client volfile graph (gluster/volfile_graph.h).
 * Private to those two files.
 */
#ifndef GLUVIRT_VOLUME_CHECK_H
#define GLUVIRT_VOLUME_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <glusterfs/api/glfs.h>

#include "util/internal.h"

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

#endif

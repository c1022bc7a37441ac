/* qcow2 internal snapshots: the table, read and validated at open. */
#include "config.h"

#include <errno.h>

#include "qcow2.h"

int qcow2_snapshot_load_l1(struct glv_storage *s, const struct qcow2_header *h,
                           struct qcow2_snapshot *sn)
{
    (void)s, (void)h, (void)sn;
    glv_set_error(ENOTSUP, "qcow2 snapshots cannot be read yet");
    return -1;
}

int qcow2_snapshot_find(const struct qcow2_header *h, const char *key)
{
    (void)h, (void)key;
    return -1;
}

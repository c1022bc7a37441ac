/* qcow2 header, extensions and L1 table: read and validated once, at open. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "qcow2.h"

int qcow2_header_read(struct glv_storage *s, struct qcow2_header *h)
{
    memset(h, 0, sizeof *h);
    glv_set_error(ENOTSUP, "%s: qcow2 images cannot be read yet", s->name);
    return -1;
}

void qcow2_header_release(struct qcow2_header *h)
{
    (void)h;
}

const char *qcow2_feature_name(const struct qcow2_header *h, unsigned type, unsigned bit)
{
    (void)h, (void)type, (void)bit;
    return NULL;
}

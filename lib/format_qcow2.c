/* The qcow2 format driver (to come). */
#include "config.h"

#include <errno.h>

#include "qcow2_driver.h"

struct glv_format *glv_format_qcow2_open(struct glv_storage *storage,
                                         const struct glv_qcow2_options *options)
{
    (void)options;
    glv_set_error(ENOTSUP, "%s is a qcow2 image, which this build cannot read yet", storage->name);
    return NULL;
}

/* qcow2 cluster (to come). */
#include "config.h"

#include "qcow2_driver.h"

typedef int glv_qcow2_cluster_placeholder;

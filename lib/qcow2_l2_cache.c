/* qcow2 l2_cache (to come). */
#include "config.h"

#include "qcow2_driver.h"

typedef int glv_qcow2_l2_cache_placeholder;

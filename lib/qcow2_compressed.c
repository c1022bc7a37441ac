/* qcow2 compressed (to come). */
#include "config.h"

#include "qcow2_driver.h"

typedef int glv_qcow2_compressed_placeholder;

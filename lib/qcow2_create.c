/* qcow2_create (to come). */
#include "config.h"

#include "internal.h"

typedef int glv_qcow2_create_placeholder;

/* volume_check (to come). */
#include "config.h"

#include "internal.h"

typedef int glv_volume_check_placeholder;

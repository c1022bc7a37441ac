/* image_create (to come). */
#include "config.h"

#include "internal.h"

typedef int glv_image_create_placeholder;

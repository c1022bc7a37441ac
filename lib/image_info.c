/* Describing an image: properties, snapshots, block status (to come). */
#include "config.h"

#include "image_internal.h"

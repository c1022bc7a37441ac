/* The qcow2 driver's read path: shared between its files. */
#ifndef GLUVIRT_QCOW2_DRIVER_H
#define GLUVIRT_QCOW2_DRIVER_H

#include "qcow2.h"

#endif

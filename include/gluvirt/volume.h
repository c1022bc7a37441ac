/*
 * libgluvirt — checking that a gluster volume is ready to hold VM images.
 */
#ifndef GLUVIRT_VOLUME_H
#define GLUVIRT_VOLUME_H

#include <gluvirt/common.h>
#include <gluvirt/pool.h>
#include <gluvirt/uri.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_VOLUME_H */

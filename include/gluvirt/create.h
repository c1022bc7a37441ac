/*
 * libgluvirt — creating images (raw or qcow2) on a gluster volume or in a
 * local file.
 */
#ifndef GLUVIRT_CREATE_H
#define GLUVIRT_CREATE_H

#include <gluvirt/common.h>
#include <gluvirt/pool.h>
#include <gluvirt/image.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_CREATE_H */

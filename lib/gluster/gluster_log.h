/* gfapi's log handed to the library's log handler (util/log.c), line by line. */
#ifndef GLUVIRT_GLUSTER_LOG_H
#define GLUVIRT_GLUSTER_LOG_H

#include <glusterfs/api/glfs.h>

struct glv_gfapi_log;

/* gfapi's log level for the handler's minimum level (GLUVIRT_LOG_*). */
int glv_gfapi_log_level(int min_level);

/*
 * Point fs's log at a pipe whose lines a reader thread hands to the log
 * handler, as gfapi's messages about volume.  NULL when no handler is set,
 * or when the pipe or the thread cannot be had (fs's log is then left as
 * it was: nothing is lost but the messages).
 */
struct glv_gfapi_log *glv_gfapi_log_start(glfs_t *fs, const char *volume);

/* After glfs_fini(fs): hand on what is left in the pipe, stop the reader,
 * close the pipe.  Accepts NULL. */
void glv_gfapi_log_stop(struct glv_gfapi_log *log);

/* Hand every line of the log file at path to the handler (the lines gfapi
 * wrote while connecting to volume). */
void glv_gfapi_log_forward_file(const char *path, const char *volume);

#endif

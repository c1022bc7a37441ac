/* What the rest of the library (storage backends, tools) needs of a pooled connection. */
#ifndef GLUVIRT_POOL_INTERNAL_H
#define GLUVIRT_POOL_INTERNAL_H

#include <glusterfs/api/glfs.h>

#include "util/internal.h"
#include "gluvirt/pool.h"

/* The gfapi client behind a connection; valid while the reference is held. */
glfs_t *glv_connection_glfs(gluvirt_connection *connection);

/* Record that data was written through the connection, so that shutdown
 * gives its last replication round trip time to finish. */
void glv_connection_note_write(gluvirt_connection *connection);

#endif

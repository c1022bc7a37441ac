/* The pool's own structures, shared by pool.c and pool_options.c. */
#ifndef GLUVIRT_POOL_PRIVATE_H
#define GLUVIRT_POOL_PRIVATE_H

#include "gluster/gluster_connect.h"
#include "gluster/pool_internal.h"

struct gluvirt_pool_options {
    unsigned linger_ms;
    unsigned max_idle;
    unsigned exit_wait_ms;
    struct glv_client_settings client;
};

/* Copy every setting (deep); on failure `to` holds nothing to free. */
int glv_pool_options_copy(gluvirt_pool_options *to, const gluvirt_pool_options *from);
void glv_pool_options_clear(gluvirt_pool_options *options);

#endif

/* Options of a connection pool: a small bag of settings, copied by the pool. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gluster/pool_private.h"

GLUVIRT_API gluvirt_pool_options *gluvirt_pool_options_new(void)
{
    gluvirt_pool_options *o = calloc(1, sizeof *o);

    if (!o || !(o->client.log_file = strdup("/dev/null"))) {
        free(o);
        glv_set_oom();
        return NULL;
    }
    o->linger_ms = GLUVIRT_POOL_DEFAULT_LINGER_MS;
    o->max_idle = GLUVIRT_POOL_DEFAULT_MAX_IDLE;
    o->exit_wait_ms = GLUVIRT_POOL_DEFAULT_EXIT_WAIT_MS;
    o->client.log_level = 4;
    o->client.connect_timeout_ms = GLUVIRT_POOL_DEFAULT_CONNECT_TIMEOUT_MS;
    return o;
}

static void free_xlator_options(struct glv_client_settings *c)
{
    size_t i;

    for (i = 0; i < c->xlator_option_count; i++) {
        free(c->xlator_options[i].xlator);
        free(c->xlator_options[i].key);
        free(c->xlator_options[i].value);
    }
    free(c->xlator_options);
    c->xlator_options = NULL;
    c->xlator_option_count = 0;
}

void glv_pool_options_clear(gluvirt_pool_options *o)
{
    free(o->client.log_file);
    o->client.log_file = NULL;
    free_xlator_options(&o->client);
}

GLUVIRT_API void gluvirt_pool_options_free(gluvirt_pool_options *o)
{
    if (!o)
        return;
    glv_pool_options_clear(o);
    free(o);
}

static int require(const void *options, const char *call)
{
    if (options)
        return 0;
    glv_set_error(EINVAL, "%s: the options object is NULL", call);
    return -1;
}

GLUVIRT_API int gluvirt_pool_options_set_linger(gluvirt_pool_options *o, unsigned ms)
{
    if (require(o, "gluvirt_pool_options_set_linger") < 0)
        return -1;
    o->linger_ms = ms;
    return 0;
}

GLUVIRT_API int gluvirt_pool_options_set_max_idle(gluvirt_pool_options *o, unsigned count)
{
    if (require(o, "gluvirt_pool_options_set_max_idle") < 0)
        return -1;
    o->max_idle = count;
    return 0;
}

GLUVIRT_API int gluvirt_pool_options_set_connect_timeout(gluvirt_pool_options *o, unsigned ms)
{
    if (require(o, "gluvirt_pool_options_set_connect_timeout") < 0)
        return -1;
    if (ms == 0) {
        glv_set_error(EINVAL, "a connect timeout of 0 ms would fail every connect: give at least 1");
        return -1;
    }
    o->client.connect_timeout_ms = ms;
    return 0;
}

GLUVIRT_API int gluvirt_pool_options_set_exit_wait(gluvirt_pool_options *o, unsigned ms)
{
    if (require(o, "gluvirt_pool_options_set_exit_wait") < 0)
        return -1;
    o->exit_wait_ms = ms;
    return 0;
}

GLUVIRT_API int gluvirt_pool_options_set_log(gluvirt_pool_options *o, const char *file, int level)
{
    char *copy;

    if (require(o, "gluvirt_pool_options_set_log") < 0)
        return -1;
    if (!file || !*file) {
        glv_set_error(EINVAL, "gluvirt_pool_options_set_log: name a log file (\"/dev/null\" for "
                      "none)");
        return -1;
    }
    if (!strcmp(file, "-") || !strcmp(file, "/dev/stderr")) {
        glv_set_error(EINVAL, "gluster's log does not go to the caller's stderr: name a file");
        return -1;
    }
    if (level < 0 || level > 9) {
        glv_set_error(EINVAL, "log level %d is out of range 0 (none) to 9 (trace)", level);
        return -1;
    }
    if (!(copy = strdup(file))) {
        glv_set_oom();
        return -1;
    }
    free(o->client.log_file);
    o->client.log_file = copy;
    o->client.log_level = level;
    return 0;
}

GLUVIRT_API int gluvirt_pool_options_set_xlator_option(gluvirt_pool_options *o, const char *xlator,
                                                       const char *key, const char *value)
{
    struct glv_client_settings *c;
    struct glv_xlator_option *grown;
    size_t i;

    if (require(o, "gluvirt_pool_options_set_xlator_option") < 0)
        return -1;
    if (!xlator || !*xlator || !key || !*key || !value) {
        glv_set_error(EINVAL, "a client option needs an xlator glob, a key and a value");
        return -1;
    }
    c = &o->client;
    for (i = 0; i < c->xlator_option_count; i++) {
        if (!strcmp(c->xlator_options[i].xlator, xlator) && !strcmp(c->xlator_options[i].key, key)) {
            char *copy = strdup(value);

            if (!copy) {
                glv_set_oom();
                return -1;
            }
            free(c->xlator_options[i].value);
            c->xlator_options[i].value = copy;
            return 0;
        }
    }
    grown = realloc(c->xlator_options, (c->xlator_option_count + 1) * sizeof *grown);
    if (!grown) {
        glv_set_oom();
        return -1;
    }
    c->xlator_options = grown;
    grown += c->xlator_option_count;
    grown->xlator = strdup(xlator);
    grown->key = strdup(key);
    grown->value = strdup(value);
    if (!grown->xlator || !grown->key || !grown->value) {
        free(grown->xlator);
        free(grown->key);
        free(grown->value);
        glv_set_oom();
        return -1;
    }
    c->xlator_option_count++;
    return 0;
}

int glv_pool_options_copy(gluvirt_pool_options *to, const gluvirt_pool_options *from)
{
    size_t i;

    *to = *from;
    to->client.log_file = NULL;
    to->client.xlator_options = NULL;
    to->client.xlator_option_count = 0;
    if (!(to->client.log_file = strdup(from->client.log_file)))
        goto oom;
    for (i = 0; i < from->client.xlator_option_count; i++) {
        const struct glv_xlator_option *x = &from->client.xlator_options[i];

        if (gluvirt_pool_options_set_xlator_option(to, x->xlator, x->key, x->value) < 0)
            goto fail;
    }
    return 0;
oom:
    glv_set_oom();
fail:
    glv_pool_options_clear(to);
    return -1;
}

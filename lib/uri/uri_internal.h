/* The gluvirt_uri object, shared by the parser, the formatter and the getters. */
#ifndef GLUVIRT_URI_INTERNAL_H
#define GLUVIRT_URI_INTERNAL_H

#include <stddef.h>

#include "util/internal.h"

struct glv_uri_server {
    gluvirt_transport transport;
    char *host;   /* tcp, rdma: without IPv6 brackets */
    int port;     /* tcp, rdma: 1..65535 after defaults; unix: 0 */
    char *socket; /* unix only */
};

struct gluvirt_uri {
    char *volume;
    char *path; /* no leading '/' */
    size_t server_count;
    struct glv_uri_server *servers;
};

/*
 * Checks shared by the parser and the constructors.  Each returns NULL when
 * the value is acceptable, else a static text saying what is wrong with it.
 */
const char *glv_uri_host_problem(const char *host);
const char *glv_uri_volume_problem(const char *volume);
const char *glv_uri_path_problem(const char *path);
const char *glv_uri_socket_problem(const char *socket_path);

/* 0 when uri can be written as form ("QEMU JSON", "libvirt XML"): it has a
 * server, and every field is UTF-8, as JSON and XML need; else -1 with the
 * error set, naming call for a NULL uri. */
int glv_uri_check_writable_as(const struct gluvirt_uri *uri, const char *form, const char *call);

/* Whether text is meant as a gluster URI rather than a local path: it
 * starts with "gluster" ("gluster:", "gluster+tcp:", ...) and holds a ':'.
 * Such text is parsed, and refused when malformed; never opened as a file.
 * The one test of it in the library. */
int glv_uri_names_gluster(const char *text);

/* Whether name starts with "protocol:" before any '/': QEMU would hand it
 * to that protocol's driver rather than open a file of that name. */
int glv_uri_has_protocol(const char *name);

/* Nonzero when host is an IPv6 address (it contains a ':'). */
int glv_uri_host_is_ipv6(const char *host);

/* Append a server; takes ownership of host/socket_path (freed on failure). */
int glv_uri_append_server(struct gluvirt_uri *uri, gluvirt_transport transport,
                          char *host, int port, char *socket_path);

#endif /* GLUVIRT_URI_INTERNAL_H */

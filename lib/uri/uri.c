/*
 * The gluvirt_uri object: construction by hand, validation of its parts,
 * copies, comparison and getters.  Parsing lives in uri_parse.c and the
 * canonical text form in uri_format.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uri/uri_internal.h"

/* Longest host name the resolver takes (RFC 1035). */
#define GLV_HOST_MAX 255

static int has_control_char(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The characters RFC 3986 allows in a host name (reg-name), decoded. */
static int is_host_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

int glv_uri_names_gluster(const char *text)
{
    return strncmp(text, "gluster", 7) == 0 && strchr(text, ':') != NULL;
}

int glv_uri_has_protocol(const char *name)
{
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

    return n > 0 && name[n] == ':';
}

int glv_uri_host_is_ipv6(const char *host)
{
    return strchr(host, ':') != NULL;
}

static int ipv6_address_valid(const char *host)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *zone = strchr(host, '%');
    size_t len = zone ? (size_t)(zone - host) : strlen(host);
    struct in6_addr parsed;

    if (len == 0 || len >= sizeof addr)
        return 0;
    if (zone && zone[1] == '\0')
        return 0;
    memcpy(addr, host, len);
    addr[len] = '\0';
    return inet_pton(AF_INET6, addr, &parsed) == 1;
}

const char *glv_uri_host_problem(const char *host)
{
    if (!host || !*host)
        return "the host is empty";
    if (strlen(host) > GLV_HOST_MAX)
        return "the host name is longer than 255 characters";
    if (has_control_char(host))
        return "the host contains a control character";
    if (glv_uri_host_is_ipv6(host))
        return ipv6_address_valid(host) ? NULL : "the host is not a valid IPv6 address";
    for (; *host; host++)
        if (!is_host_name_char((unsigned char)*host))
            return "the host contains a character no resolver accepts in a name";
    return NULL;
}

const char *glv_uri_volume_problem(const char *volume)
{
    const char *c;

    if (!volume || !*volume)
        return "the volume name is empty";
    /* gfapi's glfs_new() refuses any other volume name, and so does glusterd. */
    for (c = volume; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return "gluster volume names use only letters, digits, '-' and '_'";
    if (volume[0] == '-')
        return "gluster volume names do not start with '-'";
    return NULL;
}

const char *glv_uri_path_problem(const char *path)
{
    const char *seg = path;

    if (!path || !*path)
        return "the image path is empty";
    if (has_control_char(path))
        return "the image path contains a control character";
    while (seg) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);

        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return "the image path has a '.' or '..' segment, which makes the "
                   "image it names depend on who resolves it; write the path "
                   "without it";
        seg = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *glv_uri_socket_problem(const char *socket_path)
{
    if (!socket_path || !*socket_path)
        return "the socket path is empty";
    if (strlen(socket_path) >= 108) /* sizeof(sockaddr_un.sun_path) */
        return "the socket path is longer than a unix socket address holds (107 bytes)";
    if (has_control_char(socket_path))
        return "the socket path contains a control character";
    return NULL;
}

int glv_uri_append_server(struct gluvirt_uri *uri, gluvirt_transport transport,
                          char *host, int port, char *socket_path)
{
    struct glv_uri_server *grown;

    grown = realloc(uri->servers, (uri->server_count + 1) * sizeof *grown);
    if (!grown) {
        free(host);
        free(socket_path);
        glv_set_oom();
        return -1;
    }
    uri->servers = grown;
    grown[uri->server_count].transport = transport;
    grown[uri->server_count].host = host;
    grown[uri->server_count].port = port;
    grown[uri->server_count].socket = socket_path;
    uri->server_count++;
    return 0;
}

static const char *non_utf8_field(const struct gluvirt_uri *uri)
{
    size_t i;

    if (!glv_utf8_valid(uri->volume))
        return "volume";
    if (!glv_utf8_valid(uri->path))
        return "path";
    for (i = 0; i < uri->server_count; i++) {
        if (uri->servers[i].host && !glv_utf8_valid(uri->servers[i].host))
            return "host";
        if (uri->servers[i].socket && !glv_utf8_valid(uri->servers[i].socket))
            return "socket";
    }
    return NULL;
}

int glv_uri_check_writable_as(const struct gluvirt_uri *uri, const char *form, const char *call)
{
    if (!uri) {
        glv_set_error(EINVAL, "%s: the URI object is NULL", call);
        return -1;
    }
    if (uri->server_count == 0) {
        glv_set_error(EINVAL, "cannot write %s for volume '%s': the location has no server; add "
                      "one with gluvirt_uri_add_tcp_server or gluvirt_uri_add_unix_server", form,
                      uri->volume);
        return -1;
    }
    if (non_utf8_field(uri)) {
        glv_set_error(EINVAL, "cannot write %s: the %s is not UTF-8, which %s cannot carry; use "
                      "the URI, where it is percent-encoded", form, non_utf8_field(uri),
                      strstr(form, "JSON") ? "JSON" : "XML");
        return -1;
    }
    return 0;
}

GLUVIRT_API gluvirt_uri *gluvirt_uri_new(const char *volume, const char *path)
{
    const char *problem;
    gluvirt_uri *uri;

    /* Leading '/'s are not part of the image path, as in a URI's path. */
    while (path && *path == '/')
        path++;
    if ((problem = glv_uri_volume_problem(volume)) ||
        (problem = glv_uri_path_problem(path))) {
        glv_set_error(EINVAL, "cannot make a gluster location: %s", problem);
        return NULL;
    }
    uri = calloc(1, sizeof *uri);
    if (!uri || !(uri->volume = strdup(volume)) || !(uri->path = strdup(path))) {
        gluvirt_uri_free(uri);
        glv_set_oom();
        return NULL;
    }
    return uri;
}

GLUVIRT_API int gluvirt_uri_add_tcp_server(gluvirt_uri *uri, const char *host, int port)
{
    const char *problem;
    char *copy;

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_uri_add_tcp_server: the URI object is NULL");
        return -1;
    }
    if ((problem = glv_uri_host_problem(host))) {
        glv_set_error(EINVAL, "cannot add server '%s': %s", host ? host : "(null)", problem);
        return -1;
    }
    if (port < 0 || port > 65535) {
        glv_set_error(EINVAL, "cannot add server '%s': port %d is out of range 0-65535",
                      host, port);
        return -1;
    }
    if (!(copy = strdup(host))) {
        glv_set_oom();
        return -1;
    }
    return glv_uri_append_server(uri, GLUVIRT_TRANSPORT_TCP, copy,
                                 port ? port : GLUVIRT_DEFAULT_PORT, NULL);
}

GLUVIRT_API int gluvirt_uri_add_unix_server(gluvirt_uri *uri, const char *socket_path)
{
    const char *problem;
    char *copy;

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_uri_add_unix_server: the URI object is NULL");
        return -1;
    }
    if ((problem = glv_uri_socket_problem(socket_path))) {
        glv_set_error(EINVAL, "cannot add unix server '%s': %s",
                      socket_path ? socket_path : "(null)", problem);
        return -1;
    }
    if (!(copy = strdup(socket_path))) {
        glv_set_oom();
        return -1;
    }
    return glv_uri_append_server(uri, GLUVIRT_TRANSPORT_UNIX, NULL, 0, copy);
}

GLUVIRT_API void gluvirt_uri_free(gluvirt_uri *uri)
{
    size_t i;

    if (!uri)
        return;
    for (i = 0; i < uri->server_count; i++) {
        free(uri->servers[i].host);
        free(uri->servers[i].socket);
    }
    free(uri->servers);
    free(uri->volume);
    free(uri->path);
    free(uri);
}

GLUVIRT_API gluvirt_uri *gluvirt_uri_dup(const gluvirt_uri *uri)
{
    gluvirt_uri *copy;
    size_t i;

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_uri_dup: the URI object is NULL");
        return NULL;
    }
    copy = gluvirt_uri_new(uri->volume, uri->path);
    for (i = 0; copy && i < uri->server_count; i++) {
        const struct glv_uri_server *s = &uri->servers[i];
        char *host = s->host ? strdup(s->host) : NULL;
        char *sock = s->socket ? strdup(s->socket) : NULL;

        if ((s->host && !host) || (s->socket && !sock)) {
            free(host);
            free(sock);
            glv_set_oom();
            gluvirt_uri_free(copy);
            return NULL;
        }
        if (glv_uri_append_server(copy, s->transport, host, s->port, sock) < 0) {
            gluvirt_uri_free(copy);
            return NULL;
        }
    }
    return copy;
}

static int same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

GLUVIRT_API int gluvirt_uri_equal(const gluvirt_uri *a, const gluvirt_uri *b)
{
    size_t i;

    if (!a || !b)
        return a == b;
    if (!same_text(a->volume, b->volume) || !same_text(a->path, b->path) ||
        a->server_count != b->server_count)
        return 0;
    for (i = 0; i < a->server_count; i++) {
        const struct glv_uri_server *x = &a->servers[i], *y = &b->servers[i];

        if (x->transport != y->transport || x->port != y->port ||
            !same_text(x->host, y->host) || !same_text(x->socket, y->socket))
            return 0;
    }
    return 1;
}

GLUVIRT_API const char *gluvirt_uri_volume(const gluvirt_uri *uri)
{
    return uri ? uri->volume : NULL;
}

GLUVIRT_API const char *gluvirt_uri_path(const gluvirt_uri *uri)
{
    return uri ? uri->path : NULL;
}

GLUVIRT_API size_t gluvirt_uri_server_count(const gluvirt_uri *uri)
{
    return uri ? uri->server_count : 0;
}

static const struct glv_uri_server *server_at(const gluvirt_uri *uri, size_t i)
{
    if (!uri || i >= uri->server_count) {
        glv_set_error(EINVAL, "server index %zu is out of range (the URI has %zu)", i,
                      uri ? uri->server_count : 0);
        return NULL;
    }
    return &uri->servers[i];
}

GLUVIRT_API int gluvirt_uri_server_transport(const gluvirt_uri *uri, size_t i)
{
    const struct glv_uri_server *s = server_at(uri, i);

    return s ? (int)s->transport : -1;
}

GLUVIRT_API const char *gluvirt_uri_server_host(const gluvirt_uri *uri, size_t i)
{
    const struct glv_uri_server *s = server_at(uri, i);

    return s ? s->host : NULL;
}

GLUVIRT_API int gluvirt_uri_server_port(const gluvirt_uri *uri, size_t i)
{
    const struct glv_uri_server *s = server_at(uri, i);

    return s ? s->port : -1;
}

GLUVIRT_API const char *gluvirt_uri_server_socket(const gluvirt_uri *uri, size_t i)
{
    const struct glv_uri_server *s = server_at(uri, i);

    return s ? s->socket : NULL;
}

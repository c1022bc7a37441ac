/*
 * The canonical text of a gluster URI: the one form every equal object
 * prints as, so URIs can be compared as strings and stored in configs.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "uri/uri_internal.h"

static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * Append s, percent-encoding every byte that is neither unreserved nor in
 * keep.  Sub-delimiters are kept where they are harmless in the component.
 */
static void append_encoded(struct glv_strbuf *sb, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (is_unreserved(c) || strchr(keep, c)) {
            glv_strbuf_putc(sb, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

            glv_strbuf_append(sb, esc, 3);
        }
    }
}

/* Characters left as they are in each component ('\0' never matches). */
#define KEEP_IN_HOST "!$'()*+,;="
#define KEEP_IN_PATH "!$'()*+,;=:@/"
#define KEEP_IN_SOCKET "!$'()*+,:@/"

static const char *scheme_of(gluvirt_transport transport)
{
    switch (transport) {
    case GLUVIRT_TRANSPORT_UNIX:
        return "gluster+unix";
    case GLUVIRT_TRANSPORT_RDMA:
        return "gluster+rdma";
    case GLUVIRT_TRANSPORT_TCP:
    default:
        return "gluster";
    }
}

GLUVIRT_API char *gluvirt_uri_format(const gluvirt_uri *uri)
{
    struct glv_strbuf sb = {0};
    const struct glv_uri_server *s;

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_uri_format: the URI object is NULL");
        return NULL;
    }
    if (uri->server_count != 1) {
        glv_set_error(EINVAL, "a gluster URI names exactly one volfile server and this "
                      "location has %zu: write it as QEMU JSON or libvirt XML instead",
                      uri->server_count);
        return NULL;
    }
    s = &uri->servers[0];
    glv_strbuf_puts(&sb, scheme_of(s->transport));
    glv_strbuf_puts(&sb, "://");
    if (s->transport != GLUVIRT_TRANSPORT_UNIX) {
        if (glv_uri_host_is_ipv6(s->host)) {
            const char *zone = strchr(s->host, '%');

            glv_strbuf_putc(&sb, '[');
            glv_strbuf_append(&sb, s->host, zone ? (size_t)(zone - s->host) : strlen(s->host));
            if (zone) {
                glv_strbuf_puts(&sb, "%25");
                append_encoded(&sb, zone + 1, "");
            }
            glv_strbuf_putc(&sb, ']');
        } else {
            append_encoded(&sb, s->host, KEEP_IN_HOST);
        }
        if (s->port != GLUVIRT_DEFAULT_PORT)
            glv_strbuf_printf(&sb, ":%d", s->port);
    }
    glv_strbuf_putc(&sb, '/');
    append_encoded(&sb, uri->volume, KEEP_IN_HOST ":@");
    glv_strbuf_putc(&sb, '/');
    append_encoded(&sb, uri->path, KEEP_IN_PATH);
    if (s->transport == GLUVIRT_TRANSPORT_UNIX) {
        glv_strbuf_puts(&sb, "?socket=");
        append_encoded(&sb, s->socket, KEEP_IN_SOCKET);
    }
    return glv_strbuf_finish(&sb);
}

/*
 * Parsing gluster URIs the way QEMU 7.2 judges them (its gluster block driver
 * on top of its RFC 3986 URI parser), with a few deliberate refusals that
 * uri.h lists.  Every error names the fault, its column (1-based) and the fix.
 *
 * The steps follow the URI from left to right: scheme, authority (host and
 * port), path, query, fragment; then the path is percent-decoded and split
 * into volume and image path, and the query is checked against the transport.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uri/uri_internal.h"

#define URI_USAGE "gluster[+tcp|+unix|+rdma]://[HOST[:PORT]]/VOLUME/PATH[?socket=SOCKET]"

struct uri_text {
    const char *start; /* the whole URI, for columns */
};

/* A span of the input: [begin, end). */
struct span {
    const char *begin;
    const char *end;
};

static size_t column(const struct uri_text *t, const char *at)
{
    return (size_t)(at - t->start) + 1;
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_sub_delim(int c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* RFC 3986 pchar, less the percent-escapes (checked separately). */
static int is_pchar(int c)
{
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

/*
 * Check that every character of s is allowed by `allowed` or is a valid
 * percent-escape; what names the component in the error.
 */
static int check_chars(const struct uri_text *t, struct span s, int (*allowed)(int),
                       const char *what)
{
    const char *p;

    for (p = s.begin; p < s.end; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '%') {
            if (s.end - p < 3) {
                glv_set_error(EINVAL, "truncated percent-escape '%.*s' at column %zu in the %s: "
                              "write %%XX with two hex digits, or %%25 for a literal '%%'",
                              (int)(s.end - p), p, column(t, p), what);
                return -1;
            }
            if (!is_hex(p[1]) || !is_hex(p[2])) {
                glv_set_error(EINVAL, "invalid percent-escape '%.3s' at column %zu in the %s: "
                              "write %%XX with two hex digits, or %%25 for a literal '%%'",
                              p, column(t, p), what);
                return -1;
            }
            p += 2;
            continue;
        }
        if (!allowed(c)) {
            if (c == ' ')
                glv_set_error(EINVAL, "space at column %zu in the %s: write it as %%20",
                              column(t, p), what);
            else if (c < 0x20 || c >= 0x7f)
                glv_set_error(EINVAL, "byte 0x%02x at column %zu in the %s is not allowed in a "
                              "URI: percent-encode it (%%%02X)", c, column(t, p), what, c);
            else
                glv_set_error(EINVAL, "character '%c' at column %zu is not allowed in the %s: "
                              "percent-encode it (%%%02X)", c, column(t, p), what, c);
            return -1;
        }
    }
    return 0;
}

/* Percent-decode a checked span into a new string; refuses an encoded NUL. */
static char *decode(const struct uri_text *t, struct span s, const char *what)
{
    char *out = malloc((size_t)(s.end - s.begin) + 1), *o = out;
    const char *p;

    if (!out) {
        glv_set_oom();
        return NULL;
    }
    for (p = s.begin; p < s.end; p++) {
        if (*p == '%') {
            int byte = hex_value(p[1]) * 16 + hex_value(p[2]);

            if (byte == 0) {
                glv_set_error(EINVAL, "percent-escape %%00 at column %zu in the %s decodes to a "
                              "NUL byte, which no gluster name may contain", column(t, p), what);
                free(out);
                return NULL;
            }
            *o++ = (char)byte;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static int is_query_char(int c)
{
    return is_pchar(c) || c == '/' || c == '?';
}

static int is_fragment_char(int c)
{
    return is_query_char(c) || c == '[' || c == ']';
}

static int is_path_char(int c)
{
    return is_pchar(c) || c == '/';
}

static int is_reg_name_char(int c)
{
    return is_unreserved(c) || is_sub_delim(c);
}

/* --------------------------------------------------------------- scheme */

static int parse_scheme(const struct uri_text *t, const char **pos, gluvirt_transport *transport)
{
    static const struct {
        const char *name;
        gluvirt_transport transport;
    } schemes[] = {
        {"gluster", GLUVIRT_TRANSPORT_TCP},
        {"gluster+tcp", GLUVIRT_TRANSPORT_TCP},
        {"gluster+unix", GLUVIRT_TRANSPORT_UNIX},
        {"gluster+rdma", GLUVIRT_TRANSPORT_RDMA},
    };
    const char *p = t->start;
    size_t len, i;

    if (is_alpha(*p))
        for (p++; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.'; p++)
            ;
    if (*p != ':' || p == t->start) {
        glv_set_error(EINVAL, "not a gluster URI: it does not start with a scheme such as "
                      "'gluster://'; write " URI_USAGE);
        return -1;
    }
    len = (size_t)(p - t->start);
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strlen(schemes[i].name) == len && strncmp(schemes[i].name, t->start, len) == 0) {
            *transport = schemes[i].transport;
            *pos = p + 1;
            return 0;
        }
        if (strlen(schemes[i].name) == len && strncasecmp(schemes[i].name, t->start, len) == 0) {
            glv_set_error(EINVAL, "scheme '%.*s' must be written in lower case: '%s'",
                          (int)len, t->start, schemes[i].name);
            return -1;
        }
    }
    if (len == 4 && strncmp(t->start, "json", 4) == 0) {
        glv_set_error(EINVAL, "'json:' starts QEMU's JSON option syntax, not a URI: read it with "
                      "gluvirt_uri_from_qemu_json (gluvirt uri --from qemu-json)");
        return -1;
    }
    glv_set_error(EINVAL, "unknown scheme '%.*s': use gluster, gluster+tcp, gluster+unix or "
                  "gluster+rdma", (int)len, t->start);
    return -1;
}

/* ------------------------------------------------------------ authority */

struct authority {
    int present;     /* the host part was not empty */
    char *host;      /* decoded, without brackets */
    const char *host_at;
    int has_port;    /* a ':' followed the host */
    long port;
    const char *port_at;
};

static int parse_port(const struct uri_text *t, struct span s, struct authority *a)
{
    const char *p;
    long value = 0;

    a->has_port = 1;
    a->port_at = s.begin;
    if (s.begin == s.end) {
        glv_set_error(EINVAL, "empty port after ':' at column %zu: write a port number or "
                      "leave out the ':'", column(t, s.begin - 1));
        return -1;
    }
    for (p = s.begin; p < s.end; p++) {
        if (!is_digit(*p)) {
            glv_set_error(EINVAL, "port '%.*s' at column %zu is not a number%s",
                          (int)(s.end - s.begin), s.begin, column(t, s.begin),
                          strchr(s.begin, ':') && strchr(s.begin, ':') < s.end
                              ? "; an IPv6 address goes in brackets: gluster://[::1]/VOLUME/PATH"
                              : "");
            return -1;
        }
        if (value <= 65535)
            value = value * 10 + (*p - '0');
    }
    if (value > 65535) {
        glv_set_error(EINVAL, "port %.*s at column %zu is out of range 0-65535",
                      (int)(s.end - s.begin), s.begin, column(t, s.begin));
        return -1;
    }
    a->port = value;
    return 0;
}

/*
 * Decode an IPv6 literal with its optional zone: "%25" and other valid
 * escapes decode, and a '%' that starts no escape is kept (a zone written
 * "fe80::1%eth0", as many tools accept).  Refuses an encoded NUL.
 */
static char *decode_ipv6_literal(const struct uri_text *t, struct span s)
{
    char *out = malloc((size_t)(s.end - s.begin) + 1), *o = out;
    const char *p;

    if (!out) {
        glv_set_oom();
        return NULL;
    }
    for (p = s.begin; p < s.end; p++) {
        if (*p == '%' && s.end - p >= 3 && is_hex(p[1]) && is_hex(p[2])) {
            int byte = hex_value(p[1]) * 16 + hex_value(p[2]);

            if (byte == 0) {
                glv_set_error(EINVAL, "percent-escape %%00 at column %zu in the host decodes to "
                              "a NUL byte", column(t, p));
                free(out);
                return NULL;
            }
            *o++ = (char)byte;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static int parse_bracketed_host(const struct uri_text *t, struct span s, struct authority *a,
                                const char **after)
{
    const char *close = memchr(s.begin, ']', (size_t)(s.end - s.begin));
    const char *problem;
    struct span addr;

    if (!close) {
        glv_set_error(EINVAL, "'[' at column %zu has no matching ']': write an IPv6 host as "
                      "[ADDRESS]", column(t, s.begin));
        return -1;
    }
    addr.begin = s.begin + 1;
    addr.end = close;
    if (addr.begin == addr.end) {
        glv_set_error(EINVAL, "empty host '[]' at column %zu: put an IPv6 address inside the "
                      "brackets, or leave the host out for localhost", column(t, s.begin));
        return -1;
    }
    if (!(a->host = decode_ipv6_literal(t, addr)))
        return -1;
    if ((problem = glv_uri_host_problem(a->host)) || !glv_uri_host_is_ipv6(a->host)) {
        glv_set_error(EINVAL, "host '%.*s' at column %zu is not an IPv6 address: only IPv6 "
                      "addresses go in brackets, as in [fe80::1%%25eth0]",
                      (int)(close + 1 - s.begin), s.begin, column(t, s.begin));
        return -1;
    }
    *after = close + 1;
    return 0;
}

static int parse_authority(const struct uri_text *t, struct span s, struct authority *a)
{
    const char *at = memchr(s.begin, '@', (size_t)(s.end - s.begin));
    const char *host_end;

    if (at) {
        glv_set_error(EINVAL, "credentials '%.*s@' at column %zu are not supported: gluster "
                      "does not log in by URI, and a password in a URI leaks into logs and "
                      "process lists; remove everything up to and including '@'",
                      (int)(at - s.begin), s.begin, column(t, s.begin));
        return -1;
    }
    a->host_at = s.begin;
    if (s.begin == s.end)
        return 0;
    if (*s.begin == '[') {
        if (parse_bracketed_host(t, s, a, &host_end) < 0)
            return -1;
        if (host_end < s.end && *host_end != ':') {
            glv_set_error(EINVAL, "unexpected '%c' at column %zu after the IPv6 host: write "
                          "[ADDRESS]:PORT", *host_end, column(t, host_end));
            return -1;
        }
    } else {
        struct span name = {s.begin, memchr(s.begin, ':', (size_t)(s.end - s.begin))};
        const char *problem;

        if (!name.end)
            name.end = s.end;
        host_end = name.end;
        if (name.begin == name.end) /* ":PORT" alone: QEMU takes localhost */
            return parse_port(t, (struct span){host_end + 1, s.end}, a);
        if (check_chars(t, name, is_reg_name_char, "host") < 0)
            return -1;
        if (!(a->host = decode(t, name, "host")))
            return -1;
        if ((problem = glv_uri_host_problem(a->host))) {
            glv_set_error(EINVAL, "host '%s' at column %zu: %s", a->host, column(t, s.begin),
                          problem);
            return -1;
        }
    }
    a->present = 1;
    if (host_end < s.end)
        return parse_port(t, (struct span){host_end + 1, s.end}, a);
    return 0;
}

/* ---------------------------------------------------------------- query */

/*
 * The query's parameters as QEMU 7.2 counts them.  Each item ends at the
 * next '&', or, when no '&' follows, at the next ';'.  Empty items are
 * skipped; so is an item with an empty name and a value ("=x"), while a
 * bare "=" makes the URI invalid.  An item without '=' is a parameter with
 * no value.  Returns the count, or -1 (error set) for a bare "=".
 */
struct query_param {
    struct span name, value;
    int has_value;
};

static long query_params(const struct uri_text *t, struct span q, struct query_param *first)
{
    const char *item = q.begin;
    long count = 0;

    while (item < q.end) {
        const char *end = memchr(item, '&', (size_t)(q.end - item));
        const char *eq;

        if (!end)
            end = memchr(item, ';', (size_t)(q.end - item));
        if (!end)
            end = q.end;
        eq = memchr(item, '=', (size_t)(end - item));
        if (eq == item && end == item + 1) {
            glv_set_error(EINVAL, "query item '=' at column %zu has neither name nor value: "
                          "remove it", column(t, item));
            return -1;
        }
        if (end > item && eq != item) {
            if (count == 0) {
                first->name = (struct span){item, eq ? eq : end};
                first->value = (struct span){eq ? eq + 1 : end, end};
                first->has_value = eq != NULL;
            }
            count++;
        }
        item = end + 1;
    }
    return count;
}

static int check_query(const struct uri_text *t, gluvirt_transport transport, const char *qmark,
                       struct span q, char **socket_path)
{
    struct query_param first = {{NULL, NULL}, {NULL, NULL}, 0};
    long count = qmark ? query_params(t, q, &first) : 0;
    const char *problem;
    char *name;
    int is_socket;

    if (count < 0)
        return -1;
    if (transport != GLUVIRT_TRANSPORT_UNIX) {
        if (count == 0)
            return 0;
        glv_set_error(EINVAL, "query '?%.*s' at column %zu: gluster%s URIs take no query; only "
                      "gluster+unix URIs take ?socket=", (int)(q.end - q.begin), q.begin,
                      column(t, qmark), transport == GLUVIRT_TRANSPORT_RDMA ? "+rdma" : "");
        return -1;
    }
    if (count != 1) {
        glv_set_error(EINVAL, "gluster+unix URIs need ?socket=/path/to/glusterd.socket%s",
                      count > 1 ? " and no other parameter" : "");
        return -1;
    }
    /* Parameter names are percent-decoded too ("%73ocket" is "socket"). */
    if (!(name = decode(t, first.name, "parameter name")))
        return -1;
    is_socket = strcmp(name, "socket") == 0;
    free(name);
    if (!is_socket) {
        glv_set_error(EINVAL, "unknown parameter '%.*s' at column %zu: gluster+unix URIs need "
                      "?socket=/path/to/glusterd.socket", (int)(first.name.end - first.name.begin),
                      first.name.begin, column(t, first.name.begin));
        return -1;
    }
    if (!first.has_value || first.value.begin == first.value.end) {
        glv_set_error(EINVAL, "empty socket path at column %zu: gluster+unix URIs need "
                      "?socket=/path/to/glusterd.socket", column(t, first.name.begin));
        return -1;
    }
    if (!(*socket_path = decode(t, first.value, "socket path")))
        return -1;
    if ((problem = glv_uri_socket_problem(*socket_path))) {
        glv_set_error(EINVAL, "socket '%s' at column %zu: %s", *socket_path,
                      column(t, first.value.begin), problem);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------- path */

/*
 * Split the decoded path as QEMU does: leading '/'s skipped, the volume runs
 * to the next '/', the '/'s after it are skipped, the rest is the image path.
 */
static int split_path(const struct uri_text *t, const char *decoded, const char *path_at,
                      char **volume, char **image)
{
    const char *v = decoded, *slash, *rest;
    const char *problem;

    while (*v == '/')
        v++;
    if (!*v) {
        glv_set_error(EINVAL, "no volume in the path at column %zu: write " URI_USAGE,
                      column(t, path_at));
        return -1;
    }
    slash = strchr(v, '/');
    rest = slash;
    while (rest && *rest == '/')
        rest++;
    if (!slash || !*rest) {
        int vlen = (int)(slash ? (size_t)(slash - v) : strlen(v));

        glv_set_error(EINVAL, "no image path after volume '%.*s' (column %zu): write "
                      "gluster://HOST/%.*s/PATH/TO/IMAGE", vlen, v, column(t, path_at), vlen, v);
        return -1;
    }
    if (!(*volume = strndup(v, (size_t)(slash - v))) || !(*image = strdup(rest))) {
        glv_set_oom();
        return -1;
    }
    if ((problem = glv_uri_volume_problem(*volume))) {
        glv_set_error(EINVAL, "volume '%s' in the path at column %zu: %s", *volume,
                      column(t, path_at), problem);
        return -1;
    }
    if ((problem = glv_uri_path_problem(*image))) {
        glv_set_error(EINVAL, "image path '%s' at column %zu: %s", *image, column(t, path_at),
                      problem);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------- main */

struct parts {
    gluvirt_transport transport;
    struct authority auth;
    int has_authority;
    const char *authority_at;
    struct span path;
    const char *qmark;
    struct span query;
    struct span fragment;
};

static int split_components(const struct uri_text *t, const char *p, struct parts *u,
                            struct span *authority)
{
    if (p[0] == '/' && p[1] == '/') {
        u->has_authority = 1;
        const char *scan = p + 2;

        authority->begin = u->authority_at = scan;
        /* A bracketed host ends at its ']' (QEMU reads "[/]" as a host, too). */
        if (*scan == '[' && strchr(scan, ']'))
            scan = strchr(scan, ']');
        authority->end = scan + strcspn(scan, "/?#");
        p = authority->end;
    }
    u->path.begin = p;
    u->path.end = p + strcspn(p, "?#");
    p = u->path.end;
    if (*p == '?') {
        u->qmark = p;
        u->query.begin = p + 1;
        u->query.end = u->query.begin + strcspn(u->query.begin, "#");
        p = u->query.end;
    }
    if (*p == '#') {
        u->fragment.begin = p + 1;
        u->fragment.end = p + strlen(p);
    }
    if (check_chars(t, u->path, is_path_char, "path") < 0 ||
        (u->qmark && check_chars(t, u->query, is_query_char, "query") < 0) ||
        (u->fragment.begin && check_chars(t, u->fragment, is_fragment_char, "fragment") < 0))
        return -1;
    return 0;
}

static int check_unix_authority(const struct uri_text *t, const struct parts *u)
{
    /* QEMU lets ":0" pass: port 0 is its "no port". */
    if (u->transport != GLUVIRT_TRANSPORT_UNIX || (!u->auth.present && u->auth.port == 0))
        return 0;
    glv_set_error(EINVAL, "gluster+unix URIs take no host or port ('%s' at column %zu): write "
                  "gluster+unix:///VOLUME/PATH?socket=/path/to/glusterd.socket",
                  u->auth.host ? u->auth.host : "", column(t, u->auth.host_at));
    return -1;
}

static gluvirt_uri *assemble(const struct uri_text *t, struct parts *u)
{
    char *decoded = NULL, *volume = NULL, *image = NULL, *socket_path = NULL;
    gluvirt_uri *uri = NULL;

    if (!(decoded = decode(t, u->path, "path")) ||
        split_path(t, decoded, u->path.begin, &volume, &image) < 0 ||
        check_query(t, u->transport, u->qmark, u->query, &socket_path) < 0 ||
        check_unix_authority(t, u) < 0)
        goto out;
    if (!(uri = calloc(1, sizeof *uri))) {
        glv_set_oom();
        goto out;
    }
    uri->volume = volume;
    uri->path = image;
    volume = image = NULL;
    if (u->transport == GLUVIRT_TRANSPORT_UNIX) {
        if (glv_uri_append_server(uri, u->transport, NULL, 0, socket_path) < 0)
            goto fail;
        socket_path = NULL;
    } else {
        char *host = u->auth.host ? u->auth.host : strdup("localhost");
        int port = u->auth.port ? (int)u->auth.port : GLUVIRT_DEFAULT_PORT;

        u->auth.host = NULL;
        if (!host) {
            glv_set_oom();
            goto fail;
        }
        if (glv_uri_append_server(uri, u->transport, host, port, NULL) < 0)
            goto fail;
    }
    goto out;
fail:
    gluvirt_uri_free(uri);
    uri = NULL;
out:
    free(decoded);
    free(volume);
    free(image);
    free(socket_path);
    return uri;
}

GLUVIRT_API gluvirt_uri *gluvirt_uri_parse(const char *text)
{
    struct uri_text t = {text};
    struct parts u;
    struct span authority = {NULL, NULL};
    const char *p;
    gluvirt_uri *uri;

    memset(&u, 0, sizeof u);
    if (!text) {
        glv_set_error(EINVAL, "gluvirt_uri_parse: the URI is NULL");
        return NULL;
    }
    if (parse_scheme(&t, &p, &u.transport) < 0 ||
        split_components(&t, p, &u, &authority) < 0 ||
        (u.has_authority && parse_authority(&t, authority, &u.auth) < 0)) {
        free(u.auth.host);
        return NULL;
    }
    uri = assemble(&t, &u);
    free(u.auth.host);
    return uri;
}

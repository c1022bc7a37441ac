/*
 * libgluvirt — gluster URIs.
 *
 * A gluvirt_uri names one image on one gluster volume and the volfile
 * servers to ask for that volume, in failover order.  It is made by parsing a
 * URI, by converting QEMU's JSON form or libvirt's disk XML, or by hand with
 * gluvirt_uri_new() and gluvirt_uri_add_*_server().
 *
 * The accepted URI syntax is QEMU's:
 *
 *   gluster[+tcp|+rdma]://[HOST[:PORT]]/VOLUME/PATH
 *   gluster+unix:///VOLUME/PATH?socket=/path/to/glusterd.socket
 *
 *   HOST     a name, an IPv4 address or a bracketed IPv6 address
 *            ([fe80::1%25eth0] for a zone id); absent means "localhost".
 *   PORT     0..65535; absent or 0 means 24007.
 *   VOLUME   the first path segment.
 *   PATH     the rest of the path, not empty; directories are allowed.
 *
 * Volume, path and socket are percent-decoded.  gluster+unix needs exactly
 * one socket= parameter and no host or port; tcp and rdma take no query.
 * rdma is accepted for compatibility and connects over tcp (GlusterFS no
 * longer ships rdma).  A fragment ("#...") is ignored, as QEMU does.
 *
 * Volume names follow gluster's rule (letters, digits, '-' and '_', not
 * starting with '-'), which gfapi enforces too.
 *
 * libgluvirt is stricter than QEMU where QEMU's leniency hurts users, and
 * says why: it refuses credentials in the authority ("user:pw@host", which
 * QEMU drops silently), a bracketed host that is not an IPv6 address
 * (QEMU 7.2 passes "[...]" on to the resolver, which never finds it), "." or
 * ".." segments in the image path, NUL bytes and control characters, and
 * values that can never connect: an empty socket path, a socket path too
 * long for a unix socket address, a host name no resolver accepts.
 *
 * All functions are thread-safe on distinct objects; a gluvirt_uri may be
 * read from several threads at once but not changed while it is read.
 */
#ifndef GLUVIRT_URI_H
#define GLUVIRT_URI_H

#include <stddef.h>
#include <gluvirt/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An image location on a gluster volume (opaque). */
typedef struct gluvirt_uri gluvirt_uri;

/* How to reach a volfile server. */
typedef enum gluvirt_transport {
    GLUVIRT_TRANSPORT_TCP = 0,
    GLUVIRT_TRANSPORT_UNIX = 1,
    GLUVIRT_TRANSPORT_RDMA = 2 /* accepted, connected as tcp */
} gluvirt_transport;

/* The port glusterd listens on when a URI names none. */
#define GLUVIRT_DEFAULT_PORT 24007

/*
 * gluvirt_uri_parse: parse and validate a gluster URI.
 *
 * text  a NUL-terminated URI, e.g. "gluster://host/volume/dir/image.qcow2".
 *
 * Returns a new object with one server (free it with gluvirt_uri_free), or
 * NULL with errno EINVAL (or ENOMEM) and a message naming the fault and its
 * column, e.g. "port 99999 at column 20 is out of range 0-65535".
 * Since 1.0.
 */
GLUVIRT_API gluvirt_uri *gluvirt_uri_parse(const char *text);

/*
 * gluvirt_uri_new: a location with no server yet.
 *
 * volume  the volume name: not empty, no '/'.
 * path    the image path inside the volume: not empty; leading '/'s are
 *         dropped, "." and ".." segments are refused.
 *
 * Add servers with gluvirt_uri_add_tcp_server / gluvirt_uri_add_unix_server.
 * Returns NULL with errno EINVAL or ENOMEM on failure.  Since 1.0.
 */
GLUVIRT_API gluvirt_uri *gluvirt_uri_new(const char *volume, const char *path);

/*
 * gluvirt_uri_add_tcp_server: append a volfile server reached over tcp.
 *
 * host  a name, an IPv4 address or an IPv6 address without brackets.
 * port  0..65535; 0 means GLUVIRT_DEFAULT_PORT.
 *
 * Servers are tried in the order they were added.  Returns 0, or -1 with
 * errno EINVAL (bad host or port) or ENOMEM.  Since 1.0.
 */
GLUVIRT_API int gluvirt_uri_add_tcp_server(gluvirt_uri *uri, const char *host,
                                           int port);

/*
 * gluvirt_uri_add_unix_server: append a volfile server reached through the
 * unix socket of a local glusterd (a path shorter than 108 bytes).
 * Returns 0, or -1 with errno EINVAL or ENOMEM.  Since 1.0.
 */
GLUVIRT_API int gluvirt_uri_add_unix_server(gluvirt_uri *uri,
                                            const char *socket_path);

/* gluvirt_uri_free: release a URI object.  Accepts NULL.  Since 1.0. */
GLUVIRT_API void gluvirt_uri_free(gluvirt_uri *uri);

/* gluvirt_uri_dup: a deep copy, or NULL with errno ENOMEM.  Since 1.0. */
GLUVIRT_API gluvirt_uri *gluvirt_uri_dup(const gluvirt_uri *uri);

/*
 * gluvirt_uri_equal: 1 when both name the same image through the same
 * servers in the same order (after defaults are applied: an absent port
 * equals 24007), else 0.  Since 1.0.
 */
GLUVIRT_API int gluvirt_uri_equal(const gluvirt_uri *a, const gluvirt_uri *b);

/* gluvirt_uri_volume: the volume name, owned by the object.  Since 1.0. */
GLUVIRT_API const char *gluvirt_uri_volume(const gluvirt_uri *uri);

/*
 * gluvirt_uri_path: the image path inside the volume, without a leading
 * '/', owned by the object.  Since 1.0.
 */
GLUVIRT_API const char *gluvirt_uri_path(const gluvirt_uri *uri);

/* gluvirt_uri_server_count: how many volfile servers it holds.  Since 1.0. */
GLUVIRT_API size_t gluvirt_uri_server_count(const gluvirt_uri *uri);

/*
 * gluvirt_uri_server_transport: transport of server i (0-based), or -1 with
 * errno EINVAL when i is out of range.  Since 1.0.
 */
GLUVIRT_API int gluvirt_uri_server_transport(const gluvirt_uri *uri, size_t i);

/*
 * gluvirt_uri_server_host: host of server i, without IPv6 brackets ("localhost"
 * when the URI named none); NULL for a unix server or an index out of range.
 * Since 1.0.
 */
GLUVIRT_API const char *gluvirt_uri_server_host(const gluvirt_uri *uri, size_t i);

/*
 * gluvirt_uri_server_port: port of server i (24007 when the URI named none
 * or 0); 0 for a unix server; -1 with errno EINVAL when out of range.
 * Since 1.0.
 */
GLUVIRT_API int gluvirt_uri_server_port(const gluvirt_uri *uri, size_t i);

/*
 * gluvirt_uri_server_socket: socket path of unix server i; NULL for a
 * tcp or rdma server or an index out of range.  Since 1.0.
 */
GLUVIRT_API const char *gluvirt_uri_server_socket(const gluvirt_uri *uri,
                                                  size_t i);

/*
 * gluvirt_uri_format: the canonical URI: lower-case scheme ("gluster" for
 * tcp), no default port, IPv6 in brackets, only the characters that need
 * it percent-encoded.  gluvirt_uri_parse() of the result equals the object.
 *
 * A URI holds a single server: for an object with several, this fails with
 * EINVAL (use gluvirt_uri_to_qemu_json or gluvirt_uri_to_libvirt_xml).
 * Returns a string to free with gluvirt_free, or NULL.  Since 1.0.
 */
GLUVIRT_API char *gluvirt_uri_format(const gluvirt_uri *uri);

/*
 * gluvirt_uri_to_qemu_json: QEMU's option form, a one-line
 * "json:{"driver":"gluster","volume":...,"path":...,"server":[...]}" with
 * every server ({"type":"inet","host":H,"port":"P"} or
 * {"type":"unix","path":S}).  rdma servers are written as inet, which is
 * how they connect.  Returns a string to free with gluvirt_free, or NULL.
 * Since 1.0.
 */
GLUVIRT_API char *gluvirt_uri_to_qemu_json(const gluvirt_uri *uri);

/*
 * gluvirt_uri_from_qemu_json: read QEMU's JSON form, with or without the
 * "json:" prefix: a gluster driver object, or a format driver object whose
 * "file" is one.  Accepts "tcp" as a synonym of "inet", ports as strings or
 * numbers, "socket" as the legacy name of a unix server's "path", and a
 * "filename" key holding a URI.  Returns a new object or NULL (EINVAL with a
 * message naming the bad key, ENOMEM).  Since 1.0.
 */
GLUVIRT_API gluvirt_uri *gluvirt_uri_from_qemu_json(const char *text);

/*
 * gluvirt_uri_to_libvirt_xml: a libvirt domain <disk type='network'> element
 * whose <source protocol='gluster' name='VOLUME/PATH'> lists every server as
 * a <host> (transport tcp, unix or rdma).  Add <driver> and <target> to use it
 * in a domain.  Returns a string to free with gluvirt_free, or NULL.
 * Since 1.0.
 */
GLUVIRT_API char *gluvirt_uri_to_libvirt_xml(const gluvirt_uri *uri);

/*
 * gluvirt_uri_from_libvirt_xml: read a <disk type='network'> element or its
 * <source protocol='gluster'> child.  A <host> without transport is tcp; a
 * tcp host without port uses 24007.  Returns a new object or NULL (EINVAL
 * with a message naming the element or attribute, ENOMEM).  Since 1.0.
 */
GLUVIRT_API gluvirt_uri *gluvirt_uri_from_libvirt_xml(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* GLUVIRT_URI_H */

/*
 * libvirt's domain XML form of a gluster location, both ways:
 *
 *   <disk type='network' device='disk'>
 *     <source protocol='gluster' name='VOLUME/PATH'>
 *       <host name='HOST' port='24007' transport='tcp'/>
 *       <host transport='unix' socket='/run/glusterd.socket'/>
 *     </source>
 *   </disk>
 *
 * The reader follows libvirt's rules: name splits at its first '/' into two
 * non-empty parts, a <host> without transport is tcp, a tcp or rdma host
 * needs name and may omit port (24007), a unix host needs socket.  It is
 * stricter where libvirt ignores things that are certainly mistakes
 * (socket= on a tcp host, name= on a unix one) and says so.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uri/uri_internal.h"
#include "util/xml.h"

static void xml_error(const char *fmt, ...) GLV_PRINTF(1, 2);

static void xml_error(const char *fmt, ...)
{
    char what[900];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    glv_set_error(EINVAL, "libvirt XML: %s", what);
}

/* Put a label in front of the error a gluvirt_uri call just recorded, and
 * say what to correct. */
static void add_label_to_error(const char *label, const char *fix)
{
    char recorded[512];

    if (gluvirt_errno() == ENOMEM)
        return;
    snprintf(recorded, sizeof recorded, "%s", gluvirt_errmsg());
    xml_error("%s%s; %s", label, recorded, fix);
}

/* ------------------------------------------------------------ writer */

static void append_attribute(struct glv_strbuf *sb, const char *name, const char *value)
{
    glv_strbuf_printf(sb, " %s='", name);
    glv_xml_append_escaped(sb, value);
    glv_strbuf_putc(sb, '\'');
}

static void append_host(struct glv_strbuf *sb, const gluvirt_uri *uri, size_t i)
{
    int transport = gluvirt_uri_server_transport(uri, i);
    char port[16];

    glv_strbuf_puts(sb, "    <host");
    if (transport == GLUVIRT_TRANSPORT_UNIX) {
        append_attribute(sb, "transport", "unix");
        append_attribute(sb, "socket", gluvirt_uri_server_socket(uri, i));
    } else {
        snprintf(port, sizeof port, "%d", gluvirt_uri_server_port(uri, i));
        append_attribute(sb, "name", gluvirt_uri_server_host(uri, i));
        append_attribute(sb, "port", port);
        append_attribute(sb, "transport",
                         transport == GLUVIRT_TRANSPORT_RDMA ? "rdma" : "tcp");
    }
    glv_strbuf_puts(sb, "/>\n");
}

GLUVIRT_API char *gluvirt_uri_to_libvirt_xml(const gluvirt_uri *uri)
{
    struct glv_strbuf sb = { 0 };
    size_t i, count;

    if (glv_uri_check_writable_as(uri, "libvirt XML", "gluvirt_uri_to_libvirt_xml") < 0)
        return NULL;
    count = gluvirt_uri_server_count(uri);
    glv_strbuf_puts(&sb, "<disk type='network' device='disk'>\n"
                         "  <source protocol='gluster' name='");
    glv_xml_append_escaped(&sb, gluvirt_uri_volume(uri));
    glv_strbuf_putc(&sb, '/');
    glv_xml_append_escaped(&sb, gluvirt_uri_path(uri));
    glv_strbuf_puts(&sb, "'>\n");
    for (i = 0; i < count; i++)
        append_host(&sb, uri, i);
    glv_strbuf_puts(&sb, "  </source>\n</disk>\n");
    return glv_strbuf_finish(&sb);
}

/* ------------------------------------------------------------ hosts */

/* A port attribute: decimal digits, 0-65535; -1 when it is not one. */
static int parse_port(const char *text)
{
    long value = 0;
    size_t i;

    for (i = 0; text[i] >= '0' && text[i] <= '9' && value <= 65535; i++)
        value = value * 10 + (text[i] - '0');
    return (i > 0 && text[i] == '\0' && value <= 65535) ? (int)value : -1;
}

/* rdma has no public constructor: it is accepted for old configurations
 * and connects over tcp, so only the object remembers it. */
static int add_rdma_server(gluvirt_uri *uri, const char *host, int port)
{
    const char *problem = glv_uri_host_problem(host);
    char *copy;

    if (problem) {
        glv_set_error(EINVAL, "cannot add server '%s': %s", host, problem);
        return -1;
    }
    if (!(copy = strdup(host))) {
        glv_set_oom();
        return -1;
    }
    return glv_uri_append_server(uri, GLUVIRT_TRANSPORT_RDMA, copy,
                                 port ? port : GLUVIRT_DEFAULT_PORT, NULL);
}

static int add_network_host(gluvirt_uri *uri, const struct glv_xml_element *host,
                            const char *transport, const char *label)
{
    const char *name = glv_xml_attribute(host, "name");
    const char *port_text = glv_xml_attribute(host, "port");
    int port = 0, status;

    if (glv_xml_attribute(host, "socket")) {
        xml_error("%ssocket= belongs to transport='unix'; remove it or set "
                  "transport='unix'", label);
        return -1;
    }
    if (!name) {
        xml_error("%sname is missing; a %s host needs name='HOST' (a gluster server's "
                  "name or address)", label, transport);
        return -1;
    }
    if (port_text && (port = parse_port(port_text)) < 0) {
        xml_error("%sport='%.40s' is not a port number; use 0-65535 or leave it out for "
                  "24007", label, port_text);
        return -1;
    }
    if (!strcmp(transport, "rdma"))
        status = add_rdma_server(uri, name, port);
    else
        status = gluvirt_uri_add_tcp_server(uri, name, port);
    if (status < 0)
        add_label_to_error(label, "correct name=");
    return status;
}

static int add_unix_host(gluvirt_uri *uri, const struct glv_xml_element *host,
                         const char *label)
{
    const char *socket_path = glv_xml_attribute(host, "socket");

    if (glv_xml_attribute(host, "name") || glv_xml_attribute(host, "port")) {
        xml_error("%sa unix host takes only socket='/path'; remove name= and port=",
                  label);
        return -1;
    }
    if (!socket_path) {
        xml_error("%ssocket is missing; a unix host needs the glusterd socket, e.g. "
                  "socket='/run/glusterd.socket'", label);
        return -1;
    }
    if (gluvirt_uri_add_unix_server(uri, socket_path) < 0) {
        add_label_to_error(label, "correct socket=");
        return -1;
    }
    return 0;
}

static int add_host(gluvirt_uri *uri, const struct glv_xml_element *host, size_t number)
{
    const char *transport = glv_xml_attribute(host, "transport");
    char label[96];

    snprintf(label, sizeof label, "<host> #%zu at line %u, column %u: ", number,
             host->line, host->column);
    if (!transport || !strcmp(transport, "tcp") || !strcmp(transport, "rdma"))
        return add_network_host(uri, host, transport ? transport : "tcp", label);
    if (!strcmp(transport, "unix"))
        return add_unix_host(uri, host, label);
    xml_error("%stransport='%.40s' is unknown; use tcp, unix or rdma", label, transport);
    return -1;
}

static int add_hosts(gluvirt_uri *uri, const struct glv_xml_element *source)
{
    size_t i, hosts = 0;

    for (i = 0; i < source->child_count; i++) {
        if (strcmp(source->children[i]->name, "host") != 0)
            continue;
        if (add_host(uri, source->children[i], ++hosts) < 0)
            return -1;
    }
    if (hosts == 0) {
        xml_error("<source> at line %u, column %u has no <host>; at least one host is "
                  "needed, e.g. <host name='HOST' port='24007'/>", source->line,
                  source->column);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ source */

static int check_protocol(const struct glv_xml_element *source)
{
    const char *protocol = glv_xml_attribute(source, "protocol");

    if (!protocol) {
        xml_error("<source> at line %u, column %u has no protocol; a gluster source has "
                  "protocol='gluster'", source->line, source->column);
        return -1;
    }
    if (strcmp(protocol, "gluster") != 0) {
        xml_error("<source protocol='%.40s'> is not a gluster source; expected "
                  "protocol='gluster'", protocol);
        return -1;
    }
    return 0;
}

/* name='VOLUME/PATH': split at the first '/', both parts non-empty. */
static gluvirt_uri *uri_from_name(const struct glv_xml_element *source)
{
    const char *name = glv_xml_attribute(source, "name"), *slash;
    char *volume;
    gluvirt_uri *uri;

    if (!name) {
        xml_error("<source> at line %u, column %u has no name; write "
                  "name='VOLUME/PATH', e.g. name='vmstore/images/disk1.qcow2'",
                  source->line, source->column);
        return NULL;
    }
    slash = strchr(name, '/');
    if (!slash || slash == name || slash[1] == '\0') {
        xml_error("<source name='%.200s'> is not 'VOLUME/PATH': both the volume and the "
                  "image path are needed, e.g. name='vmstore/images/disk1.qcow2'", name);
        return NULL;
    }
    if (!(volume = strndup(name, (size_t)(slash - name)))) {
        glv_set_oom();
        return NULL;
    }
    if (!(uri = gluvirt_uri_new(volume, slash + 1))) {
        char label[300];

        snprintf(label, sizeof label, "<source name='%.200s'>: ", name);
        add_label_to_error(label, "correct the name attribute");
    }
    free(volume);
    return uri;
}

static gluvirt_uri *uri_from_source(const struct glv_xml_element *source)
{
    gluvirt_uri *uri;

    if (check_protocol(source) < 0 || !(uri = uri_from_name(source)))
        return NULL;
    if (add_hosts(uri, source) < 0) {
        gluvirt_uri_free(uri);
        return NULL;
    }
    return uri;
}

/* The <source> of a network <disk>, or the root itself when it is one. */
static const struct glv_xml_element *find_source(const struct glv_xml_element *root)
{
    const struct glv_xml_element *source = NULL;
    const char *type;
    size_t i;

    if (!strcmp(root->name, "source"))
        return root;
    if (strcmp(root->name, "disk") != 0) {
        xml_error("the root element is <%.40s>; expected <disk type='network'> or "
                  "<source protocol='gluster'>", root->name);
        return NULL;
    }
    type = glv_xml_attribute(root, "type");
    if (type && strcmp(type, "network") != 0) {
        xml_error("<disk type='%.40s'> is not a network disk; a gluster disk has "
                  "type='network'", type);
        return NULL;
    }
    for (i = 0; i < root->child_count; i++) {
        if (strcmp(root->children[i]->name, "source") != 0)
            continue;
        if (source) {
            xml_error("<disk> has a second <source> at line %u, column %u; a disk has "
                      "one", root->children[i]->line, root->children[i]->column);
            return NULL;
        }
        source = root->children[i];
    }
    if (!source)
        xml_error("<disk> has no <source>; add <source protocol='gluster' "
                  "name='VOLUME/PATH'> with its <host> elements");
    return source;
}

GLUVIRT_API gluvirt_uri *gluvirt_uri_from_libvirt_xml(const char *text)
{
    const struct glv_xml_element *source;
    struct glv_xml_element *root;
    gluvirt_uri *uri = NULL;

    if (!text) {
        glv_set_error(EINVAL, "gluvirt_uri_from_libvirt_xml: the text is NULL");
        return NULL;
    }
    if (!(root = glv_xml_parse(text)))
        return NULL;
    if ((source = find_source(root)))
        uri = uri_from_source(source);
    glv_xml_free(root);
    return uri;
}

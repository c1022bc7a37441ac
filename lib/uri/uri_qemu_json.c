/*
 * QEMU's JSON form of a gluster location ("json:{"driver":"gluster",...}"),
 * both ways.  Built on the public gluvirt_uri API only, so the object's own
 * checks (host, volume, path, socket) apply here exactly as they do to URIs.
 *
 * The reader mirrors QEMU's rules for BlockdevOptionsGluster: volume, path
 * and server are required; a server has a type (inet, its legacy alias tcp,
 * or unix); inet needs host and port; unix takes path or its legacy name
 * socket.  Where QEMU would silently ignore something (unknown keys, a
 * filename next to a server list) this file refuses it and says why.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/internal.h"
#include "util/json.h"
#include "uri/uri_internal.h"

#define JSON_PREFIX "json:"

/* Where a message points: a label before the text ("file.server[1]: ")
 * and a prefix before key names ("file."). */
struct json_place {
    char label[64];
    const char *keys;
};

static void json_error(const struct json_place *place, const char *fmt, ...) GLV_PRINTF(2, 3);

static void json_error(const struct json_place *place, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    glv_set_error(EINVAL, "QEMU JSON: %s%s", place->label, what);
}

/* Put place's label in front of the error a gluvirt_uri call just recorded,
 * and say which JSON value to correct. */
static void add_place_to_error(const struct json_place *place, const char *fix)
{
    char recorded[512];

    if (gluvirt_errno() == ENOMEM)
        return;
    snprintf(recorded, sizeof recorded, "%s", gluvirt_errmsg());
    json_error(place, "%s; %s", recorded, fix);
}

/*
 * Fetch member key when it is a string: 1 found, 0 absent, -1 present with
 * another kind (error recorded).
 */
static int get_string(const struct glv_json_value *object, const char *key,
                      const struct json_place *place, const char **out)
{
    const struct glv_json_value *value = glv_json_member(object, key);

    if (!value)
        return 0;
    if (!(*out = glv_json_string(value))) {
        json_error(place, "\"%s%s\" is %s; it must be a string", place->keys, key,
                   glv_json_kind_name(glv_json_kind(value)));
        return -1;
    }
    return 1;
}

/* ------------------------------------------------------------ writer */

static void append_server(struct glv_strbuf *sb, const gluvirt_uri *uri, size_t i)
{
    if (gluvirt_uri_server_transport(uri, i) == GLUVIRT_TRANSPORT_UNIX) {
        glv_strbuf_puts(sb, "{\"type\":\"unix\",\"path\":");
        glv_json_append_string(sb, gluvirt_uri_server_socket(uri, i));
    } else {
        /* rdma servers connect over tcp, so QEMU gets them as inet. */
        glv_strbuf_puts(sb, "{\"type\":\"inet\",\"host\":");
        glv_json_append_string(sb, gluvirt_uri_server_host(uri, i));
        glv_strbuf_printf(sb, ",\"port\":\"%d\"", gluvirt_uri_server_port(uri, i));
    }
    glv_strbuf_putc(sb, '}');
}

GLUVIRT_API char *gluvirt_uri_to_qemu_json(const gluvirt_uri *uri)
{
    struct glv_strbuf sb = { 0 };
    size_t i, count;

    if (glv_uri_check_writable_as(uri, "QEMU JSON", "gluvirt_uri_to_qemu_json") < 0)
        return NULL;
    count = gluvirt_uri_server_count(uri);
    glv_strbuf_puts(&sb, JSON_PREFIX "{\"driver\":\"gluster\",\"volume\":");
    glv_json_append_string(&sb, gluvirt_uri_volume(uri));
    glv_strbuf_puts(&sb, ",\"path\":");
    glv_json_append_string(&sb, gluvirt_uri_path(uri));
    glv_strbuf_puts(&sb, ",\"server\":[");
    for (i = 0; i < count; i++) {
        if (i > 0)
            glv_strbuf_putc(&sb, ',');
        append_server(&sb, uri, i);
    }
    glv_strbuf_puts(&sb, "]}");
    return glv_strbuf_finish(&sb);
}

/* ------------------------------------------------------------ servers */

/* Refuse keys a server of this type does not take; QEMU's messages for the
 * inet keys it rejects are kept recognisable. */
static int check_server_keys(const struct glv_json_value *server, const char *const *known,
                             const char *known_text, const struct json_place *place)
{
    size_t i, k;

    for (i = 0; i < glv_json_count(server); i++) {
        const char *key = glv_json_member_key_at(server, i);

        for (k = 0; known[k] && strcmp(known[k], key) != 0; k++)
            continue;
        if (known[k])
            continue;
        if (!strcmp(key, "to") || !strcmp(key, "ipv4") || !strcmp(key, "ipv6"))
            json_error(place, "\"%s\" is not supported (QEMU's gluster driver refuses it "
                       "too); remove it", key);
        else
            json_error(place, "unknown key \"%.100s\"; %s", key, known_text);
        return -1;
    }
    return 0;
}

/* A port as QEMU takes it: a string of digits or a JSON integer, 0-65535. */
static int read_port(const struct glv_json_value *value, const struct json_place *place,
                     int *port)
{
    const char *text = glv_json_string(value);
    long long number = 0;
    size_t i;

    if (text) {
        for (i = 0; text[i] >= '0' && text[i] <= '9' && number <= 65535; i++)
            number = number * 10 + (text[i] - '0');
        if (i > 0 && text[i] == '\0' && number <= 65535) {
            *port = (int)number;
            return 0;
        }
        json_error(place, "port '%.40s' is not a valid port number; use a number "
                   "0-65535, e.g. \"24007\"", text);
        return -1;
    }
    if (!glv_json_number_text(value)) {
        json_error(place, "\"port\" is %s; write it as a string such as \"24007\"",
                   glv_json_kind_name(glv_json_kind(value)));
        return -1;
    }
    if (glv_json_integer(value, 0, 65535, &number) != GLV_JSON_INT_OK) {
        json_error(place, "port %.40s is not a valid port number; use an integer 0-65535",
                   glv_json_number_text(value));
        return -1;
    }
    *port = (int)number;
    return 0;
}

static int add_inet_server(gluvirt_uri *uri, const struct glv_json_value *server,
                           const struct json_place *place)
{
    static const char *const known[] = { "type", "host", "port", NULL };
    const struct glv_json_value *port_value = glv_json_member(server, "port");
    const char *host = NULL;
    int found, port;

    if (check_server_keys(server, known, "an inet server takes \"type\", \"host\" and "
                          "\"port\"", place) < 0)
        return -1;
    if ((found = get_string(server, "host", place, &host)) <= 0) {
        if (found == 0)
            json_error(place, "\"host\" is missing; an inet server needs \"host\" (a name "
                       "or address of a gluster server) and \"port\"");
        return -1;
    }
    if (!port_value) {
        json_error(place, "\"port\" is missing; an inet server needs it, usually "
                   "\"port\":\"24007\"");
        return -1;
    }
    if (read_port(port_value, place, &port) < 0)
        return -1;
    if (gluvirt_uri_add_tcp_server(uri, host, port) < 0) {
        add_place_to_error(place, "correct \"host\"");
        return -1;
    }
    return 0;
}

static int add_unix_server(gluvirt_uri *uri, const struct glv_json_value *server,
                           const struct json_place *place)
{
    static const char *const known[] = { "type", "path", "socket", NULL };
    const char *path = NULL, *socket_path = NULL;
    int has_path, has_socket;

    if (check_server_keys(server, known, "a unix server takes \"type\" and \"path\"",
                          place) < 0)
        return -1;
    if ((has_path = get_string(server, "path", place, &path)) < 0 ||
        (has_socket = get_string(server, "socket", place, &socket_path)) < 0)
        return -1;
    if (has_path && has_socket) {
        json_error(place, "conflicting \"path\" and \"socket\": \"socket\" is the legacy "
                   "name of \"path\"; keep only \"path\"");
        return -1;
    }
    if (!has_path && !has_socket) {
        json_error(place, "\"path\" is missing; a unix server needs the glusterd socket, "
                   "e.g. \"path\":\"/run/glusterd.socket\"");
        return -1;
    }
    if (gluvirt_uri_add_unix_server(uri, has_path ? path : socket_path) < 0) {
        add_place_to_error(place, has_path ? "correct \"path\"" : "correct \"socket\"");
        return -1;
    }
    return 0;
}

static int add_server(gluvirt_uri *uri, const struct glv_json_value *server,
                      const struct json_place *place)
{
    const char *type = NULL;
    int found;

    if (glv_json_kind(server) != GLV_JSON_OBJECT) {
        json_error(place, "the server is %s; each server is an object such as "
                   "{\"type\":\"inet\",\"host\":\"HOST\",\"port\":\"24007\"}",
                   glv_json_kind_name(glv_json_kind(server)));
        return -1;
    }
    if ((found = get_string(server, "type", place, &type)) <= 0) {
        if (found == 0)
            json_error(place, "\"type\" is missing; use \"inet\" (with host and port) or "
                       "\"unix\" (with path)");
        return -1;
    }
    if (!strcmp(type, "inet") || !strcmp(type, "tcp"))
        return add_inet_server(uri, server, place);
    if (!strcmp(type, "unix"))
        return add_unix_server(uri, server, place);
    json_error(place, "type '%.40s' is not supported; the type may be 'inet' or 'unix'", type);
    return -1;
}

static int add_servers(gluvirt_uri *uri, const struct glv_json_value *servers,
                       const struct json_place *place)
{
    struct json_place server_place = { "", "" };
    size_t i, count = glv_json_count(servers);

    if (glv_json_kind(servers) != GLV_JSON_ARRAY || count == 0) {
        json_error(place, "\"%sserver\" is %s; it must be an array of at least one server, "
                   "e.g. [{\"type\":\"inet\",\"host\":\"HOST\",\"port\":\"24007\"}]",
                   place->keys, glv_json_kind(servers) == GLV_JSON_ARRAY ? "empty"
                   : glv_json_kind_name(glv_json_kind(servers)));
        return -1;
    }
    for (i = 0; i < count; i++) {
        snprintf(server_place.label, sizeof server_place.label, "%sserver[%zu]: ",
                 place->keys, i);
        if (add_server(uri, glv_json_array_at(servers, i), &server_place) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ gluster object */

/* The keys a gluster object may hold: its own, and the generic block-node
 * options QEMU accepts on any node (accepted and ignored here). */
static int check_gluster_keys(const struct glv_json_value *object,
                              const struct json_place *place)
{
    static const char *const known[] = {
        "driver", "volume", "path", "server", "debug", "logfile", "filename",
        "node-name", "read-only", "auto-read-only", "force-share", "cache",
        "discard", "detect-zeroes", NULL
    };
    size_t i, k;

    for (i = 0; i < glv_json_count(object); i++) {
        const char *key = glv_json_member_key_at(object, i);

        for (k = 0; known[k] && strcmp(known[k], key) != 0; k++)
            continue;
        if (known[k])
            continue;
        if (strchr(key, '.'))
            json_error(place, "key \"%s%.100s\" uses QEMU's flattened dotted form, which "
                       "is not supported here; write nested objects and arrays instead, "
                       "e.g. \"server\":[{\"type\":\"inet\",...}]", place->keys, key);
        else
            json_error(place, "unknown key \"%s%.100s\"; a gluster object takes driver, "
                       "volume, path, server, debug and logfile", place->keys, key);
        return -1;
    }
    return 0;
}

/* debug and logfile only tune gfapi's logging; check their kinds, then
 * ignore them. */
static int check_logging_keys(const struct glv_json_value *object,
                              const struct json_place *place)
{
    const struct glv_json_value *debug = glv_json_member(object, "debug");
    const char *logfile;
    long long level;

    /* QEMU clamps the level to 0-9 rather than refusing it; so does gfapi. */
    if (debug && glv_json_integer(debug, INT_MIN, INT_MAX, &level) != GLV_JSON_INT_OK) {
        json_error(place, "\"%sdebug\" must be an integer, gfapi's log level 0-9, e.g. "
                   "\"debug\":4", place->keys);
        return -1;
    }
    return get_string(object, "logfile", place, &logfile) < 0 ? -1 : 0;
}

static gluvirt_uri *uri_from_filename(const struct glv_json_value *object,
                                      const char *filename, const struct json_place *place)
{
    struct json_place filename_place = { "", place->keys };
    gluvirt_uri *uri;

    if (glv_json_member(object, "volume") || glv_json_member(object, "path") ||
        glv_json_member(object, "server")) {
        json_error(place, "\"%sfilename\" and volume/path/server are both given; use either "
                   "a gluster URI in \"filename\" or the volume, path and server keys",
                   place->keys);
        return NULL;
    }
    if (!(uri = gluvirt_uri_parse(filename))) {
        snprintf(filename_place.label, sizeof filename_place.label, "\"%sfilename\": ",
                 place->keys);
        add_place_to_error(&filename_place, "correct the URI");
    }
    return uri;
}

static int require_string(const struct glv_json_value *object, const char *key,
                          const char *hint, const struct json_place *place, const char **out)
{
    int found = get_string(object, key, place, out);

    if (found == 0)
        json_error(place, "\"%s%s\" is missing; %s", place->keys, key, hint);
    return found == 1 ? 0 : -1;
}

static gluvirt_uri *uri_from_gluster_object(const struct glv_json_value *object,
                                            const struct json_place *place)
{
    const struct glv_json_value *servers;
    const char *volume, *path, *filename;
    int found;
    gluvirt_uri *uri;

    if (check_gluster_keys(object, place) < 0 || check_logging_keys(object, place) < 0)
        return NULL;
    if ((found = get_string(object, "filename", place, &filename)) != 0)
        return found < 0 ? NULL : uri_from_filename(object, filename, place);
    if (require_string(object, "volume", "add \"volume\":\"NAME\" with the gluster "
                       "volume name", place, &volume) < 0 ||
        require_string(object, "path", "add \"path\":\"PATH\" with the image's path "
                       "inside the volume", place, &path) < 0)
        return NULL;
    if (!(servers = glv_json_member(object, "server"))) {
        json_error(place, "\"%sserver\" is missing; list the volfile servers, e.g. "
                   "\"server\":[{\"type\":\"inet\",\"host\":\"HOST\",\"port\":\"24007\"}]",
                   place->keys);
        return NULL;
    }
    if (!(uri = gluvirt_uri_new(volume, path))) {
        add_place_to_error(place, place->keys[0] ? "correct \"file.volume\" or \"file.path\""
                                                 : "correct \"volume\" or \"path\"");
        return NULL;
    }
    if (add_servers(uri, servers, place) < 0) {
        gluvirt_uri_free(uri);
        return NULL;
    }
    return uri;
}

/* The driver of object must be "gluster". */
static int check_gluster_driver(const struct glv_json_value *object,
                                const struct json_place *place)
{
    const char *driver = NULL;
    int found = get_string(object, "driver", place, &driver);

    if (found < 0)
        return -1;
    if (found == 0) {
        json_error(place, "\"%sdriver\" is missing; a gluster location has "
                   "\"driver\":\"gluster\"", place->keys);
        return -1;
    }
    if (strcmp(driver, "gluster") != 0) {
        json_error(place, "\"%sdriver\" is '%.40s', not 'gluster': this image is not on a "
                   "gluster volume", place->keys, driver);
        return -1;
    }
    return 0;
}

static int has_flattened_file_key(const struct glv_json_value *object)
{
    size_t i;

    for (i = 0; i < glv_json_count(object); i++)
        if (!strncmp(glv_json_member_key_at(object, i), "file.", 5))
            return 1;
    return 0;
}

/* Pick the gluster object: the top-level one, or the "file" of a format
 * driver (qcow2, raw, ...) that stores its image on gluster. */
static const struct glv_json_value *find_gluster_object(const struct glv_json_value *root,
                                                        struct json_place *place)
{
    const struct glv_json_value *driver = glv_json_member(root, "driver");
    const struct glv_json_value *file = glv_json_member(root, "file");

    if (glv_json_string(driver) && !strcmp(glv_json_string(driver), "gluster"))
        return root;
    if (!file && has_flattened_file_key(root)) {
        json_error(place, "keys such as \"file.driver\" use QEMU's flattened dotted form, "
                   "which is not supported here; write \"file\":{\"driver\":\"gluster\",...}");
        return NULL;
    }
    if (!file && glv_json_string(driver)) {
        json_error(place, "\"driver\" is '%.40s' and there is no \"file\" object; give the "
                   "gluster location as {\"driver\":\"gluster\",...} or, under a format "
                   "driver, as \"file\":{\"driver\":\"gluster\",...}", glv_json_string(driver));
        return NULL;
    }
    if (!file)
        return check_gluster_driver(root, place) < 0 ? NULL : root;
    place->keys = "file.";
    if (glv_json_kind(file) != GLV_JSON_OBJECT) {
        json_error(place, "\"file\" is %s; it must be an object with \"driver\":\"gluster\"",
                   glv_json_kind_name(glv_json_kind(file)));
        return NULL;
    }
    return check_gluster_driver(file, place) < 0 ? NULL : file;
}

GLUVIRT_API gluvirt_uri *gluvirt_uri_from_qemu_json(const char *text)
{
    struct json_place place = { "", "" };
    const struct glv_json_value *gluster;
    struct glv_json_value *root;
    gluvirt_uri *uri = NULL;
    size_t skip;

    if (!text) {
        glv_set_error(EINVAL, "gluvirt_uri_from_qemu_json: the text is NULL");
        return NULL;
    }
    skip = strncmp(text, JSON_PREFIX, strlen(JSON_PREFIX)) ? 0 : strlen(JSON_PREFIX);
    if (!(root = glv_json_parse(text, skip)))
        return NULL;
    if (glv_json_kind(root) != GLV_JSON_OBJECT)
        json_error(&place, "the text is %s, not an object; a location looks like "
                   "{\"driver\":\"gluster\",\"volume\":...,\"path\":...,\"server\":[...]}",
                   glv_json_kind_name(glv_json_kind(root)));
    else if ((gluster = find_gluster_object(root, &place)))
        uri = uri_from_gluster_object(gluster, &place);
    glv_json_free(root);
    return uri;
}

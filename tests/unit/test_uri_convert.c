/*
 * gluvirt_uri_to/from_qemu_json and gluvirt_uri_to/from_libvirt_xml: exact
 * output, round trips through each form, escaping, every error path with
 * its message, and hostile input (deep nesting, huge numbers, truncation,
 * garbage) refused without a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

/* ------------------------------------------------------------ helpers */

static gluvirt_uri *parse_ok(const char *text)
{
    gluvirt_uri *uri = gluvirt_uri_parse(text);

    cr_assert_not_null(uri, "parse %s: %s", text, gluvirt_errmsg());
    return uri;
}

static gluvirt_uri *json_ok(const char *json)
{
    gluvirt_uri *uri = gluvirt_uri_from_qemu_json(json);

    cr_assert_not_null(uri, "from_qemu_json %s: %s", json, gluvirt_errmsg());
    return uri;
}

static gluvirt_uri *xml_ok(const char *xml)
{
    gluvirt_uri *uri = gluvirt_uri_from_libvirt_xml(xml);

    cr_assert_not_null(uri, "from_libvirt_xml %s: %s", xml, gluvirt_errmsg());
    return uri;
}

static void assert_refused(gluvirt_uri *uri, const char *input, const char *fragment)
{
    cr_assert_null(uri, "accepted: %s", input);
    cr_assert_eq(gluvirt_errno(), EINVAL, "errno %d for %s", gluvirt_errno(), input);
    cr_assert_not_null(strstr(gluvirt_errmsg(), fragment),
                       "message \"%s\" lacks \"%s\" (input %s)", gluvirt_errmsg(), fragment,
                       input);
}

static void json_fails(const char *json, const char *fragment)
{
    assert_refused(gluvirt_uri_from_qemu_json(json), json, fragment);
}

static void xml_fails(const char *xml, const char *fragment)
{
    assert_refused(gluvirt_uri_from_libvirt_xml(xml), xml, fragment);
}

/* A gluster object whose single server is the given JSON object text. */
static void json_server_fails(const char *server, const char *fragment)
{
    char json[512];

    snprintf(json, sizeof json, "{\"driver\":\"gluster\",\"volume\":\"v\",\"path\":\"p\","
             "\"server\":[{\"type\":\"inet\",\"host\":\"h\",\"port\":\"1\"},%s]}", server);
    json_fails(json, fragment);
}

/* A source whose single host is the given element text. */
static void xml_host_fails(const char *host, const char *fragment)
{
    char xml[512];

    snprintf(xml, sizeof xml, "<source protocol='gluster' name='v/p'>%s</source>", host);
    xml_fails(xml, fragment);
}

static void assert_json_round_trip(const gluvirt_uri *uri)
{
    char *json = gluvirt_uri_to_qemu_json(uri);
    gluvirt_uri *back;

    cr_assert_not_null(json, "to_qemu_json: %s", gluvirt_errmsg());
    back = json_ok(json);
    cr_assert(gluvirt_uri_equal(uri, back), "JSON round trip changed the location: %s", json);
    gluvirt_uri_free(back);
    gluvirt_free(json);
}

static void assert_xml_round_trip(const gluvirt_uri *uri)
{
    char *xml = gluvirt_uri_to_libvirt_xml(uri);
    gluvirt_uri *back;

    cr_assert_not_null(xml, "to_libvirt_xml: %s", gluvirt_errmsg());
    back = xml_ok(xml);
    cr_assert(gluvirt_uri_equal(uri, back), "XML round trip changed the location: %s", xml);
    gluvirt_uri_free(back);
    gluvirt_free(xml);
}

/* tcp, unix and IPv6 servers, in that order. */
static gluvirt_uri *three_servers(void)
{
    gluvirt_uri *uri = gluvirt_uri_new("vmstore", "images/disk1.qcow2");

    cr_assert_not_null(uri, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "gl1.example.com", 0), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, "/run/glusterd.socket"), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_tcp_server(uri, "fe80::1", 24008), 0, "%s",
                 gluvirt_errmsg());
    return uri;
}

/* ------------------------------------------------------------ QEMU JSON out */

Test(qemu_json, writes_one_line_with_every_server)
{
    gluvirt_uri *uri = three_servers();
    char *json = gluvirt_uri_to_qemu_json(uri);

    cr_assert_str_eq(json, "json:{\"driver\":\"gluster\",\"volume\":\"vmstore\","
                     "\"path\":\"images/disk1.qcow2\",\"server\":["
                     "{\"type\":\"inet\",\"host\":\"gl1.example.com\",\"port\":\"24007\"},"
                     "{\"type\":\"unix\",\"path\":\"/run/glusterd.socket\"},"
                     "{\"type\":\"inet\",\"host\":\"fe80::1\",\"port\":\"24008\"}]}");
    gluvirt_free(json);
    gluvirt_uri_free(uri);
}

Test(qemu_json, round_trips)
{
    static const char *const uris[] = {
        "gluster://host/vol/img", "gluster://10.0.0.5:24010/vol/dir/sub/img.qcow2",
        "gluster+unix:///vol/a.img?socket=/run/glusterd.socket",
        "gluster://[fe80::1]:1234/vol/img.raw",
    };
    gluvirt_uri *uri;
    size_t i;

    for (i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        uri = parse_ok(uris[i]);
        assert_json_round_trip(uri);
        gluvirt_uri_free(uri);
    }
    uri = three_servers();
    assert_json_round_trip(uri);
    gluvirt_uri_free(uri);
}

Test(qemu_json, writes_rdma_as_inet)
{
    gluvirt_uri *uri = parse_ok("gluster+rdma://h:1234/vol/img");
    char *json = gluvirt_uri_to_qemu_json(uri);
    gluvirt_uri *back = json_ok(json);

    cr_assert_not_null(strstr(json, "{\"type\":\"inet\",\"host\":\"h\",\"port\":\"1234\"}"),
                       "%s", json);
    cr_assert_eq(gluvirt_uri_server_transport(back, 0), GLUVIRT_TRANSPORT_TCP);
    gluvirt_uri_free(back);
    gluvirt_free(json);
    gluvirt_uri_free(uri);
}

Test(qemu_json, escapes_quotes_backslashes_and_keeps_utf8)
{
    gluvirt_uri *uri = gluvirt_uri_new("vol", "dir\"q\\b/it's \"x\" & <y> \xc3\xa9t\xc3\xa9.img");
    char *json;

    cr_assert_not_null(uri, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, "/run/a\"b\\c.sock"), 0, "%s",
                 gluvirt_errmsg());
    json = gluvirt_uri_to_qemu_json(uri);
    cr_assert_not_null(strstr(json, "\"path\":\"dir\\\"q\\\\b/it's \\\"x\\\" & <y> \xc3\xa9t\xc3\xa9.img\""),
                       "%s", json);
    cr_assert_not_null(strstr(json, "\"path\":\"/run/a\\\"b\\\\c.sock\""), "%s", json);
    assert_json_round_trip(uri);
    gluvirt_free(json);
    gluvirt_uri_free(uri);
}

Test(qemu_json, refuses_to_write_nothing)
{
    gluvirt_uri *uri = gluvirt_uri_new("vol", "img");

    cr_assert_null(gluvirt_uri_to_qemu_json(uri));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_not_null(strstr(gluvirt_errmsg(), "no server"), "%s", gluvirt_errmsg());
    cr_assert_null(gluvirt_uri_to_qemu_json(NULL));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    gluvirt_uri_free(uri);
}

/* ------------------------------------------------------------ QEMU JSON in */

Test(qemu_json, reads_qemu_documentation_example)
{
    gluvirt_uri *uri = json_ok(
        "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"gluster\",\"volume\":\"testvol\","
        "\"path\":\"a.img\",\"debug\":9,\"logfile\":\"/var/log/qemu-gluster.log\","
        "\"server\":[{\"type\":\"tcp\",\"host\":\"1.2.3.4\",\"port\":24007},"
        "{\"type\":\"unix\",\"socket\":\"/var/run/glusterd.socket\"}]}}");

    cr_assert_str_eq(gluvirt_uri_volume(uri), "testvol");
    cr_assert_str_eq(gluvirt_uri_path(uri), "a.img");
    cr_assert_eq(gluvirt_uri_server_count(uri), 2);
    cr_assert_str_eq(gluvirt_uri_server_host(uri, 0), "1.2.3.4");
    cr_assert_eq(gluvirt_uri_server_port(uri, 0), 24007);
    cr_assert_eq(gluvirt_uri_server_transport(uri, 1), GLUVIRT_TRANSPORT_UNIX);
    cr_assert_str_eq(gluvirt_uri_server_socket(uri, 1), "/var/run/glusterd.socket");
    gluvirt_uri_free(uri);
}

Test(qemu_json, reads_prefixless_text_filename_escapes_and_port_zero)
{
    gluvirt_uri *uri = json_ok(" { \"driver\" : \"gluster\" , \"volume\" : \"\\u0076ol\","
                               "\n\"path\":\"\\ud83d\\ude00\\/x.img\",\"server\":[{\"type\":"
                               "\"inet\",\"host\":\"h\",\"port\":\"0\"}] } ");

    cr_assert_str_eq(gluvirt_uri_volume(uri), "vol");
    cr_assert_str_eq(gluvirt_uri_path(uri), "\xf0\x9f\x98\x80/x.img");
    cr_assert_eq(gluvirt_uri_server_port(uri, 0), GLUVIRT_DEFAULT_PORT);
    gluvirt_uri_free(uri);

    uri = json_ok("json:{\"driver\":\"gluster\",\"filename\":\"gluster://h:123/v/dir/p\"}");
    cr_assert_str_eq(gluvirt_uri_server_host(uri, 0), "h");
    cr_assert_eq(gluvirt_uri_server_port(uri, 0), 123);
    cr_assert_str_eq(gluvirt_uri_path(uri), "dir/p");
    gluvirt_uri_free(uri);
}

Test(qemu_json, errors_missing_keys)
{
    json_fails("{\"driver\":\"gluster\",\"path\":\"p\",\"server\":[]}", "\"volume\" is missing");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"v\",\"server\":[]}", "\"path\" is missing");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"v\",\"path\":\"p\"}", "\"server\" is missing");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"v\",\"path\":\"p\",\"server\":[]}",
               "\"server\" is empty");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"v\",\"path\":\"p\",\"server\":{}}",
               "\"server\" is an object; it must be an array");
    json_fails("{\"volume\":\"v\"}", "\"driver\" is missing");
    json_fails("{\"driver\":\"qcow2\",\"file\":{\"volume\":\"v\"}}", "\"file.driver\" is missing");
    json_fails("{\"driver\":\"qcow2\",\"file\":{\"driver\":\"gluster\",\"path\":\"p\"}}",
               "\"file.volume\" is missing");
}

Test(qemu_json, errors_wrong_kinds_and_values)
{
    json_fails("{\"driver\":\"gluster\",\"volume\":7,\"path\":\"p\",\"server\":[]}",
               "\"volume\" is a number; it must be a string");
    json_fails("[\"driver\",\"gluster\"]", "the text is an array, not an object");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"\",\"path\":\"p\",\"server\":"
               "[{\"type\":\"inet\",\"host\":\"h\",\"port\":\"1\"}]}", "volume name is empty");
    json_fails("{\"driver\":\"gluster\",\"debug\":\"loud\"}", "\"debug\" must be an integer");
    json_fails("{\"driver\":\"gluster\",\"volume\":\"v\",\"bogus\":1}", "unknown key \"bogus\"");
    json_fails("{\"driver\":\"gluster\",\"server.0.host\":\"h\"}", "flattened dotted form");
    json_fails("{\"driver\":\"qcow2\",\"file.driver\":\"gluster\"}", "flattened dotted form");
}

Test(qemu_json, errors_driver_choice)
{
    json_fails("{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"/x\"}}",
               "\"file.driver\" is 'file', not 'gluster'");
    json_fails("{\"driver\":\"raw\"}", "there is no \"file\" object");
    json_fails("{\"driver\":\"qcow2\",\"file\":\"gluster://h/v/p\"}",
               "\"file\" is a string; it must be an object");
    json_fails("{\"driver\":\"gluster\",\"filename\":\"gluster://h/v/p\",\"server\":[]}",
               "both given");
    json_fails("{\"driver\":\"gluster\",\"filename\":\"gluster://h:99999/v/p\"}",
               "\"filename\": ");
}

Test(qemu_json, errors_name_the_server_index)
{
    json_server_fails("{\"host\":\"h\"}", "server[1]: \"type\" is missing");
    json_server_fails("{\"type\":\"vsock\",\"cid\":\"3\"}", "server[1]: type 'vsock' is not supported");
    json_server_fails("{\"type\":\"inet\",\"port\":\"1\"}", "server[1]: \"host\" is missing");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\"}", "server[1]: \"port\" is missing");
    json_server_fails("5", "server[1]: the server is a number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"\",\"port\":\"1\"}",
                      "server[1]: cannot add server '': the host is empty");
    json_fails("{\"driver\":\"raw\",\"file\":{\"driver\":\"gluster\",\"volume\":\"v\","
               "\"path\":\"p\",\"server\":[{\"type\":\"unix\"}]}}", "file.server[0]: ");
}

Test(qemu_json, errors_ports)
{
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"65536\"}",
                      "port '65536' is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"24x\"}",
                      "port '24x' is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"\"}",
                      "port '' is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":70000}",
                      "port 70000 is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":-1}",
                      "port -1 is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":24007.5}",
                      "port 24007.5 is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":true}",
                      "\"port\" is a boolean");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":1e999999}",
                      "port 1e999999 is not a valid port number");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":"
                      "123456789012345678901234567890123456789012345678901234567890}",
                      "is not a valid port number");
}

Test(qemu_json, errors_unsupported_server_keys)
{
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"1\",\"to\":\"9\"}",
                      "server[1]: \"to\" is not supported");
    json_server_fails("{\"type\":\"inet\",\"host\":\"h\",\"port\":\"1\",\"ipv4\":true}",
                      "\"ipv4\" is not supported");
    json_server_fails("{\"type\":\"tcp\",\"host\":\"h\",\"port\":\"1\",\"ipv6\":true}",
                      "\"ipv6\" is not supported");
    json_server_fails("{\"type\":\"unix\",\"path\":\"/s\",\"host\":\"h\"}",
                      "server[1]: unknown key \"host\"");
}

Test(qemu_json, errors_unix_servers)
{
    json_server_fails("{\"type\":\"unix\",\"path\":\"/a\",\"socket\":\"/b\"}",
                      "server[1]: conflicting \"path\" and \"socket\"");
    json_server_fails("{\"type\":\"unix\"}", "server[1]: \"path\" is missing");
    json_server_fails("{\"type\":\"unix\",\"path\":\"/run/\\u0001.sock\"}", "control character");
    json_server_fails("{\"type\":\"unix\",\"socket\":[]}", "\"socket\" is an array");
}

Test(qemu_json, errors_syntax_with_columns)
{
    json_fails("{\"driver\" \"gluster\"}", "expected ':' after object key");
    json_fails("{\"driver\" \"gluster\"}", "at column 11");
    json_fails("json:{\"a\" 1}", "at column 11");
    json_fails("{\n\"driver\":\"gluster\",\n\"volume\" 1}", "at line 3, column 10");
    json_fails("{\"driver\":\"gluster\"} x", "unexpected text after the end");
    json_fails("{\"driver\":\"gluster\",}", "expected a string key after ','");
    json_fails("{\"volume\":\"a\",\"volume\":\"b\"}", "duplicate key \"volume\"");
    json_fails("{\"volume\":\"\\udc00\"}", "lone low surrogate");
    json_fails("{\"volume\":\"\\ud800x\"}", "not followed by a low surrogate");
    json_fails("{\"volume\":\"a\\u0000b\"}", "NUL");
    json_fails("{\"volume\":\"\\q\"}", "invalid escape");
    json_fails("{\"volume\":\"\xc3\x28\"}", "invalid UTF-8");
    json_fails("{\"volume\":\"a\tb\"}", "raw control character");
    json_fails("{\"port\":024007}", "leading zeros");
    json_fails("{'driver':'gluster'}", "single quote");
    json_fails("", "expected a JSON value but found the end of the input");
    json_fails("json:", "expected a JSON value");
    json_fails("{\"driver\":tru}", "unknown word");
    json_fails(NULL, "NULL");
}

/* ------------------------------------------------------------ libvirt XML out */

Test(libvirt_xml, writes_disk_with_every_host)
{
    gluvirt_uri *uri = three_servers();
    gluvirt_uri *rdma = parse_ok("gluster+rdma://r.example.com:24009/vol/img");
    char *xml = gluvirt_uri_to_libvirt_xml(uri);
    char *rdma_xml = gluvirt_uri_to_libvirt_xml(rdma);

    cr_assert_str_eq(xml, "<disk type='network' device='disk'>\n"
                          "  <source protocol='gluster' name='vmstore/images/disk1.qcow2'>\n"
                          "    <host name='gl1.example.com' port='24007' transport='tcp'/>\n"
                          "    <host transport='unix' socket='/run/glusterd.socket'/>\n"
                          "    <host name='fe80::1' port='24008' transport='tcp'/>\n"
                          "  </source>\n"
                          "</disk>\n");
    cr_assert_not_null(strstr(rdma_xml, "<host name='r.example.com' port='24009' "
                                        "transport='rdma'/>"), "%s", rdma_xml);
    gluvirt_free(xml);
    gluvirt_free(rdma_xml);
    gluvirt_uri_free(rdma);
    gluvirt_uri_free(uri);
}

Test(libvirt_xml, round_trips)
{
    static const char *const uris[] = {
        "gluster://host/vol/img", "gluster+rdma://h:1234/vol/img",
        "gluster+unix:///vol/dir/a.img?socket=/run/glusterd.socket",
        "gluster://[fe80::1]/vol/img.raw",
    };
    gluvirt_uri *uri;
    size_t i;

    for (i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        uri = parse_ok(uris[i]);
        assert_xml_round_trip(uri);
        gluvirt_uri_free(uri);
    }
    uri = three_servers();
    assert_xml_round_trip(uri);
    gluvirt_uri_free(uri);
}

Test(libvirt_xml, escapes_markup_characters)
{
    gluvirt_uri *uri = gluvirt_uri_new("vol", "d&<a>/it's \"x\" \xc3\xa9.img");
    char *xml;

    cr_assert_not_null(uri, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_uri_add_unix_server(uri, "/run/a'b&c.sock"), 0, "%s",
                 gluvirt_errmsg());
    xml = gluvirt_uri_to_libvirt_xml(uri);
    cr_assert_not_null(strstr(xml, "name='vol/d&amp;&lt;a&gt;/it&apos;s &quot;x&quot; "
                                   "\xc3\xa9.img'"), "%s", xml);
    cr_assert_not_null(strstr(xml, "socket='/run/a&apos;b&amp;c.sock'"), "%s", xml);
    assert_xml_round_trip(uri);
    gluvirt_free(xml);
    gluvirt_uri_free(uri);
}

Test(libvirt_xml, refuses_to_write_nothing)
{
    gluvirt_uri *uri = gluvirt_uri_new("vol", "img");

    cr_assert_null(gluvirt_uri_to_libvirt_xml(uri));
    cr_assert_not_null(strstr(gluvirt_errmsg(), "no server"), "%s", gluvirt_errmsg());
    cr_assert_null(gluvirt_uri_to_libvirt_xml(NULL));
    cr_assert_eq(gluvirt_errno(), EINVAL);
    gluvirt_uri_free(uri);
}

/* ------------------------------------------------------------ libvirt XML in */

Test(libvirt_xml, reads_a_full_domain_disk)
{
    gluvirt_uri *uri = xml_ok(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- from virsh dumpxml -->\n"
        "<disk type=\"network\" device=\"disk\">\n"
        "  <driver name='qemu' type='qcow2' cache='none'/>\n"
        "  <source protocol=\"gluster\" name=\"vol/dir/sub/&#x43;&#97;t&amp;dog.img\">\n"
        "    <host name='gl1'/>\n"
        "    <host name='gl2' port='24010' transport='rdma'/>\n"
        "    <host transport='unix' socket='/run/glusterd.socket'/>\n"
        "  </source>\n"
        "  <target dev='vda' bus='virtio'/>\n"
        "</disk>\n");

    cr_assert_str_eq(gluvirt_uri_volume(uri), "vol");
    cr_assert_str_eq(gluvirt_uri_path(uri), "dir/sub/Cat&dog.img");
    cr_assert_eq(gluvirt_uri_server_count(uri), 3);
    cr_assert_eq(gluvirt_uri_server_transport(uri, 0), GLUVIRT_TRANSPORT_TCP);
    cr_assert_eq(gluvirt_uri_server_port(uri, 0), GLUVIRT_DEFAULT_PORT);
    cr_assert_eq(gluvirt_uri_server_transport(uri, 1), GLUVIRT_TRANSPORT_RDMA);
    cr_assert_eq(gluvirt_uri_server_port(uri, 1), 24010);
    cr_assert_str_eq(gluvirt_uri_server_socket(uri, 2), "/run/glusterd.socket");
    gluvirt_uri_free(uri);
}

Test(libvirt_xml, reads_a_bare_source)
{
    gluvirt_uri *uri = xml_ok("<source protocol='gluster' name='v/p'><host name='h' "
                              "port='0' transport='tcp'/></source>");

    cr_assert_str_eq(gluvirt_uri_server_host(uri, 0), "h");
    cr_assert_eq(gluvirt_uri_server_port(uri, 0), GLUVIRT_DEFAULT_PORT);
    gluvirt_uri_free(uri);
}

Test(libvirt_xml, errors_disk_and_source)
{
    xml_fails("<disk type='file'><source file='/x'/></disk>",
              "<disk type='file'> is not a network disk");
    xml_fails("<disk type='network'/>", "<disk> has no <source>");
    xml_fails("<disk><source/><source/></disk>", "second <source>");
    xml_fails("<domain/>", "the root element is <domain>");
    xml_fails("<source name='v/p'><host name='h'/></source>", "has no protocol");
    xml_fails("<source protocol='nbd' name='v/p'/>", "<source protocol='nbd'> is not a gluster");
    xml_fails("<source protocol='gluster'><host name='h'/></source>", "has no name");
    xml_fails("<source protocol='gluster' name='v'/>", "<source name='v'> is not 'VOLUME/PATH'");
    xml_fails("<source protocol='gluster' name='/p'/>", "is not 'VOLUME/PATH'");
    xml_fails("<source protocol='gluster' name='v/'/>", "is not 'VOLUME/PATH'");
    xml_fails("<source protocol='gluster' name='v/a/../b'><host name='h'/></source>",
              "'.' or '..' segment");
    xml_fails("<source protocol='gluster' name='v/p'><!-- <host name='h'/> --></source>",
              "at least one host is needed");
    xml_fails(NULL, "NULL");
}

Test(libvirt_xml, errors_hosts)
{
    xml_host_fails("<host port='1'/>", "<host> #1 at line 1, column 39: name is missing");
    xml_host_fails("<host name='h' port='http'/>", "port='http' is not a port number");
    xml_host_fails("<host name='h' port='65536'/>", "port='65536' is not a port number");
    xml_host_fails("<host name='h' port='-1'/>", "port='-1' is not a port number");
    xml_host_fails("<host name='h' port=''/>", "port='' is not a port number");
    xml_host_fails("<host name='h' socket='/s'/>", "socket= belongs to transport='unix'");
    xml_host_fails("<host transport='unix'/>", "socket is missing");
    xml_host_fails("<host transport='unix' socket='/s' name='h'/>",
                   "a unix host takes only socket=");
    xml_host_fails("<host transport='unix' socket='/run/&#1;.sock'/>", "names no character XML allows");
    xml_host_fails("<host transport='udp' name='h'/>", "transport='udp' is unknown");
    xml_host_fails("<host transport='rdma'/>", "a rdma host needs name=");
    xml_host_fails("<host transport='rdma' name='a b'/>", "no resolver accepts");
    xml_fails("<source protocol='gluster' name='v/p'>\n  <host name='a'/>\n"
              "  <host transport='bogus'/>\n</source>", "<host> #2 at line 3, column 3");
}

Test(libvirt_xml, errors_malformed_xml)
{
    xml_fails("<disk><source></disk>", "closing tag </disk> does not match <source> opened "
              "at line 1, column 7");
    xml_fails("<disk>\n  <source>", "<source> opened at line 2, column 3 is not closed");
    xml_fails("<disk a='1' a='2'/>", "attribute 'a' appears twice");
    xml_fails("<disk a='1'b='2'/>", "expected whitespace, '>' or '/>'");
    xml_fails("<disk a=1/>", "expected a quoted value");
    xml_fails("<disk a='<'/>", "'<' is not allowed in an attribute value");
    xml_fails("<disk a='&nbsp;'/>", "unknown entity '&nbsp;'");
    xml_fails("<disk a='AT&T'/>", "'&' must start an entity");
    xml_fails("<disk a='&#0;'/>", "names no character XML allows");
    xml_fails("<disk a='&#xD800;'/>", "names no character XML allows");
    xml_fails("<disk a='&#99999999999999999999;'/>", "names no character XML allows");
    xml_fails("<disk><![CDATA[x]]></disk>", "CDATA sections are not supported");
    xml_fails("<!DOCTYPE disk [<!ENTITY x 'y'>]><disk/>", "DOCTYPE is not supported");
    xml_fails("<disk/><disk/>", "a document has one root element");
    xml_fails("<?xml version='1.0' encoding='ISO-8859-1'?><disk/>", "encoding 'ISO-8859-1'");
    xml_fails("<disk><!-- a -- b --></disk>", "'--' is not allowed inside a comment");
    xml_fails("<disk a='\xff'/>", "invalid UTF-8 byte 0xff");
    xml_fails("<disk>\x01</disk>", "control character 0x01");
    xml_fails("", "the document is empty");
    xml_fails("gluster://h/v/p", "expected an element, found text");
}

/* ------------------------------------------------------------ hostile input */

static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t len = strlen(unit);
    char *text = malloc(len * times + strlen(tail) + 1);
    size_t i;

    cr_assert_not_null(text);
    for (i = 0; i < times; i++)
        memcpy(text + i * len, unit, len);
    strcpy(text + len * times, tail);
    return text;
}

Test(hostile, deep_nesting_is_refused)
{
    char *arrays = repeat("[", 100000, "");
    char *objects = repeat("{\"a\":", 70, "1");
    char *elements = repeat("<a>", 100000, "");

    json_fails(arrays, "nested deeper than 64 levels");
    json_fails(objects, "nested deeper than 64 levels");
    xml_fails(elements, "nested deeper than 64 levels");
    free(arrays);
    free(objects);
    free(elements);
}

Test(hostile, every_truncation_is_refused)
{
    gluvirt_uri *uri = three_servers();
    char *json = gluvirt_uri_to_qemu_json(uri);
    char *xml = gluvirt_uri_to_libvirt_xml(uri);
    size_t len, refused = 0, tries = 0;

    /* Every proper prefix of the JSON is unfinished; the XML's last byte is
     * a newline after the root, so its prefixes stop before that. */
    for (len = 0; len < strlen(json); len++, tries++) {
        char *cut = strndup(json, len);

        refused += gluvirt_uri_from_qemu_json(cut) == NULL && gluvirt_errno() == EINVAL;
        free(cut);
    }
    for (len = 0; len + 1 < strlen(xml); len++, tries++) {
        char *cut = strndup(xml, len);

        refused += gluvirt_uri_from_libvirt_xml(cut) == NULL && gluvirt_errno() == EINVAL;
        free(cut);
    }
    cr_assert_eq(refused, tries, "%zu of %zu truncations accepted", tries - refused, tries);
    gluvirt_free(json);
    gluvirt_free(xml);
    gluvirt_uri_free(uri);
}

/* Garbage made of the characters both syntaxes care about: no crash, and
 * anything accepted must still be a complete location. */
Test(hostile, garbage_is_refused_or_well_formed)
{
    static const char alphabet[] = "{}[]<>/\"'=:,&;#x0123456789-.eE\\u \n\tabcdgluster!?";
    unsigned long state = 12345;
    char text[96];
    size_t round, i, len, incomplete = 0;

    for (round = 0; round < 20000; round++) {
        gluvirt_uri *a, *b;

        len = (size_t)(state >> 16) % (sizeof text - 1);
        for (i = 0; i < len; i++) {
            state = state * 1103515245 + 12345;
            text[i] = alphabet[(state >> 16) % (sizeof alphabet - 1)];
        }
        text[len] = '\0';
        a = gluvirt_uri_from_qemu_json(text);
        b = gluvirt_uri_from_libvirt_xml(text);
        incomplete += (a && gluvirt_uri_server_count(a) == 0) ||
                      (b && gluvirt_uri_server_count(b) == 0);
        gluvirt_uri_free(a);
        gluvirt_uri_free(b);
    }
    cr_assert_eq(incomplete, 0, "%zu garbage inputs gave a location without servers",
                 incomplete);
}

/*
 * libFuzzer target for the URI module.  Any input: no crash, no leak, no
 * undefined behaviour.  An accepted URI must survive every conversion:
 * format -> parse, QEMU JSON -> back, libvirt XML -> back, each equal.
 * The same input is also fed to the JSON and XML readers directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Equal, except that QEMU's JSON has no rdma: it comes back as tcp. */
static int same_as_qemu_sees_it(const gluvirt_uri *a, const gluvirt_uri *b)
{
    size_t i, n = gluvirt_uri_server_count(a);

    if (!same_text(gluvirt_uri_volume(a), gluvirt_uri_volume(b)) ||
        !same_text(gluvirt_uri_path(a), gluvirt_uri_path(b)) || n != gluvirt_uri_server_count(b))
        return 0;
    for (i = 0; i < n; i++) {
        int ta = gluvirt_uri_server_transport(a, i), tb = gluvirt_uri_server_transport(b, i);

        if (ta == GLUVIRT_TRANSPORT_RDMA)
            ta = GLUVIRT_TRANSPORT_TCP;
        if (ta != tb || gluvirt_uri_server_port(a, i) != gluvirt_uri_server_port(b, i) ||
            !same_text(gluvirt_uri_server_host(a, i), gluvirt_uri_server_host(b, i)) ||
            !same_text(gluvirt_uri_server_socket(a, i), gluvirt_uri_server_socket(b, i)))
            return 0;
    }
    return 1;
}

static void check_back(const gluvirt_uri *uri, char *text, gluvirt_uri *(*reader)(const char *))
{
    gluvirt_uri *again;

    if (!text) {
        /* Every parsed URI has one server, so a writer fails only for bytes
         * that are not UTF-8, which JSON and XML cannot carry. */
        if (!strstr(gluvirt_errmsg(), "is not UTF-8"))
            abort();
        return;
    }
    again = reader(text);
    if (!again)
        abort();
    if (reader == gluvirt_uri_from_qemu_json ? !same_as_qemu_sees_it(uri, again)
                                             : !gluvirt_uri_equal(uri, again))
        abort();
    gluvirt_uri_free(again);
    gluvirt_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    gluvirt_uri *uri;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    uri = gluvirt_uri_parse(text);
    if (uri) {
        check_back(uri, gluvirt_uri_format(uri), gluvirt_uri_parse);
        check_back(uri, gluvirt_uri_to_qemu_json(uri), gluvirt_uri_from_qemu_json);
        check_back(uri, gluvirt_uri_to_libvirt_xml(uri), gluvirt_uri_from_libvirt_xml);
        gluvirt_uri_free(uri);
    }
    gluvirt_uri_free(gluvirt_uri_from_qemu_json(text));
    gluvirt_uri_free(gluvirt_uri_from_libvirt_xml(text));
    free(text);
    return 0;
}

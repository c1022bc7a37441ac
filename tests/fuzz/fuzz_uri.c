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

static void check_back(const gluvirt_uri *uri, char *text, gluvirt_uri *(*reader)(const char *))
{
    gluvirt_uri *again;

    if (!text)
        return; /* format refuses several servers; never happens for a parsed URI */
    again = reader(text);
    if (!again || !gluvirt_uri_equal(uri, again))
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
        char *formatted = gluvirt_uri_format(uri);

        if (!formatted)
            abort();
        check_back(uri, formatted, gluvirt_uri_parse);
        check_back(uri, gluvirt_uri_to_qemu_json(uri), gluvirt_uri_from_qemu_json);
        check_back(uri, gluvirt_uri_to_libvirt_xml(uri), gluvirt_uri_from_libvirt_xml);
        gluvirt_uri_free(uri);
    }
    gluvirt_uri_free(gluvirt_uri_from_qemu_json(text));
    gluvirt_uri_free(gluvirt_uri_from_libvirt_xml(text));
    free(text);
    return 0;
}

/*
 * A small XML reader for libvirt <disk> snippets, and an escaper for the
 * writer.  Not installed; nothing here is exported.
 *
 * The reader takes UTF-8 XML 1.0 with elements, attributes in single or
 * double quotes, self-closing tags, comments, processing instructions, an
 * XML declaration, the five predefined entities and numeric character
 * references.  Text content is checked and then dropped: disk XML keeps its
 * data in attributes.  It refuses DOCTYPE (no entity expansion, ever), CDATA
 * sections, encodings other than UTF-8, and nesting deeper than
 * GLV_XML_MAX_DEPTH.
 */
#ifndef GLUVIRT_XML_H
#define GLUVIRT_XML_H

#include <stddef.h>

#include "util/internal.h"

#define GLV_XML_MAX_DEPTH 64

/* More attributes on one element than this are refused. */
#define GLV_XML_MAX_ATTRIBUTES 256

struct glv_xml_attribute {
    char *name;
    char *value; /* entities decoded, whitespace characters turned into spaces */
};

struct glv_xml_element {
    char *name;
    unsigned line, column; /* of its '<', both 1-based; column counts bytes */
    struct glv_xml_attribute *attributes;
    size_t attribute_count;
    struct glv_xml_element **children; /* child elements, in document order */
    size_t child_count;
};

/*
 * Parse a whole document.  Returns its root element (free with
 * glv_xml_free) or NULL with the error recorded: EINVAL and
 * "invalid XML at line 3, column 5: closing tag </host> does not match
 * <source> opened at line 2, column 3", or ENOMEM.
 */
struct glv_xml_element *glv_xml_parse(const char *text);

/* Release a tree returned by glv_xml_parse.  Accepts NULL. */
void glv_xml_free(struct glv_xml_element *element);

/* The value of attribute name, or NULL when the element has none. */
const char *glv_xml_attribute(const struct glv_xml_element *element, const char *name);

/* Append s with & < > ' " written as entities, for attribute values. */
void glv_xml_append_escaped(struct glv_strbuf *sb, const char *s);

#endif /* GLUVIRT_XML_H */

/*
 * The XML reader behind gluvirt_uri_from_libvirt_xml and the escaper behind
 * gluvirt_uri_to_libvirt_xml.  See xml.h for what is accepted.
 *
 * One pass first checks that the whole text is UTF-8 without forbidden
 * control characters, so the recursive-descent parser after it only deals
 * with markup.  GLV_XML_MAX_DEPTH bounds the recursion.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xml.h"

struct xml_reader {
    const char *text;
    const char *p; /* next byte to read */
    int depth;
    /* Lines are counted once, up to counted_to, as the reader moves on. */
    const char *counted_to;
    const char *line_start;
    unsigned line;
};

static struct glv_xml_element *parse_element(struct xml_reader *r);

/* ------------------------------------------------------------ positions and errors */

static void locate(struct xml_reader *r, const char *at, unsigned *line, unsigned *column)
{
    if (at < r->counted_to) {
        r->counted_to = r->line_start = r->text;
        r->line = 1;
    }
    for (; r->counted_to < at; r->counted_to++)
        if (*r->counted_to == '\n') {
            r->line++;
            r->line_start = r->counted_to + 1;
        }
    *line = r->line;
    *column = (unsigned)(at - r->line_start) + 1;
}

static int reader_fail(struct xml_reader *r, const char *at, const char *fmt, ...)
    GLV_PRINTF(3, 4);

/* Record the error; returns -1 so callers can "return reader_fail(...)". */
static int reader_fail(struct xml_reader *r, const char *at, const char *fmt, ...)
{
    char what[768];
    unsigned line, column;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    locate(r, at, &line, &column);
    glv_set_error(EINVAL, "invalid XML at line %u, column %u: %s", line, column, what);
    return -1;
}

/* ------------------------------------------------------------ characters */

static int check_characters(struct xml_reader *r)
{
    const unsigned char *s = (const unsigned char *)r->text;
    size_t len;

    while (*s) {
        if (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
            return reader_fail(r, (const char *)s, "control character 0x%02x is not "
                               "allowed in XML", *s);
        if (!(len = glv_utf8_sequence_length(s)))
            return reader_fail(r, (const char *)s, "invalid UTF-8 byte 0x%02x; the text "
                               "must be UTF-8", *s);
        s += len;
    }
    return 0;
}

/* XML 1.0's Char production, for character references. */
static int is_xml_char(unsigned long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skip whitespace; nonzero when there was some. */
static int skip_space(struct xml_reader *r)
{
    const char *start = r->p;

    while (is_space(*r->p))
        r->p++;
    return r->p != start;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Names are ASCII letters, digits, "_:.-" and any non-ASCII character;
 * they cannot start with a digit, '.' or '-'. */
static size_t name_length(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;

    while (((u[n] | 0x20) >= 'a' && (u[n] | 0x20) <= 'z') || u[n] == '_' || u[n] == ':' ||
           u[n] >= 0x80 || (n > 0 && ((u[n] >= '0' && u[n] <= '9') || u[n] == '.' ||
                                      u[n] == '-')))
        n++;
    return n;
}

static char *read_name(struct xml_reader *r, const char *expected)
{
    size_t len = name_length(r->p);
    char *name;

    if (len == 0) {
        reader_fail(r, r->p, "expected %s", expected);
        return NULL;
    }
    if (!(name = strndup(r->p, len)))
        glv_set_oom();
    r->p += len;
    return name;
}

/* ------------------------------------------------------------ references */

static int read_character_reference(struct xml_reader *r, const char *start,
                                    struct glv_strbuf *out)
{
    unsigned long cp = 0, base = r->p[1] == 'x' ? 16 : 10;
    size_t digits = 0;
    const char *hex = "0123456789abcdef", *hit;

    r->p += base == 16 ? 2 : 1;
    while (*r->p && (hit = strchr(hex, *r->p | 0x20)) && (unsigned long)(hit - hex) < base) {
        cp = cp * base + (unsigned long)(hit - hex);
        if (cp > 0x10ffff)
            cp = 0x110000; /* saturate: already out of range */
        digits++;
        r->p++;
    }
    if (digits == 0 || *r->p != ';')
        return reader_fail(r, start, "malformed character reference; write &#DDD; or "
                           "&#xHHH;");
    r->p++;
    if (!is_xml_char(cp))
        return reader_fail(r, start, "character reference %.*s names no character XML "
                           "allows", (int)(r->p - start > 20 ? 20 : r->p - start), start);
    if (out)
        glv_utf8_append(out, cp);
    return 0;
}

/* Decode the reference at r->p ('&') into out (NULL: check only). */
static int read_reference(struct xml_reader *r, struct glv_strbuf *out)
{
    static const struct { const char *name; char c; } predefined[] = {
        { "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' }, { "apos;", '\'' }, { "quot;", '"' },
    };
    const char *start = r->p++;
    size_t i, len;

    if (*r->p == '#')
        return read_character_reference(r, start, out);
    for (i = 0; i < sizeof predefined / sizeof predefined[0]; i++)
        if (starts_with(r->p, predefined[i].name)) {
            r->p += strlen(predefined[i].name);
            if (out)
                glv_strbuf_putc(out, predefined[i].c);
            return 0;
        }
    len = name_length(r->p);
    if (len > 0 && r->p[len] == ';')
        return reader_fail(r, start, "unknown entity '&%.*s;'; XML knows &lt; &gt; &amp; "
                           "&apos; &quot; and character references such as &#38;",
                           (int)(len > 40 ? 40 : len), r->p);
    return reader_fail(r, start, "'&' must start an entity; write a literal '&' as &amp;");
}

/* ------------------------------------------------------------ attributes */

static char *read_attribute_value(struct xml_reader *r)
{
    struct glv_strbuf sb = { 0 };
    const char *start = r->p;
    char quote = *r->p;

    if (quote != '\'' && quote != '"') {
        reader_fail(r, r->p, "expected a quoted value; attribute values take single or "
                    "double quotes");
        return NULL;
    }
    for (r->p++; *r->p != quote;) {
        if (*r->p == '\0') {
            reader_fail(r, start, "attribute value is not closed (no matching %c)", quote);
            goto fail;
        } else if (*r->p == '<') {
            reader_fail(r, r->p, "'<' is not allowed in an attribute value; write &lt;");
            goto fail;
        } else if (*r->p == '&') {
            if (read_reference(r, &sb) < 0)
                goto fail;
        } else {
            /* XML turns line ends and tabs in attribute values into spaces. */
            if (*r->p == '\r' && r->p[1] == '\n')
                r->p++;
            glv_strbuf_putc(&sb, is_space(*r->p) ? ' ' : *r->p);
            r->p++;
        }
    }
    r->p++;
    return glv_strbuf_finish(&sb);
fail:
    glv_strbuf_release(&sb);
    return NULL;
}

/* Make room for one more item: returns the (maybe moved) array, or NULL
 * with ENOMEM recorded and the old array left as it was. */
static void *grow_for_one_more(void *items, size_t count, size_t *cap, size_t item_size)
{
    size_t new_cap;
    void *grown;

    if (count < *cap)
        return items;
    new_cap = *cap ? *cap * 2 : 4;
    if (new_cap > (size_t)-1 / item_size || !(grown = realloc(items, new_cap * item_size))) {
        glv_set_oom();
        return NULL;
    }
    *cap = new_cap;
    return grown;
}

static int parse_attribute(struct xml_reader *r, struct glv_xml_element *element,
                           size_t *cap)
{
    struct glv_xml_attribute attribute = { NULL, NULL }, *grown;
    const char *start = r->p;

    if (!(attribute.name = read_name(r, "an attribute name, '>' or '/>'")))
        return -1;
    skip_space(r);
    if (*r->p != '=') {
        reader_fail(r, r->p, "expected '=' after attribute name '%.40s'", attribute.name);
        goto fail;
    }
    r->p++;
    skip_space(r);
    if (!(attribute.value = read_attribute_value(r)))
        goto fail;
    if (glv_xml_attribute(element, attribute.name)) {
        reader_fail(r, start, "attribute '%.40s' appears twice on <%.40s>", attribute.name,
                    element->name);
        goto fail;
    }
    if (element->attribute_count >= GLV_XML_MAX_ATTRIBUTES) {
        reader_fail(r, start, "<%.40s> has more than %d attributes", element->name,
                    GLV_XML_MAX_ATTRIBUTES);
        goto fail;
    }
    grown = grow_for_one_more(element->attributes, element->attribute_count, cap,
                              sizeof attribute);
    if (!grown)
        goto fail;
    element->attributes = grown;
    element->attributes[element->attribute_count++] = attribute;
    return 0;
fail:
    free(attribute.name);
    free(attribute.value);
    return -1;
}

/* ------------------------------------------------------------ markup */

static int skip_comment(struct xml_reader *r)
{
    const char *start = r->p, *dashes = strstr(r->p + 4, "--");

    if (!dashes)
        return reader_fail(r, start, "comment is not closed; end it with -->");
    if (dashes[2] != '>')
        return reader_fail(r, dashes, "'--' is not allowed inside a comment");
    r->p = dashes + 3;
    return 0;
}

static int skip_processing_instruction(struct xml_reader *r)
{
    const char *start = r->p, *end;
    size_t len = name_length(r->p + 2);

    if (len == 0)
        return reader_fail(r, start, "expected a target name after '<?'");
    if (len == 3 && strncasecmp(r->p + 2, "xml", 3) == 0)
        return reader_fail(r, start, "an XML declaration <?xml ...?> may only come first "
                           "in the document");
    if (!(end = strstr(r->p + 2, "?>")))
        return reader_fail(r, start, "processing instruction is not closed; end it with ?>");
    r->p = end + 2;
    return 0;
}

/* <?xml version="1.0" encoding="UTF-8"?>: only the encoding matters. */
static int parse_declaration(struct xml_reader *r)
{
    char name[] = "?xml";
    struct glv_xml_element declaration = { name, 0, 0, NULL, 0, NULL, 0 };
    const char *start = r->p, *encoding;
    size_t cap = 0, i;
    int status = 0;

    for (r->p += 5; status == 0;) {
        int spaced = skip_space(r);

        if (starts_with(r->p, "?>"))
            break;
        if (!spaced || *r->p == '\0')
            status = reader_fail(r, r->p, "expected '?>' to end the XML declaration");
        else
            status = parse_attribute(r, &declaration, &cap);
    }
    encoding = glv_xml_attribute(&declaration, "encoding");
    if (status == 0 && encoding && strcasecmp(encoding, "UTF-8") != 0 &&
        strcasecmp(encoding, "US-ASCII") != 0)
        status = reader_fail(r, start, "encoding '%.40s' is not supported; convert the "
                             "text to UTF-8", encoding);
    for (i = 0; i < declaration.attribute_count; i++) {
        free(declaration.attributes[i].name);
        free(declaration.attributes[i].value);
    }
    free(declaration.attributes);
    if (status == 0)
        r->p += 2;
    return status;
}

/* Whitespace, comments and processing instructions around the root. */
static int skip_misc(struct xml_reader *r)
{
    for (;;) {
        skip_space(r);
        if (starts_with(r->p, "<!--")) {
            if (skip_comment(r) < 0)
                return -1;
        } else if (starts_with(r->p, "<?")) {
            if (skip_processing_instruction(r) < 0)
                return -1;
        } else if (starts_with(r->p, "<!DOCTYPE")) {
            return reader_fail(r, r->p, "DOCTYPE is not supported (it could define "
                               "entities); remove it");
        } else {
            return 0;
        }
    }
}

/* ------------------------------------------------------------ elements */

/* After the name: attributes, then '>' (returns 0) or '/>' (returns 1). */
static int parse_start_tag_rest(struct xml_reader *r, struct glv_xml_element *element)
{
    size_t cap = 0;

    for (;;) {
        int spaced = skip_space(r);

        if (r->p[0] == '/' && r->p[1] == '>') {
            r->p += 2;
            return 1;
        }
        if (*r->p == '>') {
            r->p++;
            return 0;
        }
        if (*r->p == '\0')
            return reader_fail(r, r->p, "the input ends inside the start tag of <%.40s>",
                               element->name);
        if (!spaced)
            return reader_fail(r, r->p, "expected whitespace, '>' or '/>' in the start "
                               "tag of <%.40s>", element->name);
        if (parse_attribute(r, element, &cap) < 0)
            return -1;
    }
}

static int parse_end_tag(struct xml_reader *r, const struct glv_xml_element *element)
{
    const char *start = r->p;
    size_t len = name_length(r->p + 2);

    if (len != strlen(element->name) || strncmp(r->p + 2, element->name, len) != 0)
        return reader_fail(r, start, "closing tag </%.*s> does not match <%.40s> opened at "
                           "line %u, column %u", (int)(len > 40 ? 40 : len), r->p + 2,
                           element->name, element->line, element->column);
    r->p += 2 + len;
    skip_space(r);
    if (*r->p != '>')
        return reader_fail(r, r->p, "expected '>' to end the closing tag </%.40s>",
                           element->name);
    r->p++;
    return 0;
}

static int add_child(struct glv_xml_element *element, struct glv_xml_element *child,
                     size_t *cap)
{
    struct glv_xml_element **grown;

    grown = grow_for_one_more(element->children, element->child_count, cap, sizeof child);
    if (!grown) {
        glv_xml_free(child);
        return -1;
    }
    element->children = grown;
    element->children[element->child_count++] = child;
    return 0;
}

/* Text (checked, then dropped), comments and child elements up to the end tag. */
static int parse_content(struct xml_reader *r, struct glv_xml_element *element)
{
    struct glv_xml_element *child;
    size_t cap = 0;

    for (;;) {
        while (*r->p && *r->p != '<') {
            if (*r->p != '&')
                r->p++;
            else if (read_reference(r, NULL) < 0)
                return -1;
        }
        if (*r->p == '\0')
            return reader_fail(r, r->p, "<%.40s> opened at line %u, column %u is not "
                               "closed; add </%.40s>", element->name, element->line,
                               element->column, element->name);
        if (starts_with(r->p, "</"))
            return parse_end_tag(r, element);
        if (starts_with(r->p, "<!--")) {
            if (skip_comment(r) < 0)
                return -1;
        } else if (starts_with(r->p, "<![CDATA[")) {
            return reader_fail(r, r->p, "CDATA sections are not supported; write the text "
                               "with entities such as &lt;");
        } else if (starts_with(r->p, "<!")) {
            return reader_fail(r, r->p, "unexpected '<!' markup inside <%.40s>",
                               element->name);
        } else if (starts_with(r->p, "<?")) {
            if (skip_processing_instruction(r) < 0)
                return -1;
        } else if (!(child = parse_element(r)) || add_child(element, child, &cap) < 0) {
            return -1;
        }
    }
}

static struct glv_xml_element *parse_element(struct xml_reader *r)
{
    struct glv_xml_element *element = calloc(1, sizeof *element);
    int self_closing;

    if (!element) {
        glv_set_oom();
        return NULL;
    }
    locate(r, r->p, &element->line, &element->column);
    if (++r->depth > GLV_XML_MAX_DEPTH) {
        reader_fail(r, r->p, "elements nested deeper than %d levels", GLV_XML_MAX_DEPTH);
        goto fail;
    }
    r->p++;
    if (!(element->name = read_name(r, "an element name after '<'")) ||
        (self_closing = parse_start_tag_rest(r, element)) < 0 ||
        (!self_closing && parse_content(r, element) < 0))
        goto fail;
    r->depth--;
    return element;
fail:
    glv_xml_free(element);
    return NULL;
}

struct glv_xml_element *glv_xml_parse(const char *text)
{
    struct xml_reader r = { text, text, 0, text, text, 1 };
    struct glv_xml_element *root;

    if (check_characters(&r) < 0)
        return NULL;
    if (starts_with(r.p, "\xef\xbb\xbf")) /* a UTF-8 byte order mark */
        r.p += 3;
    if (starts_with(r.p, "<?xml") && (is_space(r.p[5]) || r.p[5] == '?') &&
        parse_declaration(&r) < 0)
        return NULL;
    if (skip_misc(&r) < 0)
        return NULL;
    if (*r.p != '<') {
        reader_fail(&r, r.p, *r.p ? "expected an element, found text"
                                  : "the document is empty; expected an element such as <disk>");
        return NULL;
    }
    if (!(root = parse_element(&r)))
        return NULL;
    if (skip_misc(&r) < 0 || (*r.p != '\0' &&
                              reader_fail(&r, r.p, "unexpected content after the root "
                                          "element <%.40s>; a document has one root "
                                          "element", root->name))) {
        glv_xml_free(root);
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------ tree */

void glv_xml_free(struct glv_xml_element *element)
{
    size_t i;

    if (!element)
        return;
    for (i = 0; i < element->attribute_count; i++) {
        free(element->attributes[i].name);
        free(element->attributes[i].value);
    }
    for (i = 0; i < element->child_count; i++)
        glv_xml_free(element->children[i]);
    free(element->attributes);
    free(element->children);
    free(element->name);
    free(element);
}

const char *glv_xml_attribute(const struct glv_xml_element *element, const char *name)
{
    size_t i;

    for (i = 0; i < element->attribute_count; i++)
        if (strcmp(element->attributes[i].name, name) == 0)
            return element->attributes[i].value;
    return NULL;
}

void glv_xml_append_escaped(struct glv_strbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': glv_strbuf_puts(sb, "&amp;"); break;
        case '<': glv_strbuf_puts(sb, "&lt;"); break;
        case '>': glv_strbuf_puts(sb, "&gt;"); break;
        case '\'': glv_strbuf_puts(sb, "&apos;"); break;
        case '"': glv_strbuf_puts(sb, "&quot;"); break;
        default: glv_strbuf_putc(sb, *s);
        }
    }
}

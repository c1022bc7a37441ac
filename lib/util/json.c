/*
 * The strict JSON reader behind gluvirt_uri_from_qemu_json, and the string
 * writer behind gluvirt_uri_to_qemu_json.  See json.h for what is refused.
 *
 * The reader is recursive descent; GLV_JSON_MAX_DEPTH bounds the recursion,
 * so hostile input cannot exhaust the stack.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

struct glv_json_member {
    char *key;
    size_t key_offset; /* where the key starts, for duplicate-key messages */
    struct glv_json_value *value;
};

struct glv_json_value {
    enum glv_json_kind kind;
    char *text; /* string: decoded UTF-8; number: its source text */
    size_t count;
    struct glv_json_value **elements; /* array */
    struct glv_json_member *members;  /* object, in document order */
};

struct json_reader {
    const char *text; /* the whole input, for line and column numbers */
    const char *p;    /* next byte to read */
    int depth;
};

static struct glv_json_value *parse_value(struct json_reader *r);

/* ------------------------------------------------------------ errors */

static void reader_fail(const struct json_reader *r, const char *at, const char *fmt, ...)
    GLV_PRINTF(3, 4);

static void reader_fail(const struct json_reader *r, const char *at, const char *fmt, ...)
{
    char what[512];
    const char *s, *line_start = r->text;
    unsigned line = 1;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    for (s = r->text; s < at; s++)
        if (*s == '\n') {
            line++;
            line_start = s + 1;
        }
    if (line == 1 && !strchr(at, '\n'))
        glv_set_error(EINVAL, "invalid JSON: %s at column %zu", what,
                      (size_t)(at - r->text) + 1);
    else
        glv_set_error(EINVAL, "invalid JSON: %s at line %u, column %zu", what, line,
                      (size_t)(at - line_start) + 1);
}

/* Name a byte for a message: 'x' when printable, else its hex value. */
static const char *describe_byte(unsigned char c, char buf[16])
{
    if (c == '\0')
        return "the end of the input";
    if (c == '\'')
        return "a single quote (JSON strings take double quotes)";
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static void fail_unexpected(const struct json_reader *r, const char *expected)
{
    char buf[16];

    reader_fail(r, r->p, "expected %s but found %s", expected,
                describe_byte((unsigned char)*r->p, buf));
}

/* ------------------------------------------------------------ tree */

static struct glv_json_value *value_new(enum glv_json_kind kind)
{
    struct glv_json_value *v = calloc(1, sizeof *v);

    if (!v)
        glv_set_oom();
    else
        v->kind = kind;
    return v;
}

void glv_json_free(struct glv_json_value *value)
{
    size_t i;

    if (!value)
        return;
    for (i = 0; value->kind == GLV_JSON_ARRAY && i < value->count; i++)
        glv_json_free(value->elements[i]);
    for (i = 0; value->kind == GLV_JSON_OBJECT && i < value->count; i++) {
        free(value->members[i].key);
        glv_json_free(value->members[i].value);
    }
    free(value->elements);
    free(value->members);
    free(value->text);
    free(value);
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

/* ------------------------------------------------------------ scanning */

static void skip_whitespace(struct json_reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ------------------------------------------------------------ strings */

/* Read the 4 hex digits of a \u escape; r->p is on the 'u'. */
static long read_hex4(struct json_reader *r)
{
    long cp = 0;
    int i, digit;

    for (i = 1; i <= 4; i++) {
        digit = hex_value(r->p[i]);
        if (digit < 0) {
            reader_fail(r, r->p - 1, "\\u must be followed by 4 hexadecimal digits");
            return -1;
        }
        cp = cp * 16 + digit;
    }
    r->p += 5;
    return cp;
}

/* Decode a \uXXXX escape, pairing surrogates; r->p is on the 'u'. */
static int read_unicode_escape(struct json_reader *r, struct glv_strbuf *sb)
{
    const char *escape = r->p - 1;
    long cp = read_hex4(r), low;

    if (cp < 0)
        return -1;
    if (cp == 0) {
        reader_fail(r, escape, "\\u0000 (a NUL character) is not allowed in a string");
        return -1;
    }
    if (cp >= 0xdc00 && cp <= 0xdfff) {
        reader_fail(r, escape, "lone low surrogate \\u%04lX; a low surrogate must "
                    "follow a high one (\\uD800-\\uDBFF)", cp);
        return -1;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (r->p[0] != '\\' || r->p[1] != 'u') {
            reader_fail(r, escape, "high surrogate \\u%04lX is not followed by a low "
                        "surrogate \\uDC00-\\uDFFF", cp);
            return -1;
        }
        r->p++;
        if ((low = read_hex4(r)) < 0)
            return -1;
        if (low < 0xdc00 || low > 0xdfff) {
            reader_fail(r, escape, "high surrogate \\u%04lX is followed by \\u%04lX, "
                        "which is not a low surrogate", cp, low);
            return -1;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    glv_utf8_append(sb, (unsigned long)cp);
    return 0;
}

/* Decode one escape sequence; r->p is on the backslash. */
static int read_escape(struct json_reader *r, struct glv_strbuf *sb)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    char buf[16];

    r->p++;
    if (*r->p == 'u')
        return read_unicode_escape(r, sb);
    if (*r->p == '\0') {
        reader_fail(r, r->p - 1, "the input ends inside an escape sequence");
        return -1;
    }
    if (!(hit = strchr(from, *r->p))) {
        reader_fail(r, r->p - 1, "invalid escape: a backslash followed by %s; the "
                    "escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                    describe_byte((unsigned char)*r->p, buf));
        return -1;
    }
    glv_strbuf_putc(sb, to[hit - from]);
    r->p++;
    return 0;
}

/* Read a string literal into a new C string; r->p is on the opening quote. */
static char *read_string(struct json_reader *r)
{
    const char *start = r->p++;
    struct glv_strbuf sb = { 0 };
    size_t len;

    while (*r->p != '"') {
        unsigned char c = (unsigned char)*r->p;

        if (c == '\0') {
            reader_fail(r, start, "string is not closed (no '\"' before the end)");
            goto fail;
        }
        if (c < 0x20) {
            reader_fail(r, r->p, "raw control character 0x%02x in a string; write it "
                        "as an escape such as \\n or \\u%04x", c, c);
            goto fail;
        }
        if (c == '\\') {
            if (read_escape(r, &sb) < 0)
                goto fail;
            continue;
        }
        len = glv_utf8_sequence_length((const unsigned char *)r->p);
        if (len == 0) {
            reader_fail(r, r->p, "invalid UTF-8 byte 0x%02x in a string", c);
            goto fail;
        }
        glv_strbuf_append(&sb, r->p, len);
        r->p += len;
    }
    r->p++;
    return glv_strbuf_finish(&sb);
fail:
    glv_strbuf_release(&sb);
    return NULL;
}

static struct glv_json_value *parse_string(struct json_reader *r)
{
    struct glv_json_value *v = value_new(GLV_JSON_STRING);

    if (v && !(v->text = read_string(r))) {
        glv_json_free(v);
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------ scalars */

static int skip_digits_after(struct json_reader *r, const char *after)
{
    if (!is_digit(*r->p)) {
        fail_unexpected(r, after);
        return -1;
    }
    while (is_digit(*r->p))
        r->p++;
    return 0;
}

static struct glv_json_value *parse_number(struct json_reader *r)
{
    const char *start = r->p;
    struct glv_json_value *v;

    if (*r->p == '-')
        r->p++;
    if (*r->p == '0' && is_digit(r->p[1])) {
        reader_fail(r, start, "leading zeros are not allowed in numbers");
        return NULL;
    }
    if (skip_digits_after(r, "a digit in a number") < 0)
        return NULL;
    if (*r->p == '.') {
        r->p++;
        if (skip_digits_after(r, "a digit after the decimal point") < 0)
            return NULL;
    }
    if (*r->p == 'e' || *r->p == 'E') {
        r->p++;
        if (*r->p == '+' || *r->p == '-')
            r->p++;
        if (skip_digits_after(r, "a digit in the exponent") < 0)
            return NULL;
    }
    if (!(v = value_new(GLV_JSON_NUMBER)))
        return NULL;
    if (!(v->text = strndup(start, (size_t)(r->p - start)))) {
        glv_set_oom();
        glv_json_free(v);
        return NULL;
    }
    return v;
}

static struct glv_json_value *parse_literal(struct json_reader *r)
{
    static const struct { const char *word; enum glv_json_kind kind; } literals[] = {
        { "true", GLV_JSON_TRUE }, { "false", GLV_JSON_FALSE }, { "null", GLV_JSON_NULL },
    };
    size_t i, len;

    for (i = 0; i < sizeof literals / sizeof literals[0]; i++) {
        len = strlen(literals[i].word);
        if (strncmp(r->p, literals[i].word, len) == 0) {
            r->p += len;
            return value_new(literals[i].kind);
        }
    }
    reader_fail(r, r->p, "unknown word; JSON values are objects, arrays, strings, "
                "numbers, true, false and null (strings need double quotes)");
    return NULL;
}

/* ------------------------------------------------------------ containers */

static int enter_container(struct json_reader *r)
{
    if (++r->depth > GLV_JSON_MAX_DEPTH) {
        reader_fail(r, r->p, "objects and arrays nested deeper than %d levels",
                    GLV_JSON_MAX_DEPTH);
        return -1;
    }
    r->p++;
    skip_whitespace(r);
    return 0;
}

static struct glv_json_value *parse_array(struct json_reader *r)
{
    struct glv_json_value *array, *element, **grown;
    size_t cap = 0;

    if (enter_container(r) < 0 || !(array = value_new(GLV_JSON_ARRAY)))
        return NULL;
    if (*r->p == ']')
        goto done;
    for (;;) {
        if (!(element = parse_value(r)))
            goto fail;
        grown = grow_for_one_more(array->elements, array->count, &cap, sizeof element);
        if (!grown) {
            glv_json_free(element);
            goto fail;
        }
        array->elements = grown;
        array->elements[array->count++] = element;
        skip_whitespace(r);
        if (*r->p == ']')
            break;
        if (*r->p != ',') {
            fail_unexpected(r, "',' or ']' after an array element");
            goto fail;
        }
        r->p++;
    }
done:
    r->p++;
    r->depth--;
    return array;
fail:
    glv_json_free(array);
    return NULL;
}

static int compare_members_by_key(const void *a, const void *b)
{
    const struct glv_json_member *x = *(const struct glv_json_member *const *)a;
    const struct glv_json_member *y = *(const struct glv_json_member *const *)b;
    int order = strcmp(x->key, y->key);

    if (order)
        return order;
    return x->key_offset < y->key_offset ? -1 : x->key_offset > y->key_offset;
}

/* Sorting keeps the check O(n log n) even for hostile objects. */
static int check_duplicate_keys(struct json_reader *r, const struct glv_json_value *object)
{
    const struct glv_json_member **sorted;
    size_t i;
    int status = 0;

    if (object->count < 2)
        return 0;
    if (!(sorted = malloc(object->count * sizeof *sorted))) {
        glv_set_oom();
        return -1;
    }
    for (i = 0; i < object->count; i++)
        sorted[i] = &object->members[i];
    qsort(sorted, object->count, sizeof *sorted, compare_members_by_key);
    for (i = 1; i < object->count && status == 0; i++)
        if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
            reader_fail(r, r->text + sorted[i]->key_offset,
                        "duplicate key \"%.100s\"; each key may appear once", sorted[i]->key);
            status = -1;
        }
    free(sorted);
    return status;
}

static int parse_member(struct json_reader *r, struct glv_json_value *object, size_t *cap)
{
    struct glv_json_member member = { NULL, (size_t)(r->p - r->text), NULL };
    struct glv_json_member *grown;

    if (*r->p != '"') {
        fail_unexpected(r, object->count ? "a string key after ','"
                                         : "a string key or '}' after '{'");
        return -1;
    }
    if (!(member.key = read_string(r)))
        return -1;
    skip_whitespace(r);
    if (*r->p != ':') {
        fail_unexpected(r, "':' after object key");
        free(member.key);
        return -1;
    }
    r->p++;
    if (!(member.value = parse_value(r)) ||
        !(grown = grow_for_one_more(object->members, object->count, cap, sizeof member))) {
        free(member.key);
        glv_json_free(member.value);
        return -1;
    }
    object->members = grown;
    object->members[object->count++] = member;
    return 0;
}

static struct glv_json_value *parse_object(struct json_reader *r)
{
    struct glv_json_value *object;
    size_t cap = 0;

    if (enter_container(r) < 0 || !(object = value_new(GLV_JSON_OBJECT)))
        return NULL;
    if (*r->p == '}')
        goto done;
    for (;;) {
        if (parse_member(r, object, &cap) < 0)
            goto fail;
        skip_whitespace(r);
        if (*r->p == '}')
            break;
        if (*r->p != ',') {
            fail_unexpected(r, "',' or '}' after an object member");
            goto fail;
        }
        r->p++;
        skip_whitespace(r);
    }
    if (check_duplicate_keys(r, object) < 0)
        goto fail;
done:
    r->p++;
    r->depth--;
    return object;
fail:
    glv_json_free(object);
    return NULL;
}

static struct glv_json_value *parse_value(struct json_reader *r)
{
    skip_whitespace(r);
    switch (*r->p) {
    case '{':
        return parse_object(r);
    case '[':
        return parse_array(r);
    case '"':
        return parse_string(r);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(r);
    case 't': case 'f': case 'n':
        return parse_literal(r);
    default:
        fail_unexpected(r, "a JSON value");
        return NULL;
    }
}

struct glv_json_value *glv_json_parse(const char *text, size_t skip)
{
    struct json_reader r = { text, text + skip, 0 };
    struct glv_json_value *root = parse_value(&r);

    if (!root)
        return NULL;
    skip_whitespace(&r);
    if (*r.p != '\0') {
        reader_fail(&r, r.p, "unexpected text after the end of the JSON value");
        glv_json_free(root);
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------ lookups */

enum glv_json_kind glv_json_kind(const struct glv_json_value *value)
{
    return value->kind;
}

const char *glv_json_kind_name(enum glv_json_kind kind)
{
    switch (kind) {
    case GLV_JSON_NULL: return "null";
    case GLV_JSON_FALSE:
    case GLV_JSON_TRUE: return "a boolean";
    case GLV_JSON_NUMBER: return "a number";
    case GLV_JSON_STRING: return "a string";
    case GLV_JSON_ARRAY: return "an array";
    case GLV_JSON_OBJECT: return "an object";
    }
    return "an unknown kind of value";
}

const char *glv_json_string(const struct glv_json_value *value)
{
    return value && value->kind == GLV_JSON_STRING ? value->text : NULL;
}

const char *glv_json_number_text(const struct glv_json_value *value)
{
    return value && value->kind == GLV_JSON_NUMBER ? value->text : NULL;
}

enum glv_json_int_result glv_json_integer(const struct glv_json_value *value,
                                          long long min, long long max, long long *out)
{
    const char *s = glv_json_number_text(value);
    unsigned long long magnitude = 0, limit;
    int negative;

    if (!s || strpbrk(s, ".eE"))
        return GLV_JSON_INT_NOT_INTEGER;
    negative = (*s == '-');
    s += negative;
    limit = negative ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; *s; s++) {
        unsigned digit = (unsigned)(*s - '0');

        if (magnitude > (limit - digit) / 10)
            return GLV_JSON_INT_OUT_OF_RANGE;
        magnitude = magnitude * 10 + digit;
    }
    if (negative)
        *out = magnitude ? -(long long)(magnitude - 1) - 1 : 0;
    else
        *out = (long long)magnitude;
    return (*out < min || *out > max) ? GLV_JSON_INT_OUT_OF_RANGE : GLV_JSON_INT_OK;
}

size_t glv_json_count(const struct glv_json_value *value)
{
    if (!value || (value->kind != GLV_JSON_ARRAY && value->kind != GLV_JSON_OBJECT))
        return 0;
    return value->count;
}

const struct glv_json_value *glv_json_array_at(const struct glv_json_value *array, size_t i)
{
    if (!array || array->kind != GLV_JSON_ARRAY || i >= array->count)
        return NULL;
    return array->elements[i];
}

const struct glv_json_value *glv_json_member(const struct glv_json_value *object,
                                             const char *key)
{
    size_t i;

    if (!object || object->kind != GLV_JSON_OBJECT)
        return NULL;
    for (i = 0; i < object->count; i++)
        if (strcmp(object->members[i].key, key) == 0)
            return object->members[i].value;
    return NULL;
}

const char *glv_json_member_key_at(const struct glv_json_value *object, size_t i)
{
    if (!object || object->kind != GLV_JSON_OBJECT || i >= object->count)
        return NULL;
    return object->members[i].key;
}

const struct glv_json_value *glv_json_member_value_at(const struct glv_json_value *object,
                                                      size_t i)
{
    if (!object || object->kind != GLV_JSON_OBJECT || i >= object->count)
        return NULL;
    return object->members[i].value;
}

/* ------------------------------------------------------------ writer */

void glv_json_append_string(struct glv_strbuf *sb, const char *s)
{
    static const char special[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
    const char *hit;

    glv_strbuf_putc(sb, '"');
    for (; *s; s++) {
        if ((hit = memchr(special, *s, sizeof special - 1))) {
            glv_strbuf_putc(sb, '\\');
            glv_strbuf_putc(sb, letter[hit - special]);
        } else if ((unsigned char)*s < 0x20) {
            glv_strbuf_printf(sb, "\\u%04x", (unsigned)*s);
        } else {
            glv_strbuf_putc(sb, *s);
        }
    }
    glv_strbuf_putc(sb, '"');
}

/*
 * A small, strict JSON reader (RFC 8259) and a string writer, for QEMU's
 * "json:" image locations.  Not installed; nothing here is exported.
 *
 * The reader builds a read-only tree.  It refuses what RFC 8259 forbids
 * (trailing commas, single quotes, comments, leading zeros, raw control
 * characters, invalid UTF-8, lone surrogates, text after the value) and, to
 * keep every string a C string, an escaped NUL (\u0000).  Duplicate object
 * keys are refused too, as QEMU does, so a mistake cannot hide behind
 * "the last one wins".
 */
#ifndef GLUVIRT_JSON_H
#define GLUVIRT_JSON_H

#include <stddef.h>

#include "util/internal.h"

/* Objects and arrays nested deeper than this are refused. */
#define GLV_JSON_MAX_DEPTH 64

enum glv_json_kind {
    GLV_JSON_NULL,
    GLV_JSON_FALSE,
    GLV_JSON_TRUE,
    GLV_JSON_NUMBER,
    GLV_JSON_STRING,
    GLV_JSON_ARRAY,
    GLV_JSON_OBJECT
};

struct glv_json_value;

/*
 * Parse text + skip as one JSON value.  Columns in error messages count
 * bytes from text itself (1-based), so a caller that skipped a prefix such
 * as "json:" still reports the column the user sees; a text of several
 * lines gets "line L, column C".
 *
 * Returns the tree (free with glv_json_free) or NULL with the error recorded:
 * EINVAL and "invalid JSON: expected ':' after object key at column 17", or
 * ENOMEM.
 */
struct glv_json_value *glv_json_parse(const char *text, size_t skip);

/* Release a tree returned by glv_json_parse.  Accepts NULL. */
void glv_json_free(struct glv_json_value *value);

enum glv_json_kind glv_json_kind(const struct glv_json_value *value);

/* "a string", "an object", ... for messages such as "'port' is an array". */
const char *glv_json_kind_name(enum glv_json_kind kind);

/* The decoded UTF-8 text of a string, or NULL when value is not a string. */
const char *glv_json_string(const struct glv_json_value *value);

/* The source text of a number ("24007", "1e3"), or NULL for other kinds. */
const char *glv_json_number_text(const struct glv_json_value *value);

enum glv_json_int_result {
    GLV_JSON_INT_OK,
    GLV_JSON_INT_NOT_INTEGER, /* not a number, or has a fraction or exponent */
    GLV_JSON_INT_OUT_OF_RANGE
};

/* Read a number written as a plain integer and check min <= n <= max. */
enum glv_json_int_result glv_json_integer(const struct glv_json_value *value,
                                          long long min, long long max,
                                          long long *out);

/* Elements of an array or members of an object; 0 for other kinds. */
size_t glv_json_count(const struct glv_json_value *value);

/* Element i of an array, or NULL when out of range or not an array. */
const struct glv_json_value *glv_json_array_at(const struct glv_json_value *array,
                                               size_t i);

/* Member named key of an object, or NULL when absent or not an object. */
const struct glv_json_value *glv_json_member(const struct glv_json_value *object,
                                             const char *key);

/* Key and value of member i of an object, in document order. */
const char *glv_json_member_key_at(const struct glv_json_value *object, size_t i);
const struct glv_json_value *glv_json_member_value_at(const struct glv_json_value *object,
                                                      size_t i);

/*
 * Append s as a JSON string literal, quotes included: '"' and '\\' are
 * escaped, control characters become \n, \t ... or \u00XX, and other bytes
 * (UTF-8 included) are copied as they are.
 */
void glv_json_append_string(struct glv_strbuf *sb, const char *s);

#endif /* GLUVIRT_JSON_H */

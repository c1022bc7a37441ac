/* Output in qemu-img's words, shared by the commands that print it
 * (qemu_output.c): sizes, QEMU's pretty-printed JSON, snapshot lists. */
#ifndef GLUVIRT_TOOLS_QEMU_OUTPUT_H
#define GLUVIRT_TOOLS_QEMU_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gluvirt/gluvirt.h>

/* A size as qemu-img writes it ("977 KiB", "0.977 MiB"). */
void format_human_size(uint64_t bytes, char *out, size_t out_size);

/* Pretty-printed JSON as QEMU writes it: four spaces a level, one member a
 * line, "key": value. */
struct json {
    FILE *out;
    int depth;
    int members[8]; /* members written so far at each level */
};

/* Members (key NULL inside arrays), nested objects and arrays. */
void json_open(struct json *j, const char *key, char bracket);
void json_close(struct json *j, char bracket);
void json_int(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, int64_t value);
void json_string(struct json *j, const char *key, const char *value);

/* The "snapshots" array of qemu-img info's JSON (count of them). */
void json_snapshots(struct json *j, gluvirt_image *image, int count);

/* One line of a snapshot list (the heading when index < 0), columns as
 * qemu-img's. */
void human_snapshot(gluvirt_image *image, int index);

#endif

/*
 * Output in qemu-img's words, shared by info and snapshot: sizes, QEMU's
 * pretty-printed JSON, snapshot list lines.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "commands.h"
#include "qemu_output.h"

/*
 * A size as qemu-img writes it: the largest binary unit that leaves a
 * value under 1000 (so 1000000 bytes is "977 KiB", 1024000 is "0.977 MiB"),
 * with three significant digits.
 */
void format_human_size(uint64_t bytes, char *out, size_t out_size)
{
    static const char *const units[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    uint64_t threshold = 1000; /* 1000 * 1024^(unit - 1): where the next unit starts */
    unsigned unit = 0;

    while (unit + 1 < sizeof units / sizeof units[0] && bytes >= threshold) {
        unit++;
        if (threshold > UINT64_MAX / 1024)
            break;
        threshold *= 1024;
    }
    snprintf(out, out_size, "%0.3g %sB", (double)bytes / (double)(UINT64_C(1) << (10 * unit)),
             units[unit]);
}

static const char *snapshot_string(gluvirt_image *image, int i, gluvirt_snapshot_key key)
{
    const char *s = gluvirt_image_snapshot_string(image, i, key);

    return s ? s : "";
}



static void json_member(struct json *j, const char *key)
{
    fputs(j->members[j->depth]++ ? ",\n" : "\n", j->out);
    fprintf(j->out, "%*s", 4 * j->depth, "");
    if (key) {
        print_json_string(j->out, key);
        fputs(": ", j->out);
    }
}

void json_open(struct json *j, const char *key, char bracket)
{
    if (j->depth > 0 || key)
        json_member(j, key);
    fputc(bracket, j->out);
    j->depth++;
    j->members[j->depth] = 0;
}

void json_close(struct json *j, char bracket)
{
    j->depth--;
    fprintf(j->out, "\n%*s%c", 4 * j->depth, "", bracket);
}

void json_int(struct json *j, const char *key, int64_t value)
{
    json_member(j, key);
    fprintf(j->out, "%" PRId64, value);
}

void json_bool(struct json *j, const char *key, int64_t value)
{
    json_member(j, key);
    fputs(value ? "true" : "false", j->out);
}

void json_string(struct json *j, const char *key, const char *value)
{
    json_member(j, key);
    print_json_string(j->out, value);
}

void json_snapshots(struct json *j, gluvirt_image *image, int count)
{
    int i;

    json_open(j, "snapshots", '[');
    for (i = 0; i < count; i++) {
        int64_t clock = gluvirt_image_snapshot_int(image, i, GLUVIRT_SNAPSHOT_VM_CLOCK_NSEC);
        int64_t icount = gluvirt_image_snapshot_int(image, i, GLUVIRT_SNAPSHOT_ICOUNT);

        if (clock < 0)
            clock = 0;
        json_open(j, NULL, '{');
        if (icount >= 0)
            json_int(j, "icount", icount);
        json_int(j, "vm-clock-nsec", clock % 1000000000);
        json_string(j, "name", snapshot_string(image, i, GLUVIRT_SNAPSHOT_NAME));
        json_int(j, "date-sec", gluvirt_image_snapshot_int(image, i, GLUVIRT_SNAPSHOT_DATE_SEC));
        json_int(j, "date-nsec",
                 gluvirt_image_snapshot_int(image, i, GLUVIRT_SNAPSHOT_DATE_NSEC));
        json_int(j, "vm-clock-sec", clock / 1000000000);
        json_string(j, "id", snapshot_string(image, i, GLUVIRT_SNAPSHOT_ID));
        json_int(j, "vm-state-size",
                 gluvirt_image_snapshot_int(image, i, GLUVIRT_SNAPSHOT_VM_STATE_SIZE));
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* One snapshot line (or the heading when index < 0), columns as qemu-img's. */
void human_snapshot(gluvirt_image *image, int index)
{
    char size[32], date[32] = "", clock_text[64], icount_text[32] = "";
    int64_t clock, seconds, icount, date_sec;
    struct tm tm;
    time_t t;

    if (index < 0) {
        printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
               "ICOUNT");
        return;
    }
    format_human_size((uint64_t)gluvirt_image_snapshot_int(image, index,
                                                           GLUVIRT_SNAPSHOT_VM_STATE_SIZE),
                      size, sizeof size);
    date_sec = gluvirt_image_snapshot_int(image, index, GLUVIRT_SNAPSHOT_DATE_SEC);
    t = (time_t)date_sec;
    if (localtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    clock = gluvirt_image_snapshot_int(image, index, GLUVIRT_SNAPSHOT_VM_CLOCK_NSEC);
    if (clock < 0)
        clock = 0;
    seconds = clock / 1000000000;
    snprintf(clock_text, sizeof clock_text, "%02d:%02d:%02d.%03d", (int)(seconds / 3600),
             (int)((seconds / 60) % 60), (int)(seconds % 60),
             (int)((clock / 1000000) % 1000));
    icount = gluvirt_image_snapshot_int(image, index, GLUVIRT_SNAPSHOT_ICOUNT);
    if (icount >= 0)
        snprintf(icount_text, sizeof icount_text, "%" PRId64, icount);
    printf("%-9s %-16s %8s%20s%13s%11s\n", snapshot_string(image, index, GLUVIRT_SNAPSHOT_ID),
           snapshot_string(image, index, GLUVIRT_SNAPSHOT_NAME), size, date, clock_text,
           icount_text);
}

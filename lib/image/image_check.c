/*
 * gluvirt_image_check: the image layer's side of a check.  The format
 * driver does the work (format.h's check op); this file checks the
 * caller's flags against how the image was opened and hands the report
 * out as an opaque result.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <gluvirt/check.h>

#include "image/image_internal.h"
#include "util/internal.h"

struct gluvirt_check_result {
    struct glv_check_report r;
};

/* The last line of a report whose lines were cut short: how many more. */
static void note_dropped(struct glv_check_report *r)
{
    char **grown, *line;

    if (!r->messages_dropped ||
        asprintf(&line, "(%" PRIu64 " more lines not kept)", r->messages_dropped) < 0)
        return;
    if (!(grown = realloc(r->messages, (r->message_count + 1) * sizeof *grown))) {
        free(line);
        return;
    }
    r->messages = grown;
    r->messages[r->message_count++] = line;
}

GLUVIRT_API int gluvirt_image_check(gluvirt_image *image, unsigned flags,
                                    gluvirt_check_result **result)
{
    struct gluvirt_check_result *out;
    unsigned fix = 0;

    if (result)
        *result = NULL;
    if (!image || !result) {
        glv_set_error(EINVAL, "gluvirt_image_check: %s is NULL", image ? "result" : "the image");
        return -1;
    }
    if (flags & ~GLUVIRT_CHECK_REPAIR_ALL) {
        glv_set_error(EINVAL, "gluvirt_image_check: unknown flags 0x%x; say "
                      "GLUVIRT_CHECK_REPAIR_LEAKS or GLUVIRT_CHECK_REPAIR_ALL", flags);
        return -1;
    }
    if (!image->format->ops->check) {
        glv_set_error(ENOTSUP, "%s: This image format does not support checks (a %s image "
                      "has no metadata to check)", image->name, image->format->ops->name);
        return -1;
    }
    if (flags & GLUVIRT_CHECK_REPAIR_LEAKS)
        fix |= GLV_CHECK_FIX_LEAKS;
    if ((flags & GLUVIRT_CHECK_REPAIR_ALL) == GLUVIRT_CHECK_REPAIR_ALL)
        fix |= GLV_CHECK_FIX_ERRORS;
    if (fix && !image->writable && !image->repairable) {
        glv_set_error(EROFS, "%s: a repair needs the image opened writable, or with "
                      "gluvirt_open_options_set_repair; it was opened read-only", image->name);
        return -1;
    }
    if (!(out = calloc(1, sizeof *out))) {
        glv_set_oom();
        return -1;
    }
    if (image->format->ops->check(image->format, fix, image->writable || image->repairable,
                                  &out->r) < 0) {
        gluvirt_check_result_free(out);
        return -1;
    }
    if (fix && (out->r.leaks_fixed || out->r.corruptions_fixed)) {
        /* As qemu-img: the numbers of a second check, with the first's fixes. */
        struct glv_check_report again = {0};
        uint64_t leaks_fixed = out->r.leaks_fixed, corruptions_fixed = out->r.corruptions_fixed;

        if (image->format->ops->check(image->format, 0, 0, &again) < 0) {
            glv_check_report_release(&again);
            gluvirt_check_result_free(out);
            return -1;
        }
        again.leaks_fixed = leaks_fixed;
        again.corruptions_fixed = corruptions_fixed;
        /* The lines of both checks: what was repaired, then what is left. */
        for (size_t i = 0; i < again.message_count; i++)
            glv_check_note(&out->r, "%s", again.messages[i]);
        out->r.messages_dropped += again.messages_dropped;
        glv_check_report_release(&again);
        again.messages = out->r.messages;
        again.message_count = out->r.message_count;
        again.messages_dropped = out->r.messages_dropped;
        out->r = again;
    }
    note_dropped(&out->r);
    *result = out;
    return 0;
}

GLUVIRT_API int64_t gluvirt_check_result_value(const gluvirt_check_result *result,
                                               gluvirt_check_value key)
{
    const struct glv_check_report *r = result ? &result->r : NULL;
    uint64_t v;

    if (!r) {
        glv_set_error(EINVAL, "gluvirt_check_result_value: the result is NULL");
        return -1;
    }
    switch (key) {
    case GLUVIRT_CHECK_CORRUPTIONS: v = r->corruptions; break;
    case GLUVIRT_CHECK_LEAKS: v = r->leaks; break;
    case GLUVIRT_CHECK_CHECK_ERRORS: v = r->check_errors; break;
    case GLUVIRT_CHECK_CORRUPTIONS_FIXED: v = r->corruptions_fixed; break;
    case GLUVIRT_CHECK_LEAKS_FIXED: v = r->leaks_fixed; break;
    case GLUVIRT_CHECK_IMAGE_END_OFFSET: v = r->image_end_offset; break;
    case GLUVIRT_CHECK_TOTAL_CLUSTERS: v = r->total_clusters; break;
    case GLUVIRT_CHECK_ALLOCATED_CLUSTERS: v = r->allocated_clusters; break;
    case GLUVIRT_CHECK_FRAGMENTED_CLUSTERS: v = r->fragmented_clusters; break;
    case GLUVIRT_CHECK_COMPRESSED_CLUSTERS: v = r->compressed_clusters; break;
    default:
        glv_set_error(EINVAL, "gluvirt_check_result_value: unknown key %d", (int)key);
        return -1;
    }
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

GLUVIRT_API size_t gluvirt_check_result_message_count(const gluvirt_check_result *result)
{
    return result ? result->r.message_count : 0;
}

GLUVIRT_API const char *gluvirt_check_result_message(const gluvirt_check_result *result,
                                                     size_t index)
{
    if (!result || index >= result->r.message_count) {
        glv_set_error(EINVAL, "gluvirt_check_result_message: no line %zu (the result has %zu)",
                      index, result ? result->r.message_count : 0);
        return NULL;
    }
    return result->r.messages[index];
}

GLUVIRT_API void gluvirt_check_result_free(gluvirt_check_result *result)
{
    if (!result)
        return;
    glv_check_report_release(&result->r);
    free(result);
}

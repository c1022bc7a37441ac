/*
 * The one size parser of the gluvirt command: create's SIZE and -o
 * cluster_size, map's offsets, bench's request sizes, measure's --size and
 * resize's [+|-]SIZE all read bytes the same way qemu-img reads them.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size_arg.h"

int parse_size(const char *text, uint64_t max, uint64_t *out)
{
    static const char units[] = "bkmgtpe";
    const char *p = text, *fraction = NULL, *unit_at;
    unsigned long long whole;
    uint64_t multiplier = 1, value;
    const char *u;
    char *end;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -1; /* also refuses a sign, which strtoull would accept */
    errno = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        whole = strtoull(p, &end, 16);
        if (errno || end == p + 2 || *end || whole > max)
            return -1;
        *out = whole;
        return 0;
    }
    whole = strtoull(p, &end, 10);
    if (errno)
        return -1;
    if (*end == '.') {
        fraction = end;
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    }
    unit_at = end;
    if (*unit_at) {
        char lower = (char)(*unit_at | 0x20);

        if (!(u = strchr(units, lower)) || !*u || unit_at[1])
            return -1;
        multiplier = UINT64_C(1) << (10 * (u - units));
    }
    if (fraction && multiplier == 1)
        return -1;
    if (whole > UINT64_MAX / multiplier)
        return -1;
    value = whole * multiplier;
    if (fraction) {
        /* Bytes below one are dropped, as qemu-img does: "1.0001k" is 1024. */
        long double part = strtold(fraction, NULL) * (long double)multiplier;

        if ((long double)(UINT64_MAX - value) < part)
            return -1;
        value += (uint64_t)part;
    }
    if (value > max)
        return -1;
    *out = value;
    return 0;
}

int size_arg(const char *command, const char *what, const char *text, uint64_t max,
             uint64_t *out)
{
    if (parse_size(text, max, out) == 0)
        return 0;
    fprintf(stderr, "gluvirt %s: %s '%s': not a size from 0 to %" PRIu64 " bytes; write a "
                    "number with an optional suffix k, M, G, T, P or E (powers of 1024), "
                    "e.g. 10G, 1.5M, 512, 0x1000\n",
            command, what, text, max);
    return -1;
}

int resize_size_arg(const char *command, const char *text, int *sign, uint64_t *out)
{
    *sign = text[0] == '+' ? 1 : text[0] == '-' ? -1 : 0;
    return size_arg(command, "SIZE", text + (*sign != 0), INT64_MAX, out);
}

/* UTF-8: checking and encoding, shared by the JSON and XML readers and writers. */
#include "config.h"

#include "util/internal.h"

size_t glv_utf8_sequence_length(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len, i;

    if (s[0] < 0x80)
        return 1;
    len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
        : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (len == 0)
        return 0;
    if (s[0] == 0xe0 || s[0] == 0xf0)
        lo = s[0] == 0xe0 ? 0xa0 : 0x90; /* overlong forms */
    else if (s[0] == 0xed || s[0] == 0xf4)
        hi = s[0] == 0xed ? 0x9f : 0x8f; /* surrogates; above U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int glv_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len;

    while (*p) {
        if (!(len = glv_utf8_sequence_length(p)))
            return 0;
        p += len;
    }
    return 1;
}

void glv_utf8_append(struct glv_strbuf *sb, unsigned long cp)
{
    static const unsigned char lead[] = {0x00, 0xc0, 0xe0, 0xf0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;
    char out[4];

    for (i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)(lead[n - 1] | cp);
    glv_strbuf_append(sb, out, n);
}

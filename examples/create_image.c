/*
 * create_image: make a new disk image on a gluster volume (or in a local
 * file) the way a management tool provisions a guest's disk, then open it
 * to check what was made.
 *
 *   create_image [-f raw|qcow2] [-b BACKING -F raw|qcow2] [-o] TARGET SIZE
 *
 * SIZE is in bytes, or with a suffix k, M, G or T (powers of 1024); 0 with
 * -b takes the backing image's size.  -o replaces an existing file; without
 * it, creating over an existing image fails (EEXIST) and leaves it alone.
 * On a volume, nothing is mounted and there is no 10 s glfs_fini wait: the
 * file is created through the pool's gfapi client.
 *
 * Build: cc create_image.c $(pkg-config --cflags --libs gluvirt)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

static int parse_format(const char *name, gluvirt_format *out)
{
    if (strcmp(name, "raw") == 0)
        *out = GLUVIRT_FORMAT_RAW;
    else if (strcmp(name, "qcow2") == 0)
        *out = GLUVIRT_FORMAT_QCOW2;
    else
        return -1;
    return 0;
}

/* "10G" -> 10737418240; -1 for anything else. */
static int parse_size(const char *text, uint64_t *out)
{
    static const char units[] = "kmgt";
    const char *unit;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);

    if (end == text || *text == '-')
        return -1;
    if (*end) {
        unsigned shift;

        if (end[1] || !(unit = strchr(units, end[0] | 0x20)))
            return -1;
        shift = 10 * (unsigned)(unit - units + 1);
        if (value > UINT64_MAX >> shift)
            return -1;
        value <<= shift;
    }
    *out = value;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: create_image [-f raw|qcow2] [-b BACKING -F raw|qcow2] [-o] "
                    "TARGET SIZE\n");
}

int main(int argc, char **argv)
{
    gluvirt_format format = GLUVIRT_FORMAT_RAW, backing_format = GLUVIRT_FORMAT_RAW;
    const char *backing = NULL, *target;
    gluvirt_create_options *options;
    gluvirt_open_options *open_options;
    gluvirt_image *image;
    int overwrite = 0, opt, status = 1;
    uint64_t size;

    while ((opt = getopt(argc, argv, "f:b:F:o")) != -1) {
        switch (opt) {
        case 'f':
            if (parse_format(optarg, &format) < 0)
                goto bad_usage;
            break;
        case 'b':
            backing = optarg;
            break;
        case 'F':
            if (parse_format(optarg, &backing_format) < 0)
                goto bad_usage;
            break;
        case 'o':
            overwrite = 1;
            break;
        default:
            goto bad_usage;
        }
    }
    if (argc - optind != 2 || parse_size(argv[optind + 1], &size) < 0)
        goto bad_usage;
    target = argv[optind];
    if (backing && size == 0)
        size = GLUVIRT_CREATE_SIZE_OF_BACKING;

    options = gluvirt_create_options_new();
    open_options = gluvirt_open_options_new();
    if (!options || !open_options || gluvirt_create_options_set_format(options, format) < 0 ||
        gluvirt_create_options_set_overwrite(options, overwrite) < 0 ||
        (backing && gluvirt_create_options_set_backing(options, backing, backing_format) < 0) ||
        gluvirt_open_options_set_format(open_options, format) < 0) {
        fprintf(stderr, "create_image: %s\n", gluvirt_errmsg());
        goto out;
    }

    /* No pool: a one-shot tool can let the library make a private one.  A
     * long-running manager passes its own pool and reuses the connection. */
    if (gluvirt_image_create(NULL, target, size, options) < 0) {
        fprintf(stderr, "create_image: %s\n", gluvirt_errmsg());
        goto out;
    }
    image = gluvirt_image_open(NULL, target, open_options);
    if (!image) {
        fprintf(stderr, "create_image: created, but: %s\n", gluvirt_errmsg());
        goto out;
    }
    printf("%s: %s, %" PRId64 " bytes\n", target, gluvirt_image_format(image),
           gluvirt_image_size(image));
    gluvirt_image_close(image);
    status = 0;
out:
    gluvirt_open_options_free(open_options);
    gluvirt_create_options_free(options);
    return status;

bad_usage:
    usage();
    return 2;
}

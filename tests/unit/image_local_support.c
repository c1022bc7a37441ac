/*
 * What the local-file image suites share (tests/unit/image_local_support.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "image_local_support.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

char test_dir[PATH_MAX];

void make_test_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(test_dir, sizeof test_dir, "%s/gluvirt-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(test_dir), "mkdtemp %s: %s", test_dir, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

void remove_test_dir(void)
{
    if (test_dir[0])
        nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path in the test's directory; each call returns a new buffer. */
char *test_path(const char *name)
{
    char *path;

    cr_assert_neq(asprintf(&path, "%s/%s", test_dir, name), -1);
    return path;
}

/* Predictable bytes for offset i of pattern seed. */
unsigned char pattern_byte(uint64_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u + seed * 40503u + (i >> 13)) >> 7);
}

void fill_pattern(unsigned char *buf, size_t count, uint64_t offset, unsigned seed)
{
    for (size_t i = 0; i < count; i++)
        buf[i] = pattern_byte(offset + i, seed);
}

/* A file of size bytes holding pattern seed (or zeros: seed 0). */
char *make_file(const char *name, size_t size, unsigned seed)
{
    char *path = test_path(name);
    unsigned char *data = calloc(1, size ? size : 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    cr_assert_not_null(data);
    cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
    if (seed)
        fill_pattern(data, size, 0, seed);
    cr_assert_eq(write(fd, data, size), (ssize_t)size);
    cr_assert_eq(close(fd), 0);
    free(data);
    return path;
}

/* The whole file as the kernel sees it, independent of the library. */
unsigned char *read_file(const char *path, size_t *size)
{
    struct stat st;
    unsigned char *data;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(fstat(fd, &st), 0);
    data = malloc((size_t)st.st_size + 1);
    cr_assert_not_null(data);
    cr_assert_eq(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *size = (size_t)st.st_size;
    return data;
}

gluvirt_open_options *options_for(int writable, gluvirt_format format)
{
    gluvirt_open_options *options = gluvirt_open_options_new();

    cr_assert_not_null(options, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_format(options, format), 0, "%s", gluvirt_errmsg());
    return options;
}

gluvirt_image *open_image(const char *path, int writable)
{
    gluvirt_open_options *options = options_for(writable, GLUVIRT_FORMAT_RAW);
    gluvirt_image *image = gluvirt_image_open(NULL, path, options);

    gluvirt_open_options_free(options); /* the image keeps what it needs */
    cr_assert_not_null(image, "open %s: %s", path, gluvirt_errmsg());
    return image;
}

void assert_error(int expected_errno, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected_errno, "errno %d (%s), expected %d; message: %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected_errno, gluvirt_errmsg());
    if (fragment)
        cr_assert(strstr(gluvirt_errmsg(), fragment), "message '%s' lacks '%s'",
                  gluvirt_errmsg(), fragment);
}

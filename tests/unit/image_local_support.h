/*
 * What the local-file image suites (test_image_local, test_image_local_errors)
 * share: a temporary directory per test, files of predictable bytes, opening
 * them raw, and checking the library's errno and message.
 */
#ifndef GLUVIRT_TESTS_IMAGE_LOCAL_SUPPORT_H
#define GLUVIRT_TESTS_IMAGE_LOCAL_SUPPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

/* The test's own directory, made by make_test_dir (a suite's .init) and
 * removed with all it holds by remove_test_dir (its .fini). */
extern char test_dir[PATH_MAX];
void make_test_dir(void);
void remove_test_dir(void);

/* A path in the test's directory; each call returns a new buffer. */
char *test_path(const char *name);

/* Predictable bytes for offset i of pattern seed. */
unsigned char pattern_byte(uint64_t i, unsigned seed);
void fill_pattern(unsigned char *buf, size_t count, uint64_t offset, unsigned seed);

/* A file of size bytes holding pattern seed (or zeros: seed 0). */
char *make_file(const char *name, size_t size, unsigned seed);

/* The whole file as the kernel sees it, independent of the library. */
unsigned char *read_file(const char *path, size_t *size);

gluvirt_open_options *options_for(int writable, gluvirt_format format);

/* path opened raw, read-only or writable; fails the test if it does not open. */
gluvirt_image *open_image(const char *path, int writable);

/* The last call failed with expected_errno and a message holding fragment
 * (any message: NULL). */
void assert_error(int expected_errno, const char *fragment);

#endif

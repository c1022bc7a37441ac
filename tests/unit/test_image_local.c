/*
 * The synchronous image API on the local-file backend (temporary files, no
 * server): transfers at any offset and length, the end of the image, mode
 * and range errors, zeroing, discard, resize, flush, format probing being
 * opt-in, and a seeded random run checked against an in-memory model.
 *
 * Every test gets its own temporary directory, removed afterwards.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

/* ------------------------------------------------------------ helpers */

static char test_dir[PATH_MAX];

static void make_test_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(test_dir, sizeof test_dir, "%s/gluvirt-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(test_dir), "mkdtemp %s: %s", test_dir, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static void remove_test_dir(void)
{
    if (test_dir[0])
        nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(image_local, .init = make_test_dir, .fini = remove_test_dir, .timeout = 60);

/* A path in the test's directory; each call returns a new buffer. */
static char *test_path(const char *name)
{
    char *path;

    cr_assert_neq(asprintf(&path, "%s/%s", test_dir, name), -1);
    return path;
}

/* Predictable bytes for offset i of pattern seed. */
static unsigned char pattern_byte(uint64_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u + seed * 40503u + (i >> 13)) >> 7);
}

static void fill_pattern(unsigned char *buf, size_t count, uint64_t offset, unsigned seed)
{
    for (size_t i = 0; i < count; i++)
        buf[i] = pattern_byte(offset + i, seed);
}

/* A file of size bytes holding pattern seed (or zeros: seed 0). */
static char *make_file(const char *name, size_t size, unsigned seed)
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
static unsigned char *read_file(const char *path, size_t *size)
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

static gluvirt_open_options *options_for(int writable, gluvirt_format format)
{
    gluvirt_open_options *options = gluvirt_open_options_new();

    cr_assert_not_null(options, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_format(options, format), 0, "%s", gluvirt_errmsg());
    return options;
}

static gluvirt_image *open_image(const char *path, int writable)
{
    gluvirt_open_options *options = options_for(writable, GLUVIRT_FORMAT_RAW);
    gluvirt_image *image = gluvirt_image_open(NULL, path, options);

    gluvirt_open_options_free(options); /* the image keeps what it needs */
    cr_assert_not_null(image, "open %s: %s", path, gluvirt_errmsg());
    return image;
}

static void assert_error(int expected_errno, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected_errno, "errno %d (%s), expected %d; message: %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected_errno, gluvirt_errmsg());
    if (fragment)
        cr_assert(strstr(gluvirt_errmsg(), fragment), "message '%s' lacks '%s'",
                  gluvirt_errmsg(), fragment);
}

/* ------------------------------------------------------------ basics */

Test(image_local, open_reports_size_and_format)
{
    char *path = make_file("odd.raw", 1000003, 1);
    gluvirt_image *image = open_image(path, 0);

    cr_assert_eq(gluvirt_image_size(image), 1000003);
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, empty_file_is_an_empty_image)
{
    char *path = make_file("empty.raw", 0, 0);
    gluvirt_image *image = open_image(path, 1);
    char byte = 'x';

    cr_assert_eq(gluvirt_image_size(image), 0);
    cr_assert_eq(gluvirt_image_pread(image, &byte, 1, 0), 0);
    cr_assert_eq(byte, 'x');
    cr_assert_eq(gluvirt_image_pwrite(image, &byte, 0, 0), 0); /* nothing, at the end: fine */
    cr_assert_eq(gluvirt_image_pwrite(image, &byte, 1, 0), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, pread_pwrite_unaligned)
{
    static const struct { uint64_t offset; size_t count; } cases[] = {
        {0, 1}, {1, 511}, {511, 2}, {513, 1000}, {4095, 4098}, {65537, 131071},
        {1000000, 3}, {777777, 222223}, /* up to the last byte */
    };
    char *path = make_file("unaligned.raw", 1000000 + 3, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *expected = calloc(1, 1000003), *buf = malloc(1000003), *on_disk;
    size_t disk_size;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fill_pattern(buf, cases[i].count, cases[i].offset, (unsigned)i + 7);
        cr_assert_eq(gluvirt_image_pwrite(image, buf, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count, "write %zu at %" PRIu64 ": %s", cases[i].count,
                     cases[i].offset, gluvirt_errmsg());
        memcpy(expected + cases[i].offset, buf, cases[i].count);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0xee, cases[i].count);
        cr_assert_eq(gluvirt_image_pread(image, buf, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count);
        cr_assert_eq(memcmp(buf, expected + cases[i].offset, cases[i].count), 0,
                     "case %zu reads back different bytes", i);
    }
    cr_assert_eq(gluvirt_image_close(image), 0);
    on_disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, 1000003, "the writes changed the file's size");
    cr_assert_eq(memcmp(on_disk, expected, disk_size), 0, "the file differs from the writes");
    free(on_disk);
    free(expected);
    free(buf);
    free(path);
}

Test(image_local, preadv_pwritev_scatter_gather)
{
    char *path = make_file("vector.raw", 300001, 3);
    gluvirt_image *image = open_image(path, 1);
    unsigned char a[7], b[1], c[100003], d[513], check[7 + 1 + 100003 + 513];
    struct iovec out[] = {{a, sizeof a}, {NULL, 0}, {b, sizeof b}, {c, sizeof c}, {d, sizeof d}};
    unsigned char ra[7], rb[1], rc[100003], rd[513];
    struct iovec in[] = {{ra, sizeof ra}, {rb, sizeof rb}, {NULL, 0}, {rc, sizeof rc},
                         {rd, sizeof rd}};
    size_t total = sizeof check;
    uint64_t offset = 12345;

    fill_pattern(a, sizeof a, 0, 11);
    fill_pattern(b, sizeof b, 0, 12);
    fill_pattern(c, sizeof c, 0, 13);
    fill_pattern(d, sizeof d, 0, 14);
    cr_assert_eq(gluvirt_image_pwritev(image, out, 5, offset), (ssize_t)total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_preadv(image, in, 5, offset), (ssize_t)total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(memcmp(a, ra, sizeof a), 0);
    cr_assert_eq(memcmp(b, rb, sizeof b), 0);
    cr_assert_eq(memcmp(c, rc, sizeof c), 0);
    cr_assert_eq(memcmp(d, rd, sizeof d), 0);
    /* The same bytes through one flat read. */
    cr_assert_eq(gluvirt_image_pread(image, check, total, offset), (ssize_t)total);
    cr_assert_eq(memcmp(check, a, sizeof a), 0);
    cr_assert_eq(check[7], b[0]);
    cr_assert_eq(memcmp(check + 8, c, sizeof c), 0);
    cr_assert_eq(memcmp(check + 8 + sizeof c, d, sizeof d), 0);
    /* The neighbours are untouched. */
    cr_assert_eq(gluvirt_image_pread(image, check, 2, offset - 1), 2);
    cr_assert_eq(check[0], pattern_byte(offset - 1, 3));
    cr_assert_eq(gluvirt_image_pread(image, check, 1, offset + total), 1);
    cr_assert_eq(check[0], pattern_byte(offset + total, 3));
    /* Empty vectors move nothing. */
    cr_assert_eq(gluvirt_image_preadv(image, in, 0, 0), 0);
    cr_assert_eq(gluvirt_image_pwritev(image, out, 0, 0), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, short_read_at_end_then_zero)
{
    char *path = make_file("end.raw", 1000, 5);
    gluvirt_image *image = open_image(path, 0);
    unsigned char buf[300], part1[30], part2[300];
    struct iovec iov[] = {{part1, sizeof part1}, {part2, sizeof part2}};

    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 950), 50);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(buf[i], pattern_byte(950 + (uint64_t)i, 5));
    cr_assert_eq(gluvirt_image_pread(image, buf, 1, 999), 1);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 1000), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 1001), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, UINT64_MAX), 0);
    /* A vector cut by the end: the first piece whole, the second in part. */
    cr_assert_eq(gluvirt_image_preadv(image, iov, 2, 900), 100);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(part1[i], pattern_byte(900 + (uint64_t)i, 5));
    for (int i = 0; i < 70; i++)
        cr_assert_eq(part2[i], pattern_byte(930 + (uint64_t)i, 5));
    cr_assert_eq(gluvirt_image_preadv(image, iov, 2, 1000), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ errors */

Test(image_local, errors_write_past_end_einval)
{
    char *path = make_file("small.raw", 1000, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char buf[64] = {1};
    struct iovec iov[] = {{buf, 10}, {buf, 10}};
    struct stat st;

    cr_assert_eq(gluvirt_image_pwrite(image, buf, 10, 995), -1);
    assert_error(EINVAL, "past the end");
    cr_assert(strstr(gluvirt_errmsg(), path), "message does not name the image: %s",
              gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), "1000 bytes"), "message lacks the size: %s",
              gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, buf, 1, 1000), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_pwrite(image, buf, 1, UINT64_MAX), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwritev(image, iov, 2, 985), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_write_zeroes(image, 900, 101), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_write_zeroes(image, UINT64_MAX, 2), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_discard(image, 1, UINT64_MAX), -1);
    assert_error(EINVAL, "past the end");
    /* Up to the last byte is fine. */
    cr_assert_eq(gluvirt_image_pwrite(image, buf, 10, 990), 10, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 1000, "a refused write resized the file");
    free(path);
}

Test(image_local, errors_read_only_erofs)
{
    char *path = make_file("ro.raw", 4096, 9);
    gluvirt_image *image = open_image(path, 0);
    unsigned char buf[16] = {0};
    struct iovec iov = {buf, sizeof buf};

    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 0), -1);
    assert_error(EROFS, "read-only");
    cr_assert(strstr(gluvirt_errmsg(), path), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwritev(image, &iov, 1, 0), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_write_zeroes(image, 0, 16), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_discard(image, 0, 16), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_truncate(image, 100), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_flush(image), 0, "flushing a read-only image: %s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 4096);
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 100), (ssize_t)sizeof buf);
    cr_assert_eq(buf[0], pattern_byte(100, 9), "a refused write changed the data");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, errors_missing_file_enoent)
{
    char *path = test_path("does-not-exist.raw");

    cr_assert_null(gluvirt_image_open(NULL, path, NULL));
    assert_error(ENOENT, path);
    free(path);
}

Test(image_local, errors_directory_eisdir)
{
    cr_assert_null(gluvirt_image_open(NULL, test_dir, NULL));
    assert_error(EISDIR, "directory");
    cr_assert(strstr(gluvirt_errmsg(), test_dir), "%s", gluvirt_errmsg());
}

/* What one open gave: the library's errno and message when it failed. */
struct open_outcome {
    int opened;
    int error;
    char message[400];
};

static void open_and_close(const char *path, struct open_outcome *outcome)
{
    gluvirt_image *image = gluvirt_image_open(NULL, path, NULL);

    memset(outcome, 0, sizeof *outcome);
    if (image) {
        outcome->opened = 1;
        gluvirt_image_close(image);
        return;
    }
    outcome->error = gluvirt_errno();
    snprintf(outcome->message, sizeof outcome->message, "%s", gluvirt_errmsg());
}

/* What the child that became nobody sends back, in one write (well under
 * PIPE_BUF, so it arrives whole or not at all). */
struct unprivileged_report {
    int drop_errno; /* non-zero: the step named in drop_step failed */
    char drop_step[32];
    struct open_outcome outcomes[2];
};

/*
 * Root opens any file, and CI runs the suite as root: there the two opens
 * run in a child that has become nobody (nobody's group, no supplementary
 * groups), which meets the permission checks an unprivileged hypervisor
 * meets.  The child makes no Criterion assertions (Criterion does not know
 * that process); it reports through a pipe and leaves with _exit.
 */
static void open_as_nobody(const char *const paths[2], struct open_outcome outcomes[2])
{
    struct passwd *nobody = getpwnam("nobody");
    struct unprivileged_report report;
    int channel[2], status;
    ssize_t got;
    pid_t child;

    cr_assert_not_null(nobody, "no user 'nobody' to run the permission check as");
    cr_assert_neq(nobody->pw_uid, 0);
    cr_assert_eq(pipe(channel), 0, "pipe: %s", strerror(errno));
    child = fork();
    cr_assert_geq(child, 0, "fork: %s", strerror(errno));
    if (child == 0) {
        memset(&report, 0, sizeof report);
        close(channel[0]);
        if (setgroups(0, NULL) != 0)
            snprintf(report.drop_step, sizeof report.drop_step, "setgroups");
        else if (setresgid(nobody->pw_gid, nobody->pw_gid, nobody->pw_gid) != 0)
            snprintf(report.drop_step, sizeof report.drop_step, "setresgid");
        else if (setresuid(nobody->pw_uid, nobody->pw_uid, nobody->pw_uid) != 0)
            snprintf(report.drop_step, sizeof report.drop_step, "setresuid");
        if (report.drop_step[0]) {
            report.drop_errno = errno;
        } else if (geteuid() != nobody->pw_uid || getegid() != nobody->pw_gid) {
            snprintf(report.drop_step, sizeof report.drop_step, "checking the ids");
            report.drop_errno = EPERM;
        } else {
            open_and_close(paths[0], &report.outcomes[0]);
            open_and_close(paths[1], &report.outcomes[1]);
        }
        _exit(write(channel[1], &report, sizeof report) == (ssize_t)sizeof report ? 0 : 1);
    }
    close(channel[1]);
    do
        got = read(channel[0], &report, sizeof report);
    while (got < 0 && errno == EINTR);
    close(channel[0]);
    cr_assert_eq(waitpid(child, &status, 0), child, "waitpid: %s", strerror(errno));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child that became nobody failed (wait status 0x%x)", status);
    cr_assert_eq(got, (ssize_t)sizeof report, "short report from the child: %zd bytes", got);
    cr_assert_eq(report.drop_errno, 0, "becoming nobody: %s failed: %s", report.drop_step,
                 strerror(report.drop_errno));
    memcpy(outcomes, report.outcomes, sizeof report.outcomes);
}

Test(image_local, errors_permission_eacces,
     .description = "as root, the opens run as user nobody")
{
    char *readable = make_file("readable.raw", 512, 0);
    char *locked = make_file("locked.raw", 512, 0);
    const char *const paths[2] = {readable, locked};
    struct open_outcome outcomes[2];

    /* Others may search the directory, so that only the file's own mode
     * can refuse: the readable file is the proof. */
    cr_assert_eq(chmod(test_dir, 0755), 0, "chmod %s: %s", test_dir, strerror(errno));
    cr_assert_eq(chmod(locked, 0), 0, "chmod %s: %s", locked, strerror(errno));
    if (geteuid() == 0) {
        open_as_nobody(paths, outcomes);
    } else {
        open_and_close(readable, &outcomes[0]);
        open_and_close(locked, &outcomes[1]);
    }
    cr_assert(outcomes[0].opened,
              "%s (mode 0644) did not open: %s; can every user search the directories "
              "above it (TMPDIR)?", readable, outcomes[0].message);
    cr_assert_not(outcomes[1].opened, "%s (mode 0) opened", locked);
    cr_assert_eq(outcomes[1].error, EACCES, "errno %d (%s), expected EACCES; message: %s",
                 outcomes[1].error, strerror(outcomes[1].error), outcomes[1].message);
    cr_assert(strstr(outcomes[1].message, locked), "message '%s' lacks '%s'",
              outcomes[1].message, locked);
    free(readable);
    free(locked);
}

Test(image_local, errors_null_arguments_einval)
{
    char *path = make_file("null.raw", 512, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char buf[8];
    struct iovec iov = {buf, sizeof buf};

    cr_assert_null(gluvirt_image_open(NULL, NULL, NULL));
    assert_error(EINVAL, NULL);
    cr_assert_null(gluvirt_image_open(NULL, "", NULL));
    assert_error(EINVAL, NULL);
    cr_assert_null(gluvirt_image_open_uri(NULL, NULL, NULL));
    assert_error(EINVAL, NULL);

    cr_assert_eq(gluvirt_image_size(NULL), -1);
    assert_error(EINVAL, NULL);
    cr_assert_null(gluvirt_image_format(NULL));
    cr_assert_eq(gluvirt_image_pread(NULL, buf, sizeof buf, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwrite(NULL, buf, sizeof buf, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_preadv(NULL, &iov, 1, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwritev(NULL, &iov, 1, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_flush(NULL), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_discard(NULL, 0, 1), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_write_zeroes(NULL, 0, 1), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_truncate(NULL, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_close(NULL), 0);

    /* Vectors: NULL with entries, a negative count. */
    cr_assert_eq(gluvirt_image_preadv(image, NULL, 1, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwritev(image, NULL, 1, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_preadv(image, &iov, -1, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwritev(image, &iov, -1, 0), -1);
    assert_error(EINVAL, NULL);

    /* Options. */
    cr_assert_eq(gluvirt_open_options_set_format(NULL, GLUVIRT_FORMAT_RAW), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_writable(NULL, 1), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_direct(NULL, 1), -1);
    assert_error(EINVAL, NULL);
    gluvirt_open_options_free(NULL);
    {
        gluvirt_open_options *options = gluvirt_open_options_new();

        cr_assert_eq(gluvirt_open_options_set_format(options, (gluvirt_format)42), -1);
        assert_error(EINVAL, "unknown format");
        gluvirt_open_options_free(options);
    }
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* A NULL buffer with a length is the caller's bug; the library says so
 * instead of handing it to the kernel (or, on gluster, to gfapi). */
Test(image_local, errors_null_buffer_einval)
{
    char *path = make_file("nullbuf.raw", 512, 0);
    gluvirt_image *image = open_image(path, 1);

    cr_assert_eq(gluvirt_image_pread(image, NULL, 16, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_pwrite(image, NULL, 16, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, errors_truncate_too_large)
{
    char *path = make_file("huge.raw", 512, 0);
    gluvirt_image *image = open_image(path, 1);

    cr_assert_eq(gluvirt_image_truncate(image, (uint64_t)INT64_MAX + 1), -1);
    assert_error(EINVAL, "too large");
    cr_assert_eq(gluvirt_image_size(image), 512);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ zeroes, discard, resize */

Test(image_local, write_zeroes_clears_only_the_range)
{
    static const struct { uint64_t offset, length; } ranges[] = {
        {123, 70000}, {0, 1}, {200001, 4096}, {300000, 1048576 + 77}, {1500000, 0},
    };
    const size_t size = 1500001;
    char *path = make_file("zeroes.raw", size, 21);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *expected = malloc(size), *got = malloc(size);

    fill_pattern(expected, size, 0, 21);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        cr_assert_eq(gluvirt_image_write_zeroes(image, ranges[i].offset, ranges[i].length), 0,
                     "%s", gluvirt_errmsg());
        memset(expected + ranges[i].offset, 0, ranges[i].length);
    }
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(got, expected, size), 0);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size, "zeroing resized the image");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(expected);
    free(got);
    free(path);
}

Test(image_local, discard_keeps_the_rest)
{
    const size_t size = 1 << 20;
    char *path = make_file("discard.raw", size, 23);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *got = malloc(size);

    cr_assert_eq(gluvirt_image_discard(image, 65536, 131072), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_discard(image, 777, 3), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_discard(image, size, 0), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    /* Discarded bytes may read as anything; the others must not change. */
    for (size_t i = 0; i < size; i++) {
        if ((i >= 65536 && i < 65536 + 131072) || (i >= 777 && i < 780))
            continue;
        cr_assert_eq(got[i], pattern_byte(i, 23), "byte %zu changed", i);
    }
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(got);
    free(path);
}

Test(image_local, truncate_then_size)
{
    char *path = make_file("resize.raw", 10000, 25);
    gluvirt_image *image = open_image(path, 1);
    unsigned char buf[5000];
    struct stat st;

    cr_assert_eq(gluvirt_image_truncate(image, 12345), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 12345);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 12345);
    /* The grown part reads as zeros, the old part is kept. */
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 9000), 3345);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(buf[i], pattern_byte(9000 + (uint64_t)i, 25));
    for (int i = 1000; i < 3345; i++)
        cr_assert_eq(buf[i], 0, "grown byte %d is %u", i, buf[i]);
    /* Writes reach the new end, and not beyond it. */
    cr_assert_eq(gluvirt_image_pwrite(image, "tail", 4, 12341), 4, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, "x", 1, 12345), -1);
    assert_error(EINVAL, "past the end");

    cr_assert_eq(gluvirt_image_truncate(image, 777), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 777);
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 0), 777);
    cr_assert_eq(gluvirt_image_pread(image, buf, 1, 777), 0);
    cr_assert_eq(gluvirt_image_pwrite(image, "x", 1, 777), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_truncate(image, 0), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);

    /* A fresh handle sees the size that was set. */
    image = open_image(path, 0);
    cr_assert_eq(gluvirt_image_size(image), 0);
    gluvirt_image_close(image);
    free(path);
}

Test(image_local, flush_and_close_after_writes)
{
    char *path = make_file("flush.raw", 8192, 0);
    gluvirt_image *image = open_image(path, 1);
    size_t size;
    unsigned char *on_disk;

    cr_assert_eq(gluvirt_image_pwrite(image, "durable", 7, 4093), 7, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_flush(image), 0, "a second flush: %s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, "!", 1, 0), 1, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0, "close flushes: %s", gluvirt_errmsg());
    on_disk = read_file(path, &size);
    cr_assert_eq(size, 8192);
    cr_assert_eq(memcmp(on_disk + 4093, "durable", 7), 0);
    cr_assert_eq(on_disk[0], '!');
    free(on_disk);
    free(path);
}

/* ------------------------------------------------------------ format probing */

static char *make_raw_with_qcow2_magic(const char *name, size_t size)
{
    char *path = make_file(name, size, 31);
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "QFI\xfb", 4, 0), 4);
    close(fd);
    return path;
}

Test(image_local, guest_written_qcow2_magic_stays_raw_by_default)
{
    const size_t size = 65536 + 17;
    char *path = make_raw_with_qcow2_magic("guest.raw", size);
    gluvirt_image *image = gluvirt_image_open(NULL, path, NULL); /* default options */
    unsigned char *got = malloc(size), *on_disk;
    size_t disk_size;

    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    on_disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, size);
    cr_assert_eq(memcmp(got, "QFI\xfb", 4), 0);
    cr_assert_eq(memcmp(got, on_disk, size), 0, "raw reads differ from the file");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(on_disk);
    free(got);
    free(path);
}

Test(image_local, guest_writing_qcow2_magic_changes_nothing)
{
    char *path = make_file("written.raw", 4096, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char head[8];

    cr_assert_eq(gluvirt_image_pwrite(image, "QFI\xfb\0\0\0\3", 8, 0), 8, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0);
    image = open_image(path, 0); /* reopened by the host, raw as configured */
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_size(image), 4096);
    cr_assert_eq(gluvirt_image_pread(image, head, 8, 0), 8);
    cr_assert_eq(memcmp(head, "QFI\xfb\0\0\0\3", 8), 0);
    gluvirt_image_close(image);
    free(path);
}

Test(image_local, probe_refuses_qcow2_with_enotsup)
{
    char *path = make_raw_with_qcow2_magic("probe.raw", 4096);
    gluvirt_open_options *options = options_for(0, GLUVIRT_FORMAT_PROBE);

    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(ENOTSUP, "qcow2");
    cr_assert(strstr(gluvirt_errmsg(), path), "%s", gluvirt_errmsg());
    /* Asking for qcow2 outright is refused the same way. */
    cr_assert_eq(gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(ENOTSUP, "qcow2");
    gluvirt_open_options_free(options);
    free(path);
}

Test(image_local, probe_finds_raw)
{
    static const size_t sizes[] = {0, 1, 3, 4, 4096};
    gluvirt_open_options *options = options_for(0, GLUVIRT_FORMAT_PROBE);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[32];
        char *path;
        gluvirt_image *image;

        snprintf(name, sizeof name, "plain-%zu.raw", sizes[i]);
        path = make_file(name, sizes[i], 33);
        image = gluvirt_image_open(NULL, path, options);
        cr_assert_not_null(image, "probe %zu-byte file: %s", sizes[i], gluvirt_errmsg());
        cr_assert_str_eq(gluvirt_image_format(image), "raw");
        cr_assert_eq(gluvirt_image_size(image), (int64_t)sizes[i]);
        gluvirt_image_close(image);
        free(path);
    }
    gluvirt_open_options_free(options);
}

/* ------------------------------------------------------------ model check */

/* xorshift64*: reproducible from the seed printed on failure. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static uint64_t random_below(uint64_t *state, uint64_t bound)
{
    return bound ? next_random(state) % bound : 0;
}

/* Split [buf, buf + count) into 1..8 random pieces (some empty). */
static int random_vector(uint64_t *state, unsigned char *buf, size_t count, struct iovec *iov)
{
    int n = 1 + (int)random_below(state, 8);
    size_t at = 0;

    for (int i = 0; i < n; i++) {
        size_t piece = i == n - 1 ? count - at : (size_t)random_below(state, count - at + 1);

        iov[i].iov_base = buf + at;
        iov[i].iov_len = piece;
        at += piece;
    }
    return n;
}

Test(image_local, model_checked_random_io, .timeout = 120)
{
    const size_t size = (8u << 20) + 333;
    const char *seed_text = getenv("GLUVIRT_TEST_SEED");
    uint64_t seed = seed_text ? strtoull(seed_text, NULL, 0) : UINT64_C(0x5eed1e55),
             state = seed ? seed : 1;
    char *path = make_file("model.raw", size, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *model = calloc(1, size), *buf = malloc(200000 + 1), *disk;
    struct iovec iov[8];
    size_t disk_size;

    cr_log_info("seed 0x%" PRIx64 " (set GLUVIRT_TEST_SEED to repeat)", seed);
    for (int op = 0; op < 2000; op++) {
        size_t count = 1 + (size_t)random_below(&state, 200000);
        uint64_t choice = random_below(&state, 100);
        /* Most requests fit; some run past the end to check the clipping. */
        uint64_t offset = random_below(&state, 20) == 0
                              ? size - random_below(&state, count < size ? count : size)
                              : random_below(&state, size - count + 1);
        size_t inside = offset >= size ? 0 : (size - offset < count ? size - offset : count);

        if (choice < 45) {
            for (size_t i = 0; i < count; i++)
                buf[i] = (unsigned char)next_random(&state);
            if (inside < count) {
                cr_assert_eq(gluvirt_image_pwrite(image, buf, count, offset), -1,
                             "seed 0x%" PRIx64 " op %d: write past the end accepted", seed, op);
                assert_error(EINVAL, "past the end");
                continue;
            }
            if (choice < 25)
                cr_assert_eq(gluvirt_image_pwrite(image, buf, count, offset), (ssize_t)count,
                             "seed 0x%" PRIx64 " op %d: %s", seed, op, gluvirt_errmsg());
            else
                cr_assert_eq(gluvirt_image_pwritev(image, iov,
                                                   random_vector(&state, buf, count, iov),
                                                   offset),
                             (ssize_t)count, "seed 0x%" PRIx64 " op %d: %s", seed, op,
                             gluvirt_errmsg());
            memcpy(model + offset, buf, count);
        } else if (choice < 50) {
            if (inside < count)
                continue;
            cr_assert_eq(gluvirt_image_write_zeroes(image, offset, count), 0,
                         "seed 0x%" PRIx64 " op %d: %s", seed, op, gluvirt_errmsg());
            memset(model + offset, 0, count);
        } else if (choice < 52) {
            cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
        } else {
            ssize_t got;

            memset(buf, 0xa5, count);
            if (choice < 75)
                got = gluvirt_image_pread(image, buf, count, offset);
            else
                got = gluvirt_image_preadv(image, iov, random_vector(&state, buf, count, iov),
                                           offset);
            cr_assert_eq(got, (ssize_t)inside, "seed 0x%" PRIx64 " op %d: read %zu at %" PRIu64
                         " gave %zd: %s", seed, op, count, offset, got, gluvirt_errmsg());
            cr_assert_eq(memcmp(buf, model + offset, inside), 0,
                         "seed 0x%" PRIx64 " op %d: read %zu at %" PRIu64 " differs from the "
                         "model", seed, op, count, offset);
        }
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());

    /* A fresh handle and the file itself agree with the model. */
    image = open_image(path, 0);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    disk = malloc(size);
    cr_assert_eq(gluvirt_image_pread(image, disk, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(disk, model, size), 0, "seed 0x%" PRIx64 ": reopened image differs",
                 seed);
    gluvirt_image_close(image);
    free(disk);
    disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, size);
    cr_assert_eq(memcmp(disk, model, size), 0, "seed 0x%" PRIx64 ": file differs", seed);
    free(disk);
    free(model);
    free(buf);
    free(path);
}

/*
 * The errors of the synchronous image API on the local-file backend: range
 * and mode errors, missing files and directories, permissions (as user
 * nobody when the suite runs as root, as CI does), NULL arguments; each
 * with its errno, a message naming the image, and nothing changed.
 *
 * Every test gets its own temporary directory, removed afterwards.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <grp.h>
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

#include "image_local_support.h"

TestSuite(image_local_errors, .init = make_test_dir, .fini = remove_test_dir, .timeout = 60);

Test(image_local_errors, write_past_end_einval)
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

Test(image_local_errors, read_only_erofs)
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

Test(image_local_errors, missing_file_enoent)
{
    char *path = test_path("does-not-exist.raw");

    cr_assert_null(gluvirt_image_open(NULL, path, NULL));
    assert_error(ENOENT, path);
    free(path);
}

Test(image_local_errors, directory_eisdir)
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

Test(image_local_errors, permission_eacces,
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

Test(image_local_errors, null_arguments_einval)
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
        cr_assert_eq(gluvirt_open_options_set_locking(options, (gluvirt_locking_mode)7), -1);
        assert_error(EINVAL, "GLUVIRT_LOCKING_ON or GLUVIRT_LOCKING_OFF");
        gluvirt_open_options_free(options);
    }
    cr_assert_eq(gluvirt_open_options_set_force_share(NULL, 1), -1);
    assert_error(EINVAL, "NULL");
    cr_assert_eq(gluvirt_open_options_set_locking(NULL, GLUVIRT_LOCKING_OFF), -1);
    assert_error(EINVAL, "NULL");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* A NULL buffer with a length is the caller's bug; the library says so
 * instead of handing it to the kernel (or, on gluster, to gfapi). */
Test(image_local_errors, null_buffer_einval)
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

Test(image_local_errors, truncate_too_large)
{
    char *path = make_file("huge.raw", 512, 0);
    gluvirt_image *image = open_image(path, 1);

    cr_assert_eq(gluvirt_image_truncate(image, (uint64_t)INT64_MAX + 1), -1);
    assert_error(EINVAL, "too large");
    cr_assert_eq(gluvirt_image_size(image), 512);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* Image locking in one process: a second writable open of a file another
 * open writes is EBUSY and says what to do; a raw reader beside it opens;
 * force_share with a writable open is EINVAL; locking off opens anyway. */
Test(image_local_errors, second_writer_ebusy)
{
    char *path = make_file("locked.raw", 4096, 0);
    gluvirt_image *writer = open_image(path, 1), *reader = open_image(path, 0);
    gluvirt_open_options *options = options_for(1, GLUVIRT_FORMAT_RAW);
    gluvirt_image *second;

    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(EBUSY, "in use by another writer");
    cr_assert_eq(gluvirt_open_options_set_force_share(options, 1), 0);
    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(EINVAL, "force_share");
    cr_assert_eq(gluvirt_open_options_set_force_share(options, 0), 0);
    cr_assert_eq(gluvirt_open_options_set_locking(options, GLUVIRT_LOCKING_OFF), 0);
    second = gluvirt_image_open(NULL, path, options);
    cr_assert_not_null(second, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(second), 0);
    cr_assert_eq(gluvirt_image_close(reader), 0);
    cr_assert_eq(gluvirt_image_close(writer), 0);
    /* the writer's locks went with it */
    cr_assert_eq(gluvirt_open_options_set_locking(options, GLUVIRT_LOCKING_ON), 0);
    second = gluvirt_image_open(NULL, path, options);
    cr_assert_not_null(second, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(second), 0);
    gluvirt_open_options_free(options);
    free(path);
}

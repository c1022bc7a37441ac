/*
 * The log handler (gluvirt_set_log_handler): gfapi's own messages reach it
 * when a volfile server is down (a gluster:// URI to a port on 127.0.0.1
 * where nothing listens: gfapi fails within a second, no cluster needed),
 * and so do
 * the library's own; nothing reaches anyone without a handler or below its
 * level; free functions run once; bad levels give EINVAL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

/* A gluster URI to a port on 127.0.0.1 that nothing listens on: one the
 * kernel just handed out and took back. */
static void down_uri(char *uri, size_t size)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(uri, size, "gluster://127.0.0.1:%u/logvol/img.raw", ntohs(a.sin_port));
}

struct seen {
    pthread_mutex_t lock;
    int lines, gfapi_lines, library_lines, below_level;
    int min_level;
    char first_gfapi[512];
};

static struct seen seen = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, ""};
static int freed;

static void reset(int min_level)
{
    pthread_mutex_lock(&seen.lock);
    seen.lines = seen.gfapi_lines = seen.library_lines = seen.below_level = 0;
    seen.min_level = min_level;
    seen.first_gfapi[0] = '\0';
    pthread_mutex_unlock(&seen.lock);
}

static void handler(int level, const char *message, void *opaque)
{
    cr_assert_eq(opaque, &seen);
    pthread_mutex_lock(&seen.lock);
    seen.lines++;
    if (level < GLUVIRT_LOG_ERROR || level > seen.min_level)
        seen.below_level++;
    if (!strncmp(message, "gfapi: volume 'logvol': ", 24)) {
        if (!seen.gfapi_lines++)
            snprintf(seen.first_gfapi, sizeof seen.first_gfapi, "%s", message);
    } else {
        seen.library_lines++;
    }
    pthread_mutex_unlock(&seen.lock);
}

static void count_free(void *opaque)
{
    cr_assert_eq(opaque, &seen);
    freed++;
}

static void connect_to_down_server(void)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool;
    gluvirt_image *image;
    char uri[128];

    down_uri(uri, sizeof uri);
    cr_assert_eq(gluvirt_pool_options_set_connect_timeout(options, 5000), 0);
    pool = gluvirt_pool_new(options);
    gluvirt_pool_options_free(options);
    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    image = gluvirt_image_open(pool, uri, NULL);
    cr_assert_null(image, "an image opened through a server that is down");
    cr_assert_eq(gluvirt_errno(), ECONNREFUSED, "%d: %s", gluvirt_errno(), gluvirt_errmsg());
    gluvirt_pool_free(pool);
}

TestSuite(log, .timeout = 60);

Test(log, gfapi_messages_of_a_failed_connect)
{
    reset(GLUVIRT_LOG_DEBUG);
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, NULL, GLUVIRT_LOG_DEBUG), 0);
    connect_to_down_server();
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_ERROR), 0);
    cr_assert_gt(seen.gfapi_lines, 0, "no gfapi line reached the handler");
    /* gfapi's words, without the timestamp: a level letter leads. */
    cr_assert(strchr("EWIDTNCAM", seen.first_gfapi[24]) && seen.first_gfapi[25] == ' ',
              "not a gfapi line: %s", seen.first_gfapi);
    cr_assert_gt(seen.library_lines, 0, "the library's own warning did not arrive");
    cr_assert_eq(seen.below_level, 0);
}

/* gfapi says "Failed to connect" at INFO: a WARNING handler gets only the
 * library's warning. */
Test(log, nothing_below_the_level)
{
    reset(GLUVIRT_LOG_WARNING);
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, NULL, GLUVIRT_LOG_WARNING), 0);
    connect_to_down_server();
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_ERROR), 0);
    cr_assert_eq(seen.below_level, 0, "%d lines below the level arrived", seen.below_level);
    cr_assert_eq(seen.gfapi_lines, 0, "gfapi's info lines reached a warning handler");
    cr_assert_eq(seen.library_lines, 1, "%d library lines", seen.library_lines);
}

Test(log, nothing_without_a_handler)
{
    reset(GLUVIRT_LOG_DEBUG);
    freed = 0;
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, count_free, GLUVIRT_LOG_DEBUG), 0);
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_DEBUG), 0);
    cr_assert_eq(freed, 1, "the replaced handler's free ran %d times", freed);
    connect_to_down_server();
    cr_assert_eq(seen.lines, 0, "%d lines reached a handler that was removed", seen.lines);
}

Test(log, library_messages_of_a_local_image)
{
    char path[] = "/tmp/gluvirt-log-XXXXXX";
    int fd = mkstemp(path);
    gluvirt_image *image;

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 65536), 0);
    reset(GLUVIRT_LOG_DEBUG);
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, NULL, GLUVIRT_LOG_DEBUG), 0);
    image = gluvirt_image_open(NULL, path, NULL);
    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    gluvirt_image_close(image);
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_DEBUG), 0);
    cr_assert_eq(seen.library_lines, 2, "open and close: %d lines", seen.library_lines);
    /* At INFO the open and close (debug) say nothing. */
    reset(GLUVIRT_LOG_INFO);
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, NULL, GLUVIRT_LOG_INFO), 0);
    gluvirt_image_close(gluvirt_image_open(NULL, path, NULL));
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_INFO), 0);
    cr_assert_eq(seen.lines, 0);
    close(fd);
    unlink(path);
}

Test(log, errors_bad_level_einval)
{
    freed = 0;
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, count_free, 0), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert(strstr(gluvirt_errmsg(), "GLUVIRT_LOG_DEBUG"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, count_free,
                                         (gluvirt_log_level)5), -1);
    cr_assert_eq(freed, 0, "a refused handler's free ran");
    /* Replacing one handler by another frees the first, once. */
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, count_free, GLUVIRT_LOG_ERROR), 0);
    cr_assert_eq(gluvirt_set_log_handler(handler, &seen, count_free, GLUVIRT_LOG_ERROR), 0);
    cr_assert_eq(freed, 1);
    cr_assert_eq(gluvirt_set_log_handler(NULL, NULL, NULL, GLUVIRT_LOG_ERROR), 0);
    cr_assert_eq(freed, 2);
}

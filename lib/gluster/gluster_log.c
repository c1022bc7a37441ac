/*
 * gfapi logs only to a file (glfs_set_logging), so a connection made while
 * a log handler is set logs into a pipe: gfapi opens /proc/self/fd/N, the
 * pipe's write end, and a reader thread splits what arrives into lines.
 * The reader stops when told to, after glfs_fini, once it has read what
 * the pipe still holds; the pipe's ends are closed then, so neither the
 * thread nor an fd outlives the connection.
 *
 * A gfapi line: "[2026-01-02 03:04:05.678901 +0000] E [MSGID: 101075]
 * [common-utils.c:520:gf_resolve_ip6] 0-resolver: error in getaddrinfo".
 * The letter after the timestamp is the level; lines without one (the
 * volfile graph gfapi prints at INFO) take the level of the line before.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gluster/gluster_log.h"
#include "util/internal.h"

#define LINE_MAX_BYTES 4096
#define PIPE_BYTES (1 << 20)

struct glv_gfapi_log {
    int pipe_fds[2]; /* gfapi writes into [1] (through /proc/self/fd) */
    int stop_fds[2];
    pthread_t reader;
    char *volume;
    int last_level;
    size_t held;
    char line[LINE_MAX_BYTES];
};

int glv_gfapi_log_level(int min_level)
{
    /* gfapi: 4 error, 5 warning, 7 info, 8 debug (9, trace, floods). */
    switch (min_level) {
    case GLUVIRT_LOG_ERROR:
        return 4;
    case GLUVIRT_LOG_WARNING:
        return 5;
    case GLUVIRT_LOG_INFO:
        return 7;
    default:
        return 8;
    }
}

static int level_of_letter(char c, int otherwise)
{
    switch (c) {
    case 'M': case 'A': case 'C': case 'E':
        return GLUVIRT_LOG_ERROR;
    case 'W':
        return GLUVIRT_LOG_WARNING;
    case 'N': case 'I':
        return GLUVIRT_LOG_INFO;
    case 'D': case 'T':
        return GLUVIRT_LOG_DEBUG;
    default:
        return otherwise;
    }
}

/* One line of gfapi's log (NUL-terminated, no newline) to the handler. */
static void forward_line(const char *volume, int *last_level, char *text)
{
    const char *rest = text;
    int level = *last_level;

    if (text[0] == '[') {
        const char *end = strstr(text, "] ");

        if (end && end[2] && end[3] == ' ') {
            level = level_of_letter(end[2], level);
            rest = end + 2;
        }
    }
    *last_level = level;
    if (!*rest || level > glv_log_level())
        return;
    glv_log(level, "gfapi: volume '%s': %s", volume, rest);
}

/* Split buf into lines; a last piece without newline stays held. */
static void take_bytes(struct glv_gfapi_log *log, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || log->held == sizeof log->line - 1) {
            log->line[log->held] = '\0';
            forward_line(log->volume, &log->last_level, log->line);
            log->held = 0;
            if (buf[i] == '\n')
                continue;
        }
        log->line[log->held++] = buf[i];
    }
}

static void *reader_main(void *arg)
{
    struct glv_gfapi_log *log = arg;
    char buf[8192];
    int stopping = 0;

    for (;;) {
        struct pollfd fds[2] = {{log->pipe_fds[0], POLLIN, 0}, {log->stop_fds[0], POLLIN, 0}};
        ssize_t n;

        if (!stopping && poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            stopping = 1;
        n = read(log->pipe_fds[0], buf, sizeof buf);
        if (n > 0) {
            take_bytes(log, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* Empty (EAGAIN) while stopping, or every writer gone (0): done. */
        if (stopping || n == 0 || (n < 0 && errno != EAGAIN))
            break;
    }
    if (log->held) {
        log->line[log->held] = '\0';
        forward_line(log->volume, &log->last_level, log->line);
    }
    return NULL;
}

static void close_pair(int fds[2])
{
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
}

static void log_free(struct glv_gfapi_log *log)
{
    close_pair(log->pipe_fds);
    close_pair(log->stop_fds);
    free(log->volume);
    free(log);
}

struct glv_gfapi_log *glv_gfapi_log_start(glfs_t *fs, const char *volume)
{
    struct glv_gfapi_log *log;
    char path[64];
    int level = glv_log_level();

    if (!level || !(log = calloc(1, sizeof *log)))
        return NULL;
    log->pipe_fds[0] = log->pipe_fds[1] = log->stop_fds[0] = log->stop_fds[1] = -1;
    log->last_level = GLUVIRT_LOG_INFO;
    if (!(log->volume = strdup(volume)) || pipe2(log->pipe_fds, O_CLOEXEC) < 0 ||
        pipe2(log->stop_fds, O_CLOEXEC) < 0 ||
        fcntl(log->pipe_fds[0], F_SETFL, O_NONBLOCK) < 0) {
        log_free(log);
        return NULL;
    }
    /* gfapi's threads wait while the pipe is full: room for bursts (debug
     * logs a line per request), as much as the system allows unprivileged. */
    fcntl(log->pipe_fds[1], F_SETPIPE_SZ, PIPE_BYTES);
    snprintf(path, sizeof path, "/proc/self/fd/%d", log->pipe_fds[1]);
    if (pthread_create(&log->reader, NULL, reader_main, log) != 0) {
        log_free(log);
        return NULL;
    }
    if (glfs_set_logging(fs, path, glv_gfapi_log_level(level)) < 0) {
        glv_log(GLUVIRT_LOG_WARNING, "volume '%s': gfapi cannot log into a pipe (%s); its "
                "messages are not passed on", volume, path);
        glv_gfapi_log_stop(log);
        return NULL;
    }
    return log;
}

void glv_gfapi_log_stop(struct glv_gfapi_log *log)
{
    char byte = 1;

    if (!log)
        return;
    while (write(log->stop_fds[1], &byte, 1) < 0 && errno == EINTR)
        ;
    pthread_join(log->reader, NULL);
    log_free(log);
}

void glv_gfapi_log_forward_file(const char *path, const char *volume)
{
    char text[LINE_MAX_BYTES];
    int last_level = GLUVIRT_LOG_INFO;
    FILE *f;

    if (!glv_log_level() || !(f = fopen(path, "re")))
        return;
    while (fgets(text, sizeof text, f)) {
        text[strcspn(text, "\n")] = '\0';
        forward_line(volume, &last_level, text);
    }
    fclose(f);
}

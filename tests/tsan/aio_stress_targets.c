/* The backends of aio_stress, local files and the test volume: their
 * images, made, opened, closed and emptied; see aio_stress.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "aio_stress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VOLUME "gv2"

const char *mode_name(gluvirt_completion_mode mode)
{
    return mode == GLUVIRT_COMPLETION_POLL ? "poll" : "thread";
}

const char *ro_name(const struct target *t, gluvirt_format format)
{
    return format == GLUVIRT_FORMAT_QCOW2 ? t->ro_qcow2 : t->ro_raw;
}

const char *format_name(gluvirt_format format)
{
    return format == GLUVIRT_FORMAT_QCOW2 ? "qcow2" : "raw";
}

gluvirt_image *open_image(const struct target *t, const char *name, gluvirt_format format,
                          int writable, gluvirt_completion_mode mode, unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    if (!options || gluvirt_open_options_set_format(options, format) != 0 ||
        gluvirt_open_options_set_writable(options, writable) != 0 ||
        gluvirt_open_options_set_completion(options, mode) != 0 ||
        gluvirt_open_options_set_queue_depth(options, depth) != 0 ||
        /* The churn threads write their own ranges of one raw file through
         * handles of their own at once: writers that coordinate themselves,
         * which image locking would refuse. */
        gluvirt_open_options_set_locking(options, GLUVIRT_LOCKING_OFF) != 0) {
        fprintf(stderr, "aio_stress: open options: %s\n", gluvirt_errmsg());
        exit(2);
    }
    image = gluvirt_image_open(t->pool, name, options);
    gluvirt_open_options_free(options);
    if (!image) {
        failf("%s: open %s: %s", t->label, name, gluvirt_errmsg());
        printf("aio_stress: checks FAILED\n");
        exit(1);
    }
    return image;
}

void close_image(gluvirt_image *image, const char *what)
{
    if (gluvirt_image_close(image) != 0)
        failf("%s: close: %s", what, gluvirt_errmsg());
}

/* Create name as a raw image of size bytes (replacing what is there) and
 * write bytes into it, when bytes is not NULL. */
static void make_raw(const struct target *t, const char *name, uint64_t size,
                     const unsigned char *bytes)
{
    gluvirt_create_options *options = gluvirt_create_options_new();
    gluvirt_image *image;

    if (!options || gluvirt_create_options_set_overwrite(options, 1) != 0 ||
        gluvirt_image_create(t->pool, name, size, options) != 0) {
        fprintf(stderr, "aio_stress: create %s: %s\n", name, gluvirt_errmsg());
        exit(2);
    }
    gluvirt_create_options_free(options);
    if (!bytes)
        return;
    image = open_image(t, name, GLUVIRT_FORMAT_RAW, 1, GLUVIRT_COMPLETION_THREAD, 1);
    for (uint64_t at = 0; at < size; at += 1u << 20) {
        size_t n = size - at < (1u << 20) ? (size_t)(size - at) : 1u << 20;

        if (gluvirt_image_pwrite(image, bytes + at, n, at) != (ssize_t)n) {
            fprintf(stderr, "aio_stress: write %s: %s\n", name, gluvirt_errmsg());
            exit(2);
        }
    }
    close_image(image, name);
}

static unsigned char *read_file(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *bytes;
    struct stat st;

    if (!f || fstat(fileno(f), &st) != 0 || !(bytes = calloc(1, (size_t)st.st_size + 512)) ||
        fread(bytes, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "aio_stress: cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fclose(f);
    *size = (uint64_t)st.st_size;
    return bytes;
}

static unsigned char *ro_bytes(void)
{
    unsigned char *bytes = malloc(RO_SIZE);

    if (!bytes)
        exit(2);
    for (uint64_t i = 0; i < RO_SIZE; i++)
        bytes[i] = ro_byte(i);
    return bytes;
}

void set_up_local(struct target *t, const char *dir)
{
    unsigned char *bytes = ro_bytes();
    char *command;

    t->label = "local";
    t->pool = NULL;
    if (asprintf(&t->rw, "%s/rw.raw", dir) < 0 || asprintf(&t->ro_raw, "%s/ro.raw", dir) < 0 ||
        asprintf(&t->ro_qcow2, "%s/ro.qcow2", dir) < 0 ||
        asprintf(&command, "qemu-img convert -f raw -O qcow2 '%s' '%s'", t->ro_raw,
                 t->ro_qcow2) < 0)
        exit(2);
    make_raw(t, t->rw, RW_SIZE, NULL);
    make_raw(t, t->ro_raw, RO_SIZE, bytes);
    if (system(command) != 0) {
        fprintf(stderr, "aio_stress: %s failed\n", command);
        exit(2);
    }
    free(command);
    free(bytes);
}

/*
 * A connection held until the process exits, never finalised: when the last
 * client goes, gfapi unloads its transport and xlators, and ThreadSanitizer
 * stops the program when a library that a called_from_lib suppression names
 * is unloaded.
 */
static void hold_gluster_loaded(const char *host)
{
    gluvirt_pool *pool = gluvirt_pool_new(NULL);
    gluvirt_uri *uri = gluvirt_uri_new(VOLUME, "keep-loaded");

    if (!pool || !uri || gluvirt_uri_add_tcp_server(uri, host, 0) != 0 ||
        !gluvirt_pool_connect(pool, uri)) {
        fprintf(stderr, "aio_stress: cannot connect to %s on %s: %s\n", VOLUME, host,
                gluvirt_errmsg());
        exit(2);
    }
    gluvirt_uri_free(uri);
}

/* The qcow2 image on the volume is the local one's bytes, copied through a
 * raw open: nothing else here writes qcow2 data. */
void set_up_gluster(struct target *t, const char *host, const struct target *local)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    unsigned char *bytes = ro_bytes(), *qcow2;
    uint64_t qcow2_size;
    long tag = (long)getpid();

    t->label = "gluster";
    hold_gluster_loaded(host);
    if (!options || gluvirt_pool_options_set_linger(options, 60000) != 0 ||
        !(t->pool = gluvirt_pool_new(options))) {
        fprintf(stderr, "aio_stress: pool: %s\n", gluvirt_errmsg());
        exit(2);
    }
    gluvirt_pool_options_free(options);
    if (asprintf(&t->rw, "gluster://%s/%s/gluvirt-tsan-%ld-rw.raw", host, VOLUME, tag) < 0 ||
        asprintf(&t->ro_raw, "gluster://%s/%s/gluvirt-tsan-%ld-ro.raw", host, VOLUME, tag) < 0 ||
        asprintf(&t->ro_qcow2, "gluster://%s/%s/gluvirt-tsan-%ld-ro.qcow2", host, VOLUME,
                 tag) < 0)
        exit(2);
    make_raw(t, t->rw, RW_SIZE, NULL);
    make_raw(t, t->ro_raw, RO_SIZE, bytes);
    qcow2 = read_file(local->ro_qcow2, &qcow2_size);
    make_raw(t, t->ro_qcow2, (qcow2_size + 511) / 512 * 512, qcow2);
    free(qcow2);
    free(bytes);
}

/* The volume keeps only empty files from this run. */
void tear_down(struct target *t)
{
    char *names[3] = {t->rw, t->ro_raw, t->ro_qcow2};

    for (int i = 0; i < 3; i++) {
        if (t->pool) {
            gluvirt_image *image =
                open_image(t, names[i], GLUVIRT_FORMAT_RAW, 1, GLUVIRT_COMPLETION_THREAD, 1);

            if (gluvirt_image_truncate(image, 0) != 0)
                failf("%s: truncate %s: %s", t->label, names[i], gluvirt_errmsg());
            close_image(image, names[i]);
        }
        free(names[i]);
    }
    gluvirt_pool_free(t->pool);
}

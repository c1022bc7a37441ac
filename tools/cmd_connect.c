/*
 * gluvirt connect: reach a volume through a connection pool, say how long it
 * took, and leave at once (the pool finishes the client in the background,
 * where QEMU's tools wait about 10 s for glfs_fini).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

static void connect_usage(FILE *out)
{
    fprintf(out, "usage: gluvirt connect [-v] [--timeout MS] URI\n"
                 "Connects to the URI's volume through a connection pool and reports how long\n"
                 "it took; -v adds the pool's counters.  Exit 0 when the volume answered.\n");
}

int cmd_connect(int argc, char **argv)
{
    static const struct option options[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gluvirt_pool_options *pool_options = gluvirt_pool_options_new();
    int verbose = 0, c, status = EXIT_FAILED;
    gluvirt_connection *connection = NULL;
    gluvirt_pool *pool = NULL;
    gluvirt_uri *uri = NULL;
    double start, took, closed;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+vt:h", options, NULL)) != -1) {
        switch (c) {
        case 'v':
            verbose = 1;
            break;
        case 't':
            if (gluvirt_pool_options_set_connect_timeout(pool_options, (unsigned)atoi(optarg)) < 0) {
                report_library_error("--timeout");
                gluvirt_pool_options_free(pool_options);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            connect_usage(stdout);
            gluvirt_pool_options_free(pool_options);
            return EXIT_OK;
        default:
            connect_usage(stderr);
            gluvirt_pool_options_free(pool_options);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        connect_usage(stderr);
        gluvirt_pool_options_free(pool_options);
        return EXIT_USAGE;
    }
    if (!(uri = gluvirt_uri_parse(argv[optind])) || !(pool = gluvirt_pool_new(pool_options))) {
        report_library_error(NULL);
        goto out;
    }
    start = seconds_now();
    connection = gluvirt_pool_connect(pool, uri);
    took = seconds_now() - start;
    if (!connection) {
        report_library_error(NULL);
        goto out;
    }
    printf("volume %s: connected in %.3f s\n", gluvirt_connection_volume(connection), took);
    fflush(stdout); /* before the counters, which go to stderr */
    status = EXIT_OK;
out:
    gluvirt_connection_release(connection);
    if (pool && verbose)
        print_pool_counters(pool);
    start = seconds_now();
    gluvirt_pool_free(pool);
    closed = seconds_now() - start;
    if (pool && verbose)
        fprintf(stderr, "pool closed in %.3f s\n", closed);
    gluvirt_uri_free(uri);
    gluvirt_pool_options_free(pool_options);
    return status;
}

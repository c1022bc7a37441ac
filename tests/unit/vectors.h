/* The URI vector table (tests/uri/qemu-7.2-vectors.tsv), loaded for the tests. */
#ifndef GLUVIRT_TESTS_VECTORS_H
#define GLUVIRT_TESTS_VECTORS_H

#include <stddef.h>

/* One row: what qemu-img 7.2 made of a URI, and what gluvirt must make of it. */
struct uri_vector {
    int line;          /* in the table, for messages */
    char *uri;
    int qemu_ok;       /* qemu-img parsed it (then the fields below are QEMU's) */
    char *transport;   /* tcp, unix or rdma, or NULL */
    char *host;        /* as QEMU passes it on (IPv6 keeps its brackets), or NULL */
    int port;          /* -1 when absent */
    char *volume, *path, *socket;
    int gluvirt_ok;    /* gluvirt accepts it with QEMU's fields */
    char *gluvirt_error; /* else: a piece of gluvirt's error message */
};

/* Load the table from $top_srcdir (or the current directory); aborts the test on error. */
struct uri_vector *load_uri_vectors(size_t *count);
void free_uri_vectors(struct uri_vector *v, size_t count);

#endif

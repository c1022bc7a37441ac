/* The maintenance verbs' options (image_verbs.c), read by compare
 * (image_compare.c), measure (image_measure.c) and resize. */
#ifndef GLUVIRT_IMAGE_VERBS_H
#define GLUVIRT_IMAGE_VERBS_H

#include <stdint.h>

#include <gluvirt/verbs.h>

struct gluvirt_verb_options {
    gluvirt_progress_fn progress;
    void *progress_data;
    int strict;
    int shrink;
    /* measure: the image to measure for */
    gluvirt_format format;
    unsigned cluster_bits;   /* log2 of cluster_size */
    unsigned version;
    unsigned refcount_order; /* log2 of refcount_bits */
    int extended_l2;
    gluvirt_preallocation preallocation;
    int backing;
};

/* The defaults, for a NULL options pointer. */
extern const struct gluvirt_verb_options glv_verb_defaults;

/*
 * Tell the progress callback done of total; -1 with ECANCELED (and a
 * message naming verb) when it asks to stop, else 0.
 */
int glv_verb_progress(const struct gluvirt_verb_options *o, const char *verb, uint64_t done,
                      uint64_t total);

#endif

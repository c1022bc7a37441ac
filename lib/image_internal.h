/* The image handle's structure, shared by the synchronous and callback paths. */
#ifndef GLUVIRT_IMAGE_INTERNAL_H
#define GLUVIRT_IMAGE_INTERNAL_H

#include "format.h"

struct glv_aio;

struct gluvirt_open_options {
    gluvirt_format format;
    int writable;
    int direct;
    gluvirt_completion_mode completion;
    unsigned queue_depth;
};

struct gluvirt_image {
    struct glv_storage *storage;
    struct glv_format *format;
    int writable;
    struct glv_aio *aio; /* the callback engine */
};

/* Checks shared by both paths: -1 with the error set when the request must not run. */
int glv_image_check_writable(gluvirt_image *image, const char *call);
int glv_image_check_range(gluvirt_image *image, const char *call, uint64_t offset,
                          uint64_t length);

/* The callback engine of one image (image_aio.c). */
struct glv_aio *glv_aio_new(gluvirt_completion_mode mode, unsigned depth);
/* Wait for every request in flight, run its callbacks, stop the threads. */
void glv_aio_free(struct glv_aio *aio);

#define GLV_DEFAULT_QUEUE_DEPTH 128
#define GLV_MAX_QUEUE_DEPTH 4096

#endif

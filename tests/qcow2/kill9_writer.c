/*
 * The writer that tests/qcow2/kill9-writes.sh kills, and the judge of what
 * is left.
 *
 *   kill9_writer write IMAGE CLUSTER SEED STEPS
 *       Opens the qcow2 image IMAGE writable and runs a seeded random trace
 *       of STEPS writes, write_zeroes, discards and flushes over its whole
 *       virtual disk.  Before each step N it prints "begin N", and after
 *       each flush returns "flushed N+1", on stdout (line-buffered): steps
 *       0..N are then durable.  After the last step the image is closed and
 *       "flushed STEPS" printed.
 *
 *   kill9_writer judge INITIAL_RAW READ_RAW CLUSTER SEED DURABLE BEGUN
 *       INITIAL_RAW is what the guest read from the image before the trace
 *       (qemu-img convert -O raw), READ_RAW what it reads after the kill.
 *       Replays steps 0..DURABLE-1 of the same trace on INITIAL_RAW (the
 *       model) and marks every byte that steps DURABLE..BEGUN-1 (the ones
 *       begun but not known durable) may have touched; READ_RAW must equal
 *       the model at every other byte.  Exit 0 when it does, else 1 with the
 *       first differing offset.
 *
 * The model's discard: whole clusters inside the range read as zeros (no
 * backing file), the partial clusters at its ends keep their data.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gluvirt/gluvirt.h>

enum op_kind { OP_WRITE, OP_ZEROES, OP_DISCARD, OP_FLUSH };

struct op {
    enum op_kind kind;
    uint64_t offset, length;
};

/* xorshift64*: the writer and the judge draw the same numbers. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t *state, uint64_t n)
{
    return n ? next_random(state) % n : 0;
}

/* The next step of the trace; a write's bytes go to data (room for
 * 3 clusters + 4096). */
static struct op next_op(uint64_t *rng, uint64_t size, uint64_t cluster, unsigned char *data)
{
    struct op op;
    uint64_t kind = below(rng, 100);

    if (below(rng, 3) == 0) {
        op.offset = below(rng, size / cluster) * cluster;
        op.length = (1 + below(rng, 3)) * cluster;
    } else {
        op.offset = below(rng, size);
        op.length = 1 + below(rng, 2 * cluster + 4096);
    }
    if (op.length > size - op.offset)
        op.length = size - op.offset;
    op.kind = kind < 60 ? OP_WRITE : kind < 75 ? OP_ZEROES : kind < 90 ? OP_DISCARD : OP_FLUSH;
    if (op.kind == OP_WRITE)
        for (uint64_t i = 0; i < op.length; i++)
            data[i] = (unsigned char)(next_random(rng) >> 56);
    return op;
}

static uint64_t seed_state(uint64_t seed)
{
    return seed * 0x9e3779b97f4a7c15ull + 1;
}

static int run_writer(const char *path, uint64_t cluster, uint64_t seed, unsigned steps)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    unsigned char *data = malloc((size_t)(3 * cluster + 4096));
    uint64_t rng = seed_state(seed);
    gluvirt_image *image;
    int64_t size;

    if (!options || !data || gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2) < 0 ||
        gluvirt_open_options_set_writable(options, 1) < 0) {
        fprintf(stderr, "kill9_writer: options: %s\n", gluvirt_errmsg());
        return 2;
    }
    image = gluvirt_image_open(NULL, path, options);
    gluvirt_open_options_free(options);
    if (!image || (size = gluvirt_image_size(image)) < 0) {
        fprintf(stderr, "kill9_writer: open %s: %s\n", path, gluvirt_errmsg());
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (unsigned step = 0; step < steps; step++) {
        struct op op = next_op(&rng, (uint64_t)size, cluster, data);
        int rc;

        printf("begin %u\n", step);

        switch (op.kind) {
        case OP_WRITE:
            rc = gluvirt_image_pwrite(image, data, (size_t)op.length, op.offset) ==
                         (ssize_t)op.length ? 0 : -1;
            break;
        case OP_ZEROES:
            rc = gluvirt_image_write_zeroes(image, op.offset, op.length);
            break;
        case OP_DISCARD:
            rc = gluvirt_image_discard(image, op.offset, op.length);
            break;
        default:
            rc = gluvirt_image_flush(image);
            if (rc == 0)
                printf("flushed %u\n", step + 1);
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "kill9_writer: %s: step %u (kind %d) at %" PRIu64 "+%" PRIu64
                    ": %s\n", path, step, (int)op.kind, op.offset, op.length, gluvirt_errmsg());
            return 1;
        }
    }
    if (gluvirt_image_close(image) < 0) {
        fprintf(stderr, "kill9_writer: close %s: %s\n", path, gluvirt_errmsg());
        return 1;
    }
    printf("flushed %u\n", steps);
    free(data);
    return 0;
}

static unsigned char *slurp(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
        !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *size = (uint64_t)len;
    return buf;
}

static int run_judge(const char *initial_path, const char *read_path, uint64_t cluster,
                     uint64_t seed, unsigned durable, unsigned steps)
{
    uint64_t size, read_size, rng = seed_state(seed), untouched = 0;
    unsigned char *model = slurp(initial_path, &size);
    unsigned char *got = slurp(read_path, &read_size);
    unsigned char *touched = calloc(1, (size_t)size + 1);
    unsigned char *data = malloc((size_t)(3 * cluster + 4096));

    if (!touched || !data)
        return 2;
    if (read_size != size) {
        fprintf(stderr, "kill9_writer: %s holds %" PRIu64 " bytes, %s %" PRIu64 "\n",
                read_path, read_size, initial_path, size);
        return 1;
    }
    for (unsigned step = 0; step < steps; step++) {
        struct op op = next_op(&rng, size, cluster, data);

        if (step >= durable) {
            if (op.kind != OP_FLUSH)
                memset(touched + op.offset, 1, (size_t)op.length);
            continue;
        }
        if (op.kind == OP_WRITE) {
            memcpy(model + op.offset, data, (size_t)op.length);
        } else if (op.kind == OP_ZEROES) {
            memset(model + op.offset, 0, (size_t)op.length);
        } else if (op.kind == OP_DISCARD) {
            uint64_t first = (op.offset + cluster - 1) / cluster * cluster;
            uint64_t last = (op.offset + op.length) / cluster * cluster;

            if (first < last)
                memset(model + first, 0, (size_t)(last - first));
        }
    }
    for (uint64_t i = 0; i < size; i++) {
        if (touched[i])
            continue;
        untouched++;
        if (got[i] != model[i]) {
            fprintf(stderr, "kill9_writer: %s differs from the model of steps 0..%u at offset "
                    "%" PRIu64 " (0x%02x, the model 0x%02x), a byte no later step touched\n",
                    read_path, durable, i, got[i], model[i]);
            return 1;
        }
    }
    printf("judged %" PRIu64 " of %" PRIu64 " bytes\n", untouched, size);
    free(model);
    free(got);
    free(touched);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "write") == 0)
        return run_writer(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
                          (unsigned)strtoul(argv[5], NULL, 0));
    if (argc == 8 && strcmp(argv[1], "judge") == 0 &&
        strtoul(argv[6], NULL, 0) <= strtoul(argv[7], NULL, 0))
        return run_judge(argv[2], argv[3], strtoull(argv[4], NULL, 0),
                         strtoull(argv[5], NULL, 0), (unsigned)strtoul(argv[6], NULL, 0),
                         (unsigned)strtoul(argv[7], NULL, 0));
    fprintf(stderr, "usage: kill9_writer write IMAGE CLUSTER SEED STEPS\n"
            "       kill9_writer judge INITIAL_RAW READ_RAW CLUSTER SEED DURABLE BEGUN\n");
    return 2;
}

/*
 * Image locking: QEMU's permission bytes (block/file-posix.c) on any
 * storage that can lock a byte range for one open of a file.  The local
 * backend does it with OFD locks, exactly as QEMU does, so each refuses the
 * other; the gluster backend with gfapi's byte-range locks, which the bricks
 * hold for a client until it unlocks, closes or its connection drops.
 *
 * Locks are shared (read) locks; a conflict is another open holding one.
 * Taking every lock first and checking afterwards, as QEMU does, means
 * two openers racing both see each other and both fail rather than both
 * succeed.
 *
 * Neighbouring bytes are locked and tested as one range, and everything
 * is unlocked in one call: on a volume each call is a round trip to the
 * bricks.  What another open sees is the same (a lock on a range is a lock
 * on each of its bytes, and local locks of one owner merge anyway), and a
 * range is tested byte by byte only once it holds a conflict, to name the
 * permission.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/storage.h"

static const char *const perm_names[] = {"consistent read", "write", "write unchanged",
                                         "resize"};

#define PERM_COUNT 4

/* The next run of set bits of mask at or after bit *first: its first bit
 * in *first and its length, 0 when no bit is left. */
static unsigned next_run(unsigned mask, unsigned *first)
{
    unsigned length = 0;

    while (*first < PERM_COUNT && !(mask & 1u << *first))
        (*first)++;
    while (*first + length < PERM_COUNT && mask & 1u << (*first + length))
        length++;
    return length;
}

/* Bits first .. first + length - 1. */
static unsigned run_bits(unsigned first, unsigned length)
{
    return ((1u << length) - 1) << first;
}

/* The lowest and highest bit of a nonzero mask. */
static unsigned lowest_bit(unsigned mask)
{
    unsigned i = 0;

    while (!(mask & 1u << i))
        i++;
    return i;
}

static unsigned highest_bit(unsigned mask)
{
    unsigned i = PERM_COUNT - 1;

    while (!(mask & 1u << i))
        i--;
    return i;
}

/* One call from the first byte held to the last: the bytes between that
 * this open does not hold have no lock of its own to drop, and another
 * open's locks are never touched by this one's unlock. */
void glv_storage_unlock(struct glv_storage *s)
{
    unsigned perm, unshared, first, last;

    if (!s || !s->ops->lock_range || !(s->locked_perm | s->locked_unshared))
        return;
    perm = s->locked_perm;
    unshared = s->locked_unshared;
    first = perm ? GLV_LOCK_PERM_BASE + lowest_bit(perm)
                 : GLV_LOCK_SHARED_BASE + lowest_bit(unshared);
    last = unshared ? GLV_LOCK_SHARED_BASE + highest_bit(unshared)
                    : GLV_LOCK_PERM_BASE + highest_bit(perm);
    s->ops->lock_range(s, first, last - first + 1, 0);
    s->locked_perm = s->locked_unshared = 0;
}

/* The lock call on bytes first .. first + length - 1 failed with err. */
static int lock_failed(struct glv_storage *s, const char *name, unsigned first, unsigned length,
                       int err)
{
    char bytes[32];

    glv_storage_unlock(s);
    if (length > 1)
        snprintf(bytes, sizeof bytes, "bytes %u-%u", first, first + length - 1);
    else
        snprintf(bytes, sizeof bytes, "byte %u", first);
    glv_set_error(err, "cannot lock %s of image %s for QEMU-style image locking: %s; "
                  "if every writer of this image is coordinated some other way, open it "
                  "with locking off (gluvirt_open_options_set_locking)", bytes, name,
                  strerror(err));
    return -1;
}

/* " (process N)" where the storage names the holder. */
static const char *holder_text(int64_t holder, char *buf, size_t size)
{
    if (holder <= 0)
        return "";
    snprintf(buf, size, ", process %lld", (long long)holder);
    return buf;
}

/* Another open holds byte 100 + i of a permission s does not share. */
static int refuse_held(struct glv_storage *s, const char *name, unsigned i, unsigned perm,
                       int64_t holder)
{
    char who[48];

    glv_storage_unlock(s);
    if (1u << i & (GLV_PERM_WRITE | GLV_PERM_RESIZE)) {
        glv_set_error(EBUSY, "image %s is in use by another writer (QEMU or gluvirt%s): "
                      "failed to get shared \"%s\" lock; close it there first, or open "
                      "read-only with force_share / -U%s", name,
                      holder_text(holder, who, sizeof who), perm_names[i],
                      perm & GLV_PERM_WRITE ? "" : " to read it anyway (its contents may "
                                                   "change while you read)");
        return -1;
    }
    glv_set_error(EBUSY, "image %s is in use by another process (QEMU or gluvirt%s) that "
                  "uses the \"%s\" permission this open does not share; close it there "
                  "first", name, holder_text(holder, who, sizeof who), perm_names[i]);
    return -1;
}

/* Another open holds byte 200 + i: it does not share a permission s wants. */
static int refuse_unshared(struct glv_storage *s, const char *name, unsigned i, unsigned perm,
                           int64_t holder)
{
    char who[48];

    glv_storage_unlock(s);
    glv_set_error(EBUSY, "image %s is in use by another process (QEMU or gluvirt%s) that "
                  "does not share the \"%s\" permission: failed to get \"%s\" lock; close it "
                  "there first%s", name, holder_text(holder, who, sizeof who), perm_names[i],
                  perm_names[i], perm & GLV_PERM_WRITE ? ", or open read-only with "
                                                         "force_share / -U" : "");
    return -1;
}

/* Whether another open holds a lock on byte base + k for a bit k of the
 * run first .. first + length - 1: 1 (the first such k in *which, the
 * holder in *holder), 0, or -1 with the error set and every lock dropped.
 * A run found held is tested again byte by byte, for the permission a
 * message names. */
static int run_held(struct glv_storage *s, const char *name, unsigned base, unsigned first,
                    unsigned length, unsigned *which, int64_t *holder)
{
    int rc = s->ops->lock_test(s, base + first, length, holder);

    if (rc < 0)
        return lock_failed(s, name, base + first, length, errno);
    if (rc && length == 1)
        *which = first;
    if (!rc || length == 1)
        return rc;
    for (unsigned k = first; k < first + length; k++)
        if ((rc = run_held(s, name, base, k, 1, which, holder)) != 0)
            return rc;
    return 0; /* the holder let go meanwhile */
}

/* Whether another open holds byte base + i for a bit i of mask: as
 * run_held, one test a run of neighbouring bits. */
static int find_holder(struct glv_storage *s, const char *name, unsigned mask, unsigned base,
                       unsigned *which, int64_t *holder)
{
    unsigned i, n;
    int rc;

    for (i = 0; (n = next_run(mask, &i)) != 0; i += n)
        if ((rc = run_held(s, name, base, i, n, which, holder)) != 0)
            return rc;
    return 0;
}

/* Take a lock on byte base + i for each bit i of mask, adding the bits
 * taken to *held: 0, or -1 with the error set and every lock dropped. */
static int take_runs(struct glv_storage *s, const char *name, unsigned mask, unsigned base,
                     unsigned *held)
{
    unsigned i, n;

    for (i = 0; (n = next_run(mask, &i)) != 0; i += n) {
        if (s->ops->lock_range(s, base + i, n, 1) < 0)
            return lock_failed(s, name, base + i, n, errno);
        *held |= run_bits(i, n);
    }
    return 0;
}

int glv_storage_lock(struct glv_storage *s, const char *name, unsigned perm, unsigned shared)
{
    unsigned unshared = ~shared & GLV_PERM_ALL, i;
    int64_t holder;
    int rc;

    perm &= GLV_PERM_ALL;
    if (!s->ops->lock_range || !s->ops->lock_test)
        return lock_failed(s, name, GLV_LOCK_PERM_BASE, 1, ENOTSUP);
    if (take_runs(s, name, perm, GLV_LOCK_PERM_BASE, &s->locked_perm) < 0 ||
        take_runs(s, name, unshared, GLV_LOCK_SHARED_BASE, &s->locked_unshared) < 0)
        return -1;
    /* Someone using what this open will not share first: for two writers
     * that names the other writer, the clearer message. */
    if ((rc = find_holder(s, name, unshared, GLV_LOCK_PERM_BASE, &i, &holder)) != 0)
        return rc < 0 ? -1 : refuse_held(s, name, i, perm, holder);
    if ((rc = find_holder(s, name, perm, GLV_LOCK_SHARED_BASE, &i, &holder)) != 0)
        return rc < 0 ? -1 : refuse_unshared(s, name, i, perm, holder);
    return 0;
}

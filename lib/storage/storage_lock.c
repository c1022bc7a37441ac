/*
 * Image locking: QEMU's permission bytes (block/file-posix.c) on any
 * storage that can lock a byte for one open of a file.  The local backend
 * does it with OFD locks, exactly as QEMU does, so each refuses the other;
 * the gluster backend with gfapi's byte-range locks, which the bricks hold
 * for a client until it unlocks, closes or its connection drops.
 *
 * Locks are shared (read) locks; a conflict is another open holding one.
 * Taking every lock first and checking afterwards, as QEMU does, means
 * two openers racing both see each other and both fail rather than both
 * succeed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/storage.h"

static const char *const perm_names[] = {"consistent read", "write", "write unchanged",
                                         "resize"};

#define PERM_COUNT 4

static void unlock_bits(struct glv_storage *s, unsigned perm, unsigned unshared)
{
    for (unsigned i = 0; i < PERM_COUNT; i++) {
        if (perm & (1u << i))
            s->ops->lock_byte(s, GLV_LOCK_PERM_BASE + i, 0);
        if (unshared & (1u << i))
            s->ops->lock_byte(s, GLV_LOCK_SHARED_BASE + i, 0);
    }
}

void glv_storage_unlock(struct glv_storage *s)
{
    if (!s || !s->ops->lock_byte)
        return;
    unlock_bits(s, s->locked_perm, s->locked_unshared);
    s->locked_perm = s->locked_unshared = 0;
}

static int lock_failed(struct glv_storage *s, const char *name, unsigned byte, int err)
{
    glv_storage_unlock(s);
    glv_set_error(err, "cannot lock byte %u of image %s for QEMU-style image locking: %s; "
                  "if every writer of this image is coordinated some other way, open it "
                  "with locking off (gluvirt_open_options_set_locking)", byte, name,
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

/* Whether another open holds byte base + i for a bit i of mask: 1 (the
 * first such i in *which, the holder in *holder), 0, or -1 with the error
 * set and every lock dropped. */
static int find_holder(struct glv_storage *s, const char *name, unsigned mask, unsigned base,
                       unsigned *which, int64_t *holder)
{
    for (unsigned i = 0; i < PERM_COUNT; i++) {
        int rc;

        if (!(mask & 1u << i))
            continue;
        if ((rc = s->ops->lock_test(s, base + i, holder)) < 0)
            return lock_failed(s, name, base + i, errno);
        if (rc) {
            *which = i;
            return 1;
        }
    }
    return 0;
}

int glv_storage_lock(struct glv_storage *s, const char *name, unsigned perm, unsigned shared)
{
    unsigned unshared = ~shared & GLV_PERM_ALL, i;
    int64_t holder;
    int rc;

    perm &= GLV_PERM_ALL;
    if (!s->ops->lock_byte || !s->ops->lock_test)
        return lock_failed(s, name, GLV_LOCK_PERM_BASE, ENOTSUP);
    for (i = 0; i < PERM_COUNT; i++) {
        unsigned bit = 1u << i;

        if ((perm & bit) && s->ops->lock_byte(s, GLV_LOCK_PERM_BASE + i, 1) < 0)
            return lock_failed(s, name, GLV_LOCK_PERM_BASE + i, errno);
        s->locked_perm |= perm & bit;
        if ((unshared & bit) && s->ops->lock_byte(s, GLV_LOCK_SHARED_BASE + i, 1) < 0)
            return lock_failed(s, name, GLV_LOCK_SHARED_BASE + i, errno);
        s->locked_unshared |= unshared & bit;
    }
    /* Someone using what this open will not share first: for two writers
     * that names the other writer, the clearer message. */
    if ((rc = find_holder(s, name, unshared, GLV_LOCK_PERM_BASE, &i, &holder)) != 0)
        return rc < 0 ? -1 : refuse_held(s, name, i, perm, holder);
    if ((rc = find_holder(s, name, perm, GLV_LOCK_SHARED_BASE, &i, &holder)) != 0)
        return rc < 0 ? -1 : refuse_unshared(s, name, i, perm, holder);
    return 0;
}

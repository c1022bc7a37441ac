/*
 * Which locks an open of an image takes (the storage layer takes them,
 * storage_lock.c), chosen as QEMU chooses its permissions, so that QEMU and
 * gluvirt refuse each other's writers and readers where QEMU refuses its
 * own:
 *
 *   writable image          uses read, write, resize; shares read and
 *                           unchanged writes (QEMU's qcow2 writer; a raw
 *                           writer too, so that two writers of a raw disk
 *                           also refuse each other)
 *   read-only qcow2 image   uses read; shares read and unchanged writes:
 *   (and qcow2 backing)     its metadata must not change under it
 *   read-only raw image     uses read; shares everything
 *   force_share             uses read; shares everything (read-only only)
 *   external data file      as a raw image of the same mode
 *
 * With locking off nothing is locked or checked.
 */
#include "config.h"

#include <errno.h>

#include "image/image_internal.h"

GLUVIRT_API int gluvirt_open_options_set_force_share(gluvirt_open_options *o, int force_share)
{
    if (!o) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_force_share: the options object is "
                      "NULL");
        return -1;
    }
    o->force_share = force_share != 0;
    return 0;
}

GLUVIRT_API int gluvirt_open_options_set_locking(gluvirt_open_options *o,
                                                 gluvirt_locking_mode mode)
{
    if (!o || (mode != GLUVIRT_LOCKING_ON && mode != GLUVIRT_LOCKING_OFF)) {
        glv_set_error(EINVAL, "gluvirt_open_options_set_locking: %s",
                      o ? "say GLUVIRT_LOCKING_ON or GLUVIRT_LOCKING_OFF"
                        : "the options object is NULL");
        return -1;
    }
    o->locking = mode;
    return 0;
}

int glv_image_check_lock_options(const gluvirt_open_options *o, const char *name)
{
    if (o->force_share && o->writable) {
        glv_set_error(EINVAL, "cannot open %s writable with force_share: sharing an image "
                      "with its other writers is only allowed for read-only opens; open it "
                      "read-only, or turn locking off if the writers coordinate themselves",
                      name);
        return -1;
    }
    return 0;
}

int glv_image_lock(struct glv_storage *storage, const char *name, const gluvirt_open_options *o,
                   int writable, int metadata)
{
    unsigned perm = GLV_PERM_CONSISTENT_READ, shared = GLV_PERM_ALL;

    if (o->locking == GLUVIRT_LOCKING_OFF)
        return 0;
    if (writable) {
        perm |= GLV_PERM_WRITE | GLV_PERM_RESIZE;
        shared = GLV_PERM_CONSISTENT_READ | GLV_PERM_WRITE_UNCHANGED;
    } else if (metadata && !o->force_share) {
        shared = GLV_PERM_CONSISTENT_READ | GLV_PERM_WRITE_UNCHANGED;
    }
    return glv_storage_lock(storage, name, perm, shared);
}

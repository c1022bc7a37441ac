/*
 * One refcount entry inside a refcount block, for every width the format
 * allows (refcount_order 0 to 6: 1 to 64 bits).  Entries of 8 bits and more
 * are big-endian; narrower ones are packed into bytes from the lowest bit
 * up (entry 0 of a 1-bit block is bit 0 of byte 0).
 *
 * Used by the writer (qcow2_refcount.c) and by the check (qcow2_check*.c);
 * block is a whole refcount block, index below cluster_size * 8 >> order.
 */
#ifndef GLUVIRT_QCOW2_REFCOUNT_ENTRY_H
#define GLUVIRT_QCOW2_REFCOUNT_ENTRY_H

#include <stdint.h>

/* The largest count an entry of this order holds. */
static inline uint64_t qcow2_refcount_max(unsigned order)
{
    return order >= 6 ? UINT64_MAX : (UINT64_C(1) << (1u << order)) - 1;
}

/* Entries per refcount block: log2. */
static inline unsigned qcow2_refcount_block_bits(unsigned cluster_bits, unsigned order)
{
    return cluster_bits + 3 - order;
}

/* Bytes [*from, *to) of the block that hold entry index. */
static inline void qcow2_refcount_entry_span(unsigned order, uint64_t index, uint64_t *from,
                                             uint64_t *to)
{
    if (order < 3) {
        *from = (index << order) >> 3;
        *to = *from + 1;
    } else {
        *from = index << (order - 3);
        *to = *from + (UINT64_C(1) << (order - 3));
    }
}

static inline uint64_t qcow2_refcount_entry_get(const unsigned char *block, unsigned order,
                                                uint64_t index)
{
    uint64_t from, to, v = 0;

    qcow2_refcount_entry_span(order, index, &from, &to);
    if (order < 3) {
        unsigned bits = 1u << order, shift = (unsigned)((index << order) & 7);
        return (uint64_t)(block[from] >> shift) & ((1u << bits) - 1);
    }
    for (uint64_t i = from; i < to; i++)
        v = v << 8 | block[i];
    return v;
}

/* Store count (at most qcow2_refcount_max(order); the caller checks). */
static inline void qcow2_refcount_entry_set(unsigned char *block, unsigned order, uint64_t index,
                                            uint64_t count)
{
    uint64_t from, to;

    qcow2_refcount_entry_span(order, index, &from, &to);
    if (order < 3) {
        unsigned bits = 1u << order, shift = (unsigned)((index << order) & 7);
        unsigned mask = ((1u << bits) - 1) << shift;
        block[from] = (unsigned char)((block[from] & ~mask) | ((unsigned)(count << shift) & mask));
        return;
    }
    for (uint64_t i = to; i-- > from; count >>= 8)
        block[i] = (unsigned char)count;
}

#endif

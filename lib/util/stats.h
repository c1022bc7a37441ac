/*
 * Process-wide event counters for the optimizations the tests must see
 * happen (merged reads, read-ahead hits), not only their results.  Not
 * exported: test programs that assert them link the library's objects
 * statically (lib/libgluvirt_core.la).  Relaxed atomics: the counters order
 * nothing, and they are bumped once per merge or prefetch, not per byte.
 */
#ifndef GLUVIRT_STATS_H
#define GLUVIRT_STATS_H

#include <stdint.h>

enum glv_stat {
    GLV_STAT_MERGED_READS,        /* storage reads that carried several requests */
    GLV_STAT_MERGED_REQUESTS,     /* the requests those reads carried */
    GLV_STAT_READAHEAD_PREFETCHES, /* prefetches sent with a read */
    GLV_STAT_READAHEAD_HITS,      /* reads served from a prefetch (ready or on its way) */
    GLV_STAT_COUNT
};

void glv_stat_add(enum glv_stat stat, uint64_t n);
uint64_t glv_stat_get(enum glv_stat stat);

#endif /* GLUVIRT_STATS_H */

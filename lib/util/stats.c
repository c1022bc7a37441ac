/* Process-wide event counters (see stats.h). */
#include "config.h"

#include <stdatomic.h>

#include "util/stats.h"

static _Atomic uint64_t counters[GLV_STAT_COUNT];

void glv_stat_add(enum glv_stat stat, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[stat], n, memory_order_relaxed);
}

uint64_t glv_stat_get(enum glv_stat stat)
{
    return atomic_load_explicit(&counters[stat], memory_order_relaxed);
}

/* Progress of the verbs on stderr, and Ctrl-C as a clean stop (progress.c). */
#ifndef GLUVIRT_TOOLS_PROGRESS_H
#define GLUVIRT_TOOLS_PROGRESS_H

#include <stdint.h>

struct progress {
    int show;          /* -p given */
    int terminal;      /* stderr is a terminal: a bar, redrawn in place */
    int last_percent;  /* the last whole percent printed (-1: none yet) */
    int drawn;         /* something is on the line the bar uses */
};

/*
 * Start reporting (show: -p was given) and catch SIGINT and SIGTERM until
 * progress_end, so that an interrupted verb stops between two steps and
 * says so instead of dying half-way.
 */
void progress_begin(struct progress *p, int show);

/* A gluvirt_progress_fn: draws, and asks to stop after SIGINT/SIGTERM. */
int progress_report(void *user_data, uint64_t done, uint64_t total);

/* End the bar's line and restore the signals' handlers. */
void progress_end(struct progress *p);

/* Whether a signal asked the verb to stop. */
int progress_interrupted(void);

#endif

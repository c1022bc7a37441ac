/*
 * The -p of compare, measure and resize: on a terminal a bar redrawn in
 * place, elsewhere (a log, a pipe) one line per whole percent, so a log
 * stays readable.  Both go to stderr: stdout carries the verb's answer.
 * SIGINT and SIGTERM make the library's progress callback return "stop",
 * which ends the verb cleanly with ECANCELED.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 40

static volatile sig_atomic_t stop_requested;
static struct sigaction saved_int, saved_term;

static void request_stop(int signo)
{
    (void)signo;
    stop_requested = 1;
}

void progress_begin(struct progress *p, int show)
{
    struct sigaction sa;

    memset(p, 0, sizeof *p);
    p->show = show;
    p->terminal = isatty(STDERR_FILENO);
    p->last_percent = -1;
    stop_requested = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
}

int progress_report(void *user_data, uint64_t done, uint64_t total)
{
    struct progress *p = user_data;
    double fraction = total ? (double)done / (double)total : 1.0;
    int percent = (int)(fraction * 100.0);

    if (p->show && percent != p->last_percent) {
        p->last_percent = percent;
        if (p->terminal) {
            int filled = (int)(fraction * BAR_WIDTH), i;

            fputs("\r[", stderr);
            for (i = 0; i < BAR_WIDTH; i++)
                fputc(i < filled ? '#' : '.', stderr);
            fprintf(stderr, "] %3d%%", percent);
            p->drawn = 1;
        } else {
            fprintf(stderr, "%d%%\n", percent);
        }
        fflush(stderr);
    }
    return stop_requested ? 1 : 0;
}

void progress_end(struct progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
}

int progress_interrupted(void)
{
    return stop_requested != 0;
}

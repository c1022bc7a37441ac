/* The gluvirt command's subcommands, one file each. */
#ifndef GLUVIRT_TOOLS_COMMANDS_H
#define GLUVIRT_TOOLS_COMMANDS_H

#include <stdio.h>

/* Exit codes shared by every subcommand. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

int cmd_uri(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_check_volume(int argc, char **argv);

/* Print "gluvirt: " and the library's last error for this thread to stderr. */
void report_library_error(const char *context);

/* Monotonic time in seconds, for the durations the commands report. */
double seconds_now(void);

/* The pool's counters on one line of stderr ("pool: live=1 idle=1 ..."). */
struct gluvirt_pool;
void print_pool_counters(struct gluvirt_pool *pool);

/* Write s as a JSON string literal (with quotes), or null when s is NULL. */
void print_json_string(FILE *out, const char *s);

#endif

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

/* Print "gluvirt: " and the library's last error for this thread to stderr. */
void report_library_error(const char *context);

/* Write s as a JSON string literal (with quotes), or null when s is NULL. */
void print_json_string(FILE *out, const char *s);

#endif

/* The gluvirt command's subcommands, one file each. */
#ifndef GLUVIRT_TOOLS_COMMANDS_H
#define GLUVIRT_TOOLS_COMMANDS_H

#include <stdio.h>

#include <gluvirt/gluvirt.h>

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
int cmd_check(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

/* Print "gluvirt: " and the library's last error for this thread to stderr. */
void report_library_error(const char *context);

/* Monotonic time in seconds, for the durations the commands report. */
double seconds_now(void);

/* The pool's counters on one line of stderr ("pool: live=1 idle=1 ..."). */
void print_pool_counters(gluvirt_pool *pool);

/* Write s as a JSON string literal (with quotes), or null when s is NULL. */
void print_json_string(FILE *out, const char *s);

/*
 * How the commands that read an image open it (image_options.c).  Each
 * parse_* function takes the text of one option; on a word it does not know
 * it prints "gluvirt COMMAND: ..." on stderr and returns -1 (the command then
 * exits with EXIT_USAGE).
 */
struct image_options {
    gluvirt_format format;          /* -f; GLUVIRT_FORMAT_PROBE when not given */
    gluvirt_backing_policy backing; /* --backing; GLUVIRT_BACKING_SAME_STORE */
    const char *snapshot;           /* an internal snapshot's name or id, or NULL */
    int force_share;                /* -U: open beside a writer (qemu-img's -U) */
};
#define IMAGE_OPTIONS_DEFAULT {GLUVIRT_FORMAT_PROBE, GLUVIRT_BACKING_SAME_STORE, NULL, 0}

/* The words of -U / --force-share in every command's usage. */
#define FORCE_SHARE_USAGE \
    "  -U, --force-share  open the image even while another process (QEMU or\n" \
    "                  gluvirt) writes it, as qemu-img -U; what is read may be changing\n"


/* Whether target is meant as a gluster URI ("gluster...:..."), as the
 * library decides it, rather than a local path. */
int is_gluster_target(const char *target);
/* -f FMT: raw or qcow2. */
int parse_image_format(const char *command, const char *text, gluvirt_format *out);
/* --backing P: same-store, any or none. */
int parse_backing_policy(const char *command, const char *text, gluvirt_backing_policy *out);
/* Open target read-only with options o; NULL with the library's error set
 * (not printed: the caller may retry, as info does). */
gluvirt_image *open_image(gluvirt_pool *pool, const char *target, const struct image_options *o);
/* Without -f, say on stderr which format the probe found, since a probed
 * format is a guess the user did not make. */
void note_probed_format(const char *command, const struct image_options *o, const char *target,
                        gluvirt_image *image);

#endif

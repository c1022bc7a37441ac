/*
 * gluvirt — the command-line face of libgluvirt: one program, one
 * subcommand per task, each in its own file.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gluvirt/gluvirt.h>

#include "commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"uri", cmd_uri, "check a gluster URI and convert it to and from QEMU JSON and libvirt XML"},
    {"connect", cmd_connect, "reach a volume through a connection pool and time it"},
    {"info", cmd_info, "show an image's format and virtual size, as qemu-img info does"},
    {"convert", cmd_convert, "copy an image (raw) into a local file, a volume or stdout"},
    {"bench", cmd_bench, "time a run of read or write requests, as qemu-img bench does"},
    {"map", cmd_map, "show where an image's data lives, as qemu-img map does"},
    {"create", cmd_create, "create a raw or qcow2 image, as qemu-img create does"},
    {"check", cmd_check, "check an image's metadata and repair it, as qemu-img check does"},
    {"check-volume", cmd_check_volume, "check that a gluster volume is ready for VM images"},
    {"compare", cmd_compare, "say whether two images read the same, as qemu-img compare does"},
    {"measure", cmd_measure, "the size an image would take, as qemu-img measure prints it"},
    {"resize", cmd_resize, "change an image's size, as qemu-img resize does"},
    {"snapshot", cmd_snapshot, "list, create, apply or delete internal snapshots, as qemu-img "
                               "snapshot does"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: gluvirt [-v | --debug] COMMAND [ARGS...]\n\n"
                 "  -v, --verbose  print the library's and gfapi's messages (info and up) on "
                 "stderr\n"
                 "  --debug        print its debug messages too\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'gluvirt COMMAND --help' describes each one; 'gluvirt --version' prints the "
                 "library's version.\n");
}

void report_library_error(const char *context)
{
    if (context)
        fprintf(stderr, "gluvirt: %s: %s\n", context, gluvirt_errmsg());
    else
        fprintf(stderr, "gluvirt: %s\n", gluvirt_errmsg());
}

double seconds_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void print_pool_counters(gluvirt_pool *pool)
{
    static const char *const names[] = {"live", "idle", "hits", "misses",
                                        "inits", "failures", "finalised"};
    int i;

    fprintf(stderr, "pool:");
    for (i = GLUVIRT_POOL_LIVE; i <= GLUVIRT_POOL_FINALISED; i++)
        fprintf(stderr, " %s=%lld", names[i],
                (long long)gluvirt_pool_stat(pool, (gluvirt_pool_counter)i));
    fputc('\n', stderr);
}

void print_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void print_log_line(int level, const char *message, void *opaque)
{
    static const char *const names[] = {"", "error", "warning", "info", "debug"};

    (void)opaque;
    fprintf(stderr, "gluvirt: [%s] %s\n",
            level >= GLUVIRT_LOG_ERROR && level <= GLUVIRT_LOG_DEBUG ? names[level] : "?",
            message);
}

int main(int argc, char **argv)
{
    size_t i;

    /* A gluster server that goes away under a write raises SIGPIPE on
     * whichever thread writes its socket; hosts of gfapi ignore it. */
    signal(SIGPIPE, SIG_IGN);

    /* Options before the command: how much of the library's log to show. */
    while (argc >= 2 && argv[1][0] == '-') {
        gluvirt_log_level level;

        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"))
            level = GLUVIRT_LOG_INFO;
        else if (!strcmp(argv[1], "--debug"))
            level = GLUVIRT_LOG_DEBUG;
        else
            break;
        gluvirt_set_log_handler(print_log_line, NULL, NULL, level);
        argc--;
        argv++;
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gluvirt %s (library %s)\n", GLUVIRT_VERSION, gluvirt_version());
        return EXIT_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "gluvirt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}

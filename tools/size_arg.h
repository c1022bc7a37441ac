/* Byte counts on the command line (size_arg.c): one reading of "10G",
 * "1.5M", "0x1000" for every command. */
#ifndef GLUVIRT_TOOLS_SIZE_ARG_H
#define GLUVIRT_TOOLS_SIZE_ARG_H

#include <stdint.h>

/*
 * A byte count as qemu-img reads one: a decimal number, with a fraction
 * only when a unit follows ("1.5M"), and an optional unit b, k, M, G, T, P
 * or E in either case (powers of 1024); or a hexadecimal number without a
 * unit ("0x1000").  Returns 0, or -1 when text is not a size or exceeds max.
 */
int parse_size(const char *text, uint64_t max, uint64_t *out);

/*
 * parse_size, and on failure a line on stderr that names the command, the
 * argument (what: "SIZE", "--size", "-o cluster_size") and its text, and
 * says what a size looks like.  0 or -1.
 */
int size_arg(const char *command, const char *what, const char *text, uint64_t max,
             uint64_t *out);

/*
 * resize's SIZE: "N" sets the size, "+N" adds to it, "-N" takes away
 * (*sign 0, +1, -1).  0, or -1 after a line on stderr.
 */
int resize_size_arg(const char *command, const char *text, int *sign, uint64_t *out);

#endif

/* gluvirt create (to come). */
#include "config.h"

#include <stdio.h>

#include "commands.h"

int cmd_create(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "gluvirt: not available yet\n");
    return 1;
}

/* gluvirt map (to come). */
#include "config.h"

#include <stdio.h>

#include "commands.h"

int cmd_map(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "gluvirt map: not available yet\n");
    return 1;
}

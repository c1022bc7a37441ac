/* gluvirt check_volume (to come). */
#include "config.h"

#include <stdio.h>

#include "commands.h"

int cmd_check_volume(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "gluvirt: not available yet\n");
    return 1;
}

/* rmb compare: not built yet (issue 7). */
#include "cli.h"

#include <stdio.h>

int cmd_compare(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb compare: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

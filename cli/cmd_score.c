/* rmb score: not built yet (see the issue that introduces it). */
#include "cli.h"

#include <stdio.h>

int cmd_score(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb score: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

/* rmb tokenize: not built yet (see the issue that introduces it). */
#include "cli.h"

#include <stdio.h>

int cmd_tokenize(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb tokenize: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

#include "cli.h"

#include <stdio.h>

int cmd_list(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb list: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

#include "cli.h"

#include <stdio.h>

int cmd_eval(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb eval: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

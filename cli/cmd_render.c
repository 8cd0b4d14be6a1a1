/* rmb render: not built yet (see the issue that introduces it). */
#include "cli.h"

#include <stdio.h>

int cmd_render(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs("rmb render: not available in this build yet\n", stderr);
    return EXIT_RUNTIME;
}

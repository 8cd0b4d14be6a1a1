/* The fake server as a process, for end-to-end tests and the bench:
 *   fake_server [--delay-ms N] [--faults slow,drop,429,500,malformed,count|all]
 *               [--fault-every N] [--fault-times N] [--slow-ms N] [--api-key KEY]
 *               [--record FILE]
 * prints the port it listens on (127.0.0.1) on the first line, serves until
 * its standard input closes, then prints its counts as one JSON line. */
#include "fake_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned parse_faults(const char *list)
{
    static const struct {
        const char *name;
        unsigned bit;
    } kinds[] = {{"slow", FAULT_SLOW}, {"drop", FAULT_DROP},           {"429", FAULT_429},
                 {"500", FAULT_500},   {"malformed", FAULT_MALFORMED}, {"count", FAULT_COUNT},
                 {"all", 0x3f}};
    unsigned bits = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (k < sizeof kinds / sizeof kinds[0] && strcmp(t, kinds[k].name) != 0)
            k++;
        if (k == sizeof kinds / sizeof kinds[0]) {
            fprintf(stderr, "fake_server: unknown fault '%s'\n", t);
            exit(2);
        }
        bits |= kinds[k].bit;
    }
    free(copy);
    return bits;
}

int main(int argc, char **argv)
{
    fake_config cfg = {0};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--delay-ms") == 0)
            cfg.delay_ms = atoi(val);
        else if (strcmp(opt, "--faults") == 0)
            cfg.faults = parse_faults(val);
        else if (strcmp(opt, "--fault-every") == 0)
            cfg.fault_every = (unsigned)atoi(val);
        else if (strcmp(opt, "--fault-times") == 0)
            cfg.fault_times = atoi(val);
        else if (strcmp(opt, "--slow-ms") == 0)
            cfg.slow_ms = atoi(val);
        else if (strcmp(opt, "--api-key") == 0)
            cfg.api_key = val;
        else if (strcmp(opt, "--record") == 0)
            cfg.record_path = val;
        else {
            fprintf(stderr, "fake_server: unknown option %s\n", opt);
            return 2;
        }
    }
    fake_server *s = fake_start(&cfg);
    if (!s) {
        fprintf(stderr, "fake_server: cannot start\n");
        return 1;
    }
    printf("%d\n", fake_port(s));
    fflush(stdout);
    while (getchar() != EOF)
        ;
    fake_stats st = fake_get_stats(s);
    fake_stop(s);
    printf("{\"requests\": %" PRIu64 ", \"faults\": %" PRIu64 ", \"max_concurrent\": %d}\n",
           st.requests, st.faults, st.max_concurrent);
    return 0;
}

/* Prefill timing of the native engine on one checkpoint: scores a random
 * token sequence of the given length several times and prints tokens/s and
 * the peak resident memory.  Built and run by bench/model_bench.py.
 *   usage: model_bench DIR THREADS TOKENS REPEATS [KERNELS] */
#include "rmb/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* VmHWM from /proc (ru_maxrss would include a forking parent's pages). */
static long peak_rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    if (fp)
        fclose(fp);
    return kb * 1024;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: model_bench DIR THREADS TOKENS REPEATS [KERNELS]\n");
        return 2;
    }
    rmb_model_options opt = {.threads = atoi(argv[2]), .kernels = argc > 5 ? argv[5] : NULL};
    size_t n = (size_t)atol(argv[3]);
    int reps = atoi(argv[4]);
    rmb_model *m;
    rmb_error err;
    if (rmb_model_open(&m, argv[1], &opt, &err) != RMB_OK) {
        fprintf(stderr, "model_bench: %s\n", err.msg);
        return 1;
    }
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)(1 + (i * 7919) % 100000);
    float score[16];
    double best = 1e30;
    for (int r = 0; r <= reps; r++) { /* run 0 warms the page cache */
        double t0 = now();
        if (rmb_model_score(m, ids, n, score, &err) != RMB_OK) {
            fprintf(stderr, "model_bench: %s\n", err.msg);
            return 1;
        }
        double dt = now() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    printf("{\"tokens_per_second\": %.2f, \"seconds\": %.4f, \"score\": %.6f, "
           "\"peak_rss_bytes\": %ld, \"weight_bytes\": %zu, \"kernels\": \"%s\"}\n",
           (double)n / best, best, score[0], peak_rss_bytes(), rmb_model_weight_bytes(m),
           rmb_model_kernels(m));
    free(ids);
    rmb_model_close(m);
    return 0;
}

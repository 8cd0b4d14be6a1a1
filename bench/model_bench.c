/* Timings of the native engine, for bench/model_bench.py and
 * bench/engine_bench.py.  Modes (each prints one JSON object):
 *   model_bench DIR THREADS TOKENS REPEATS [KERNELS [COMPUTE]]
 *       prefill of one TOKENS-long sequence: tokens/s, peak RSS
 *   model_bench peak THREADS
 *       the CPU's fp32 FMA and bf16 dot-product (vdpbf16ps) peaks, GFLOP/s
 *   model_bench gemm THREADS M
 *       the exact and bf16 GEMMs on Qwen3-0.6B's projection shapes (bf16
 *       weights, M activation rows), GFLOP/s
 *   model_bench ids DATADIR TOKDIR N OUT
 *       token ids of N conversations spread evenly over RMB (every answer of
 *       every item on them, the naive plan's sequences) to the file OUT
 *   model_bench slice DIR THREADS COMPUTE IDS SCORES PLAN
 *       scores the sequences of IDS, PLAN "batch" (rmb_model_score_batch, a
 *       few conversations per call) or "naive" (rmb_model_score each), writes
 *       the scores (float32) to SCORES; wall time, plan counts, peak RSS
 * The ids file: int32 conversations; per conversation int32 items; per item
 * int32 answers (the first preferred); per answer int32 length and the ids. */
#include "model/kernels.h"
#include "rmb/dataset.h"
#include "rmb/model.h"
#include "rmb/prompt.h"

#include <immintrin.h>
#include <pthread.h>
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

static int die(const char *what, const rmb_error *err)
{
    fprintf(stderr, "model_bench: %s: %s\n", what, err ? err->msg : "failed");
    return 1;
}

/* ---- prefill of one sequence ---- */

static int prefill(int argc, char **argv)
{
    rmb_model_options opt = {.threads = atoi(argv[2]),
                             .kernels = argc > 5 && strcmp(argv[5], "-") ? argv[5] : NULL,
                             .compute = argc > 6 ? argv[6] : NULL};
    size_t n = (size_t)atol(argv[3]);
    int reps = atoi(argv[4]);
    rmb_model *m;
    rmb_error err;
    if (rmb_model_open(&m, argv[1], &opt, &err) != RMB_OK)
        return die(argv[1], &err);
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)(1 + (i * 7919) % 100000);
    float score[16];
    double best = 1e30;
    for (int r = 0; r <= reps; r++) { /* run 0 warms the page cache */
        double t0 = now();
        if (rmb_model_score(m, ids, n, score, &err) != RMB_OK)
            return die("score", &err);
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

/* ---- instruction peaks ---- */

#define PEAK_ITERS 20000000L
#define PEAK_ACC 12 /* independent chains: more than latency x throughput */

__attribute__((target("avx512f"))) static void *fma_loop(void *out)
{
    __m512 acc[PEAK_ACC], x = _mm512_set1_ps(1e-7f), y = _mm512_set1_ps(0.999f);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], y, x);
    for (int i = 1; i < PEAK_ACC; i++)
        acc[0] = _mm512_add_ps(acc[0], acc[i]);
    *(float *)out = _mm512_reduce_add_ps(acc[0]);
    return NULL;
}

__attribute__((target("avx512f,avx512bf16"))) static void *bf16_loop(void *out)
{
    __m512 acc[PEAK_ACC];
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3380), y = (__m512bh)_mm512_set1_epi16(0x3F80);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    for (int i = 1; i < PEAK_ACC; i++)
        acc[0] = _mm512_add_ps(acc[0], acc[i]);
    *(float *)out = _mm512_reduce_add_ps(acc[0]);
    return NULL;
}

/* GFLOP/s of loop on `threads` threads at once; flops per instruction given. */
static double peak(void *(*loop)(void *), int threads, double flops_per_op)
{
    pthread_t th[64];
    float sink[64];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, loop, &sink[i]);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double dt = now() - t0;
    return (double)threads * PEAK_ITERS * PEAK_ACC * flops_per_op / dt / 1e9;
}

static int peaks(char **argv)
{
    int threads = atoi(argv[2]);
    __builtin_cpu_init();
    double fma = peak(fma_loop, threads, 32);
    double bf16 = __builtin_cpu_supports("avx512bf16") ? peak(bf16_loop, threads, 64) : 0;
    printf("{\"fma_gflops\": %.1f, \"bf16_gflops\": %.1f}\n", fma, bf16);
    return 0;
}

/* ---- GEMM on the projection shapes ---- */

/* Qwen3-0.6B's projections per layer: (out, in). */
static const size_t shapes[][2] = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048},
                                   {3072, 1024}, {3072, 1024}, {1024, 3072}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static double time_gemm(rmb_pool *pool, const rmb_kernels *kern, bool bf16, const float *x,
                        size_t m, uint16_t *const *w, float *y, float *work)
{
    double best = 1e30, flops = 0;
    for (int r = 0; r < 4; r++) {
        double t0 = now();
        for (size_t s = 0; s < N_SHAPES; s++) {
            if (bf16)
                rmb_gemm_bf16(pool, kern, x, m, shapes[s][1], w[s], RMB_DT_BF16, shapes[s][0], y,
                              (uint16_t *)work, false);
            else
                rmb_gemm(pool, kern, x, m, shapes[s][1], w[s], RMB_DT_BF16, shapes[s][0], y, work,
                         false);
            if (!r)
                flops += 2.0 * (double)m * (double)shapes[s][0] * (double)shapes[s][1];
        }
        double dt = now() - t0;
        if (r && dt < best)
            best = dt;
    }
    return flops / best / 1e9;
}

static int gemms(char **argv)
{
    size_t m = (size_t)atol(argv[3]);
    rmb_pool *pool;
    rmb_error err;
    if (rmb_pool_create(&pool, atoi(argv[2]), &err) != RMB_OK)
        return die("pool", &err);
    const rmb_kernels *kern = rmb_kernels_find(NULL);
    float *x = malloc(m * 3072 * sizeof *x), *y = malloc(m * 3072 * sizeof *y),
          *work = malloc(m * 3072 * sizeof *work);
    uint16_t *w[N_SHAPES];
    unsigned state = 1;
    for (size_t i = 0; i < m * 3072; i++) {
        state = state * 1103515245u + 12345u;
        x[i] = (float)((state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    for (size_t s = 0; s < N_SHAPES; s++) {
        w[s] = malloc(shapes[s][0] * shapes[s][1] * sizeof **w);
        for (size_t i = 0; i < shapes[s][0] * shapes[s][1]; i++)
            w[s][i] = rmb_to_bf16(x[(i * 7) % (m * 3072)] * 0.05f);
    }
    double exact = time_gemm(pool, kern, false, x, m, w, y, work);
    double bf16 = time_gemm(pool, kern, true, x, m, w, y, work);
    printf("{\"exact_gflops\": %.1f, \"bf16_gflops\": %.1f, \"kernels\": \"%s\", \"m\": %zu}\n",
           exact, bf16, kern->name, m);
    for (size_t s = 0; s < N_SHAPES; s++)
        free(w[s]);
    free(x), free(y), free(work);
    rmb_pool_destroy(pool);
    return 0;
}

/* ---- RMB sequences ---- */

static void put32(FILE *f, int32_t v)
{
    fwrite(&v, 4, 1, f);
}

/* Every answer of every item on conversation c, encoded after it. */
static int write_conversation(FILE *f, const rmb_dataset *ds, size_t c, const rmb_tokenizer *tok,
                              const rmb_chat_template *tpl)
{
    const rmb_item *items = rmb_dataset_items(ds);
    size_t n_items = rmb_dataset_n_items(ds), count = 0;
    for (size_t i = 0; i < n_items; i++)
        count += items[i].conversation == c;
    put32(f, (int32_t)count);
    for (size_t i = 0; i < n_items; i++) {
        if (items[i].conversation != c)
            continue;
        put32(f, (int32_t)items[i].n_answers);
        const char *text[8];
        int32_t *ids[8];
        size_t n[8], shared;
        for (size_t a = 0; a < items[i].n_answers; a++)
            text[a] = items[i].answers[a].text;
        rmb_error err;
        if (rmb_prompt_encode_answers(tok, tpl, rmb_dataset_conversation(ds, c), text,
                                      items[i].n_answers, NULL, ids, n, &shared, &err) != RMB_OK)
            return die(items[i].uid, &err);
        for (size_t a = 0; a < items[i].n_answers; a++) {
            put32(f, (int32_t)n[a]);
            fwrite(ids[a], sizeof(int32_t), n[a], f);
            free(ids[a]);
        }
    }
    return 0;
}

static int write_ids(char **argv)
{
    rmb_dataset *ds;
    rmb_tokenizer *tok;
    rmb_chat_template *tpl;
    rmb_error err;
    if (rmb_dataset_open(&ds, argv[2], NULL, NULL, &err) != RMB_OK)
        return die(argv[2], &err);
    if (rmb_tokenizer_open(&tok, argv[3], &err) != RMB_OK ||
        rmb_chat_template_open(&tpl, argv[3], &err) != RMB_OK)
        return die(argv[3], &err);
    size_t want = (size_t)atol(argv[4]), total = rmb_dataset_n_conversations(ds);
    FILE *f = fopen(argv[5], "wb");
    if (!f)
        return die(argv[5], NULL);
    put32(f, (int32_t)want);
    int rc = 0;
    for (size_t i = 0; i < want && !rc; i++)
        rc = write_conversation(f, ds, i * total / want, tok, tpl);
    fclose(f);
    printf("{\"conversations\": %zu, \"items\": %zu}\n", total, rmb_dataset_n_items(ds));
    rmb_chat_template_close(tpl);
    rmb_tokenizer_close(tok);
    rmb_dataset_close(ds);
    return rc;
}

typedef struct seqs {
    size_t n_conv, count;
    size_t *conv_end; /* per conversation: one past its last sequence */
    int32_t **ids;
    size_t *n;
} seqs;

static int32_t get32(FILE *f)
{
    int32_t v = 0;
    if (fread(&v, 4, 1, f) != 1)
        return -1;
    return v;
}

/* One answer's ids appended to s. */
static bool read_answer(FILE *f, seqs *s, size_t *cap)
{
    if (s->count == *cap) {
        *cap *= 2;
        s->ids = realloc(s->ids, *cap * sizeof *s->ids);
        s->n = realloc(s->n, *cap * sizeof *s->n);
    }
    int32_t n = get32(f);
    if (n < 0)
        return false;
    s->n[s->count] = (size_t)n;
    s->ids[s->count] = malloc(s->n[s->count] * sizeof(int32_t) + 1);
    return fread(s->ids[s->count], sizeof(int32_t), s->n[s->count], f) == s->n[s->count] &&
           ++s->count;
}

static bool read_ids(const char *path, seqs *s)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    int32_t n_conv = get32(f);
    bool ok = n_conv >= 0;
    s->n_conv = ok ? (size_t)n_conv : 0;
    s->conv_end = malloc((s->n_conv + 1) * sizeof *s->conv_end);
    s->count = 0;
    size_t cap = 1024;
    s->ids = malloc(cap * sizeof *s->ids);
    s->n = malloc(cap * sizeof *s->n);
    for (size_t c = 0; ok && c < s->n_conv; c++) {
        for (int32_t items = get32(f); ok && items > 0; items--)
            for (int32_t a = get32(f); ok && a > 0; a--)
                ok = read_answer(f, s, &cap);
        s->conv_end[c] = s->count;
    }
    fclose(f);
    return ok;
}

/* Conversations per rmb_model_score_batch call, as a scorer hands them. */
#define CONV_PER_CALL 8

static int slice(char **argv)
{
    rmb_model_options opt = {.threads = atoi(argv[3]), .compute = argv[4]};
    rmb_model *m;
    rmb_error err;
    seqs s;
    if (!read_ids(argv[5], &s))
        return die(argv[5], NULL);
    if (rmb_model_open(&m, argv[2], &opt, &err) != RMB_OK)
        return die(argv[2], &err);
    bool naive = !strcmp(argv[7], "naive");
    size_t no = (size_t)rmb_model_n_outputs(m), tokens = 0, rows = 0, passes = 0;
    float *scores = malloc(s.count * no * sizeof *scores);
    rmb_error *item = malloc(s.count * sizeof *item);
    double t0 = now();
    for (size_t c = 0, first = 0; c < s.n_conv; c += CONV_PER_CALL) {
        size_t end = s.conv_end[c + CONV_PER_CALL < s.n_conv ? c + CONV_PER_CALL - 1 : s.n_conv - 1];
        for (size_t i = first; naive && i < end; i++) {
            if (rmb_model_score(m, s.ids[i], s.n[i], scores + i * no, &err) != RMB_OK)
                return die("score", &err);
            tokens += s.n[i], rows += s.n[i], passes++;
        }
        if (!naive) {
            if (rmb_model_score_batch(m, (const int32_t *const *)s.ids + first, s.n + first,
                                      end - first, scores + first * no, item, &err) != RMB_OK)
                return die("score_batch", &err);
            size_t t, r, p;
            rmb_model_batch_stats(m, &t, &r, &p);
            tokens += t, rows += r, passes += p;
        }
        first = end;
    }
    double dt = now() - t0;
    FILE *f = fopen(argv[6], "wb");
    if (!f || fwrite(scores, sizeof *scores, s.count * no, f) != s.count * no)
        return die(argv[6], NULL);
    fclose(f);
    printf("{\"seconds\": %.3f, \"sequences\": %zu, \"tokens\": %zu, \"rows\": %zu, "
           "\"passes\": %zu, \"peak_rss_bytes\": %ld, \"weight_bytes\": %zu}\n",
           dt, s.count, tokens, rows, passes, peak_rss_bytes(), rmb_model_weight_bytes(m));
    rmb_model_close(m);
    for (size_t i = 0; i < s.count; i++)
        free(s.ids[i]);
    free(s.ids), free(s.n), free(s.conv_end), free(scores), free(item);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "peak"))
        return peaks(argv);
    if (argc >= 4 && !strcmp(argv[1], "gemm"))
        return gemms(argv);
    if (argc >= 6 && !strcmp(argv[1], "ids"))
        return write_ids(argv);
    if (argc >= 8 && !strcmp(argv[1], "slice"))
        return slice(argv);
    if (argc >= 5)
        return prefill(argc, argv);
    fprintf(stderr, "usage: see the comment at the top of bench/model_bench.c\n");
    return 2;
}

/* Timings of the native engine, for bench/model_bench.py and
 * bench/engine_bench.py.  Modes (each prints one JSON object):
 *   model_bench DIR THREADS TOKENS REPEATS [KERNELS [COMPUTE]]
 *       prefill of one TOKENS-long sequence: tokens/s, peak RSS
 *   model_bench peak THREADS
 *       the CPU's fp32 FMA, bf16 dot-product (vdpbf16ps) and int8
 *       dot-product (vpdpbusd, 128 ops: 16 lanes x 4 multiply-adds) peaks,
 *       G(FL)OP/s
 *   model_bench gemm THREADS M
 *       the exact and bf16 GEMMs on Qwen3-0.6B's projection shapes (bf16
 *       weights, M activation rows), GFLOP/s, and the int8 GEMM on the same
 *       weights quantized to Q8_0, GOP/s
 *   model_bench ids DATADIR TOKDIR N OUT
 *       token ids of N conversations spread evenly over RMB (every answer of
 *       every item on them, the naive plan's sequences) to the file OUT
 *   model_bench slice DIR THREADS COMPUTE IDS SCORES PLAN
 *       scores the sequences of IDS, PLAN "batch" (rmb_model_score_batch, a
 *       few conversations per call) or "naive" (rmb_model_score each), writes
 *       the scores (float32) to SCORES; wall time, plan counts, peak RSS
 * The ids file: int32 conversations; per conversation int32 items; per item
 * int32 answers (the first preferred); per answer int32 length and the ids. */
#include "model/cpu/kernels.h"
#include "rmb/dataset.h"
#include "rmb/model.h"
#include "rmb/prompt.h"

#include <immintrin.h>
#include <math.h>
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
                             .kernels = argc > 5 && strcmp(argv[5], "-") ? argv[5] : NULL};
    size_t n = (size_t)atol(argv[3]);
    int reps = atoi(argv[4]);
    rmb_model *m;
    rmb_error err;
    if (rmb_compute_parse(argc > 6 ? argv[6] : NULL, &opt.compute, &err) != RMB_OK ||
        rmb_model_open(&m, argv[1], &opt, &err) != RMB_OK)
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

/* Each loop is PEAK_ACC independent instructions on the accumulators
 * zmm0 .. zmm23 (more chains than latency x throughput on any current
 * core), in assembly so that no compiler keeps them in memory; its sources
 * hold 0x3F803F80 in every dword (1.0039 as float, a pair of 1.0 as bf16,
 * small bytes as int8: no denormals, no overflow).  Every thread starts at
 * a barrier, so all run at once; the best of PEAK_REPS runs counts, each
 * timed from the first thread's start to the last one's end. */
#define PEAK_ITERS 40000000L
#define PEAK_ACC 24
#define PEAK_REPS 3

#define PEAK_1(op, n) op " %%zmm24, %%zmm25, %%zmm" #n "\n\t"
#define PEAK_8(op, a, b, c, d, e, f, g, h)                                                 \
    PEAK_1(op, a) PEAK_1(op, b) PEAK_1(op, c) PEAK_1(op, d) PEAK_1(op, e) PEAK_1(op, f)  \
    PEAK_1(op, g) PEAK_1(op, h)
#define PEAK_24(op)                                                                        \
    PEAK_8(op, 0, 1, 2, 3, 4, 5, 6, 7) PEAK_8(op, 8, 9, 10, 11, 12, 13, 14, 15)          \
    PEAK_8(op, 16, 17, 18, 19, 20, 21, 22, 23)

typedef struct {
    pthread_barrier_t *start;
    double t0, t1; /* when this thread's loop began and ended */
} peak_run;

/* The accumulators start at 0 (vpandd with a zero register). */
#define PEAK_LOOP(name, op)                                                                \
    __attribute__((target("avx512f"))) static void *name(void *arg)                        \
    {                                                                                      \
        peak_run *run = arg;                                                               \
        long n = PEAK_ITERS;                                                               \
        pthread_barrier_wait(run->start);                                                  \
        run->t0 = now();                                                                   \
        __asm__ volatile("vpxord %%zmm25, %%zmm25, %%zmm25\n\t" PEAK_24("vpandd")           \
                         "vpbroadcastd %1, %%zmm24\n\t"                                    \
                         "vmovdqa32 %%zmm24, %%zmm25\n"                                     \
                         "1:\n\t" PEAK_24(op) "dec %0\n\t"                                 \
                         "jnz 1b"                                                          \
                         : "+r"(n)                                                         \
                         : "r"(0x3F803F80)                                                 \
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",  \
                           "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",    \
                           "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",  \
                           "xmm22", "xmm23", "xmm24", "xmm25", "cc");                      \
        run->t1 = now();                                                                   \
        return NULL;                                                                       \
    }

PEAK_LOOP(fma_loop, "vfmadd231ps")
PEAK_LOOP(bf16_loop, "vdpbf16ps")
PEAK_LOOP(int8_loop, "vpdpbusd")

/* G(FL)OP/s of loop on `threads` threads at once; operations per
 * instruction given.  The threads time themselves: with as many threads as
 * CPUs, this thread may run only after the loops have begun. */
static double peak(void *(*loop)(void *), int threads, double ops_per_instruction)
{
    double best = 0;
    for (int rep = 0; rep < PEAK_REPS; rep++) {
        pthread_t th[64];
        peak_run run[64];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) {
            run[i].start = &start;
            pthread_create(&th[i], NULL, loop, &run[i]);
        }
        double t0 = 1e300, t1 = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            t0 = run[i].t0 < t0 ? run[i].t0 : t0;
            t1 = run[i].t1 > t1 ? run[i].t1 : t1;
        }
        double rate = (double)threads * PEAK_ITERS * PEAK_ACC * ops_per_instruction /
                      (t1 - t0) / 1e9;
        best = rate > best ? rate : best;
        pthread_barrier_destroy(&start);
    }
    return best;
}

static int peaks(char **argv)
{
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > 64)
        return die("peak: THREADS must be 1..64", NULL);
    __builtin_cpu_init();
    double fma = peak(fma_loop, threads, 32);
    double bf16 = __builtin_cpu_supports("avx512bf16") ? peak(bf16_loop, threads, 64) : 0;
    double int8 = __builtin_cpu_supports("avx512vnni") ? peak(int8_loop, threads, 128) : 0;
    printf("{\"fma_gflops\": %.1f, \"bf16_gflops\": %.1f, \"int8_gops\": %.1f}\n", fma, bf16,
           int8);
    return 0;
}

/* ---- GEMM on the projection shapes ---- */

/* Qwen3-0.6B's projections per layer: (out, in). */
static const size_t shapes[][2] = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048},
                                   {3072, 1024}, {3072, 1024}, {1024, 3072}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

typedef enum gemm_mode { GEMM_EXACT, GEMM_BF16, GEMM_INT8 } gemm_mode;

/* GFLOP/s (GOP/s for int8) of the projections of one layer, the best run
 * after a warm-up, runs repeated for about as long as `peak` measures one
 * instruction (a second); w holds bf16 weights, or Q8_0 for int8. */
static double time_gemm(rmb_pool *pool, const rmb_kernels *kern, gemm_mode mode, const float *x,
                        size_t m, void *const *w, rmb_dtype dt, float *y, float *work)
{
    double best = 1e30, flops = 0, start = now();
    for (int r = 0; r < 4 || now() - start < 1.0; r++) {
        double t0 = now();
        for (size_t s = 0; s < N_SHAPES; s++) {
            size_t k = shapes[s][1], n = shapes[s][0];
            if (mode == GEMM_BF16)
                rmb_gemm_bf16(pool, kern, x, m, k, w[s], dt, n, y, (uint16_t *)work, false);
            else if (mode == GEMM_INT8)
                rmb_gemm_q8(pool, kern, x, m, k, w[s], n, y, work, false);
            else
                rmb_gemm(pool, kern, x, m, k, w[s], dt, n, y, work, false);
            if (!r)
                flops += 2.0 * (double)m * (double)n * (double)k;
        }
        double dt = now() - t0;
        if (r && dt < best)
            best = dt;
    }
    return flops / best / 1e9;
}

/* n weights (a multiple of 32) as Q8_0 blocks: d = max |w| / 127 as f16. */
__attribute__((target("f16c"))) static void *to_q8_0(const uint16_t *w, size_t n)
{
    unsigned char *q = malloc(n / 32 * 34);
    for (size_t b = 0; b < n / 32; b++) {
        float amax = 0;
        for (size_t i = 0; i < 32; i++)
            amax = fmaxf(amax, fabsf(rmb_from_bf16(w[b * 32 + i])));
        uint16_t h = _cvtss_sh(amax / 127, 0);
        float d = _cvtsh_ss(h);
        memcpy(q + 34 * b, &h, 2);
        for (size_t i = 0; i < 32; i++)
            q[34 * b + 2 + i] = (unsigned char)(signed char)(d > 0 ? roundf(rmb_from_bf16(w[b * 32 + i]) / d) : 0);
    }
    return q;
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
    void *w[N_SHAPES], *wq[N_SHAPES];
    unsigned state = 1;
    for (size_t i = 0; i < m * 3072; i++) {
        state = state * 1103515245u + 12345u;
        x[i] = (float)((state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    /* the bf16 weights as the engine keeps them: prepacked, if the kernels
     * prepack */
    rmb_dtype dt = kern->prepack ? RMB_DT_BF16_PANELS : RMB_DT_BF16;
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t n = shapes[s][0], k = shapes[s][1];
        uint16_t *b = malloc(n * k * sizeof *b);
        for (size_t i = 0; i < n * k; i++)
            b[i] = rmb_to_bf16(x[(i * 7) % (m * 3072)] * 0.05f);
        wq[s] = to_q8_0(b, n * k);
        w[s] = b;
        if (kern->prepack) {
            w[s] = aligned_alloc(64, rmb_prepacked_elements(n, k) * sizeof *b);
            kern->prepack(b, n, k, w[s]);
            free(b);
        }
    }
    double exact = time_gemm(pool, kern, GEMM_EXACT, x, m, w, dt, y, work);
    double bf16 = time_gemm(pool, kern, GEMM_BF16, x, m, w, dt, y, work);
    double int8 = time_gemm(pool, kern, GEMM_INT8, x, m, wq, RMB_DT_Q8_0, y, work);
    printf("{\"exact_gflops\": %.1f, \"bf16_gflops\": %.1f, \"int8_gops\": %.1f, "
           "\"kernels\": \"%s\", \"m\": %zu}\n",
           exact, bf16, int8, kern->name, m);
    for (size_t s = 0; s < N_SHAPES; s++)
        free(w[s]), free(wq[s]);
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
    rmb_model_options opt = {.threads = atoi(argv[3])};
    rmb_model *m;
    rmb_error err;
    seqs s;
    if (!read_ids(argv[5], &s))
        return die(argv[5], NULL);
    if (rmb_compute_parse(argv[4], &opt.compute, &err) != RMB_OK ||
        rmb_model_open(&m, argv[2], &opt, &err) != RMB_OK)
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

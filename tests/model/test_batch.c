/* rmb_model_score_batch against rmb_model_score (bit-identical) and the
 * PyTorch reference (cases.h's tolerance): every model's cases in one
 * batch (make_models.py put one conversation's answers side by side, with a
 * duplicate and a padded copy), plus an empty and an out-of-vocabulary
 * sequence that fail alone, under pass budgets small enough to split the
 * shared-prefix group and the packs, kernel sets, threads and chunks, and
 * on the bf16 compute path (against the reference within BF16_TOL). */
#include "cases.h"
#include "rmb/model.h"
#include "test.h"

#include <string.h>

typedef struct setup {
    const char *kernels;
    int threads, chunk, pass;
    const char *compute;
} setup;

/* The bf16 compute path's tolerance against the float32 reference: bf16
 * keeps 8 bits of mantissa; most models here stay within 3e-2, ArmoRM's
 * product of gates and rewards reaches 7e-2.  Garbage is far outside. */
#define BF16_TOL 1e-1

/* The cases, then an empty sequence and one with an id past the vocabulary. */
typedef struct batch {
    size_t count;
    int32_t **ids;
    size_t *n;
} batch;

static batch make_batch(json_t *model)
{
    json_t *cases = json_object_get(model, "cases");
    batch b = {json_array_size(cases) + 2, NULL, NULL};
    b.ids = calloc(b.count, sizeof *b.ids);
    b.n = calloc(b.count, sizeof *b.n);
    for (size_t i = 0; i + 2 < b.count; i++)
        b.ids[i] = case_ids(json_array_get(cases, i), &b.n[i]);
    b.ids[b.count - 2] = malloc(sizeof(int32_t));
    b.ids[b.count - 1] = malloc(3 * sizeof(int32_t));
    memcpy(b.ids[b.count - 1], (int32_t[]){1, 1 << 30, 2}, 3 * sizeof(int32_t));
    b.n[b.count - 1] = 3;
    return b;
}

static void free_batch(batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        free(b->ids[i]);
    free(b->ids);
    free(b->n);
}

static int check_setup(json_t *model, const batch *b, const setup *su)
{
    const char *dir = json_string_value(json_object_get(model, "dir"));
    rmb_model_options opt = {.threads = su->threads, .kernels = su->kernels,
                             .chunk_tokens = su->chunk};
    rmb_model *m;
    rmb_error err;
    if (rmb_compute_parse(su->compute, &opt.compute, &err) != RMB_OK ||
        rmb_model_open(&m, dir, &opt, &err) != RMB_OK)
        return 0; /* this CPU lacks the set */
    rmb_model_set_pass_tokens(m, (size_t)su->pass);
    size_t no = (size_t)rmb_model_n_outputs(m), cases = b->count - 2;
    float *got = calloc(b->count * no, sizeof *got), alone[64];
    rmb_error *item = calloc(b->count, sizeof *item);
    CHECK_EQ_INT(rmb_model_score_batch(m, (const int32_t *const *)b->ids, b->n, b->count, got,
                                       item, &err), RMB_OK);
    CHECK_EQ_INT(item[cases].status, RMB_EUSAGE);
    CHECK_EQ_INT(item[cases + 1].status, RMB_EDATA);
    CHECK_CONTAINS(item[cases + 1].msg, "token 1");
    size_t tokens, rows, passes;
    rmb_model_batch_stats(m, &tokens, &rows, &passes);
    CHECK(rows < tokens); /* the shared prefix and the duplicate ran once */
    char what[4200];
    snprintf(what, sizeof what, "%s [%s, %d threads, chunk %d, pass %d, %s]", dir, su->kernels,
             su->threads, su->chunk, su->pass, su->compute ? su->compute : "exact");
    double rms = cases_rms(model);
    int bad = 0;
    for (size_t i = 0; i < cases; i++) {
        CHECK_EQ_INT(item[i].status, RMB_OK);
        CHECK_EQ_INT(rmb_model_score(m, b->ids[i], b->n[i], alone, &err), RMB_OK);
        if (memcmp(alone, got + i * no, no * sizeof *got)) {
            fprintf(stderr, "%s case %zu: batch %.9g, alone %.9g\n", what, i, got[i * no], alone[0]);
            bad++;
        }
        bad += case_check(json_array_get(json_object_get(model, "cases"), i), got + i * no, rms,
                          su->compute ? BF16_TOL : TOL, what);
    }
    free(got);
    free(item);
    rmb_model_close(m);
    return bad;
}

static void test_batch_equals_alone(void)
{
    static const setup setups[] = {
        {NULL, 1, 0, 0, NULL},      {"avx512", 2, 4, 40, NULL}, {"avx2", 2, 0, 45, NULL},
        {"scalar", 1, 5, 31, NULL}, {NULL, 2, 0, 12, "bf16"},
    };
    json_t *root = cases_load();
    CHECK(root != NULL);
    size_t i;
    json_t *model;
    json_array_foreach(json_object_get(root, "models"), i, model) {
        batch b = make_batch(model);
        for (size_t s = 0; s < sizeof setups / sizeof setups[0]; s++)
            CHECK_EQ_INT(check_setup(model, &b, &setups[s]), 0);
        free_batch(&b);
    }
    json_decref(root);
}

TEST_MAIN(test_batch_equals_alone)

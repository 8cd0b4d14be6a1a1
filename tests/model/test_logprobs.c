/* The backend's logprobs (model/backend.h) against PyTorch: log softmax of
 * lm_head . final_norm(h) at given tokens, make_models.py's logprobs.json.
 * Two sequences run as one pack (the second's rows after the first's), and
 * logprobs reads (row, token) pairs of both in one call: every next token
 * (more pairs than one block of rows), and the most and least likely token
 * of a few rows.  One model binds a real lm_head.weight with a vocabulary
 * over several streamed blocks, one ties it to the embedding; each runs on
 * the scalar kernels and the best this CPU has.  A model without an LM
 * head fails with RMB_EUNSUPPORTED. */
#include "cases.h"
#include "model/batch.h"
#include "model/net.h"
#include "test.h"

#include <string.h>

/* The model at dir on the kernel set named (NULL: the best), and its
 * backend; *be is NULL when it fails to open. */
static rmb_status open_model(rmb_model **m, rmb_backend **be, const char *dir,
                             const char *kernels, rmb_error *err)
{
    rmb_model_options opt = {.kernels = kernels, .threads = 2};
    rmb_status st = rmb_model_open(m, dir, &opt, err);
    *be = st == RMB_OK ? rmb_model_engine(*m)->backend : NULL;
    return st;
}

/* The two sequences of seqs ({"ids"} each, 256 ids in all at most) as one
 * pack of two spans, run through the backend; first[s] receives sequence
 * s's first row. */
static rmb_status run_pack(rmb_backend *be, json_t *seqs, size_t first[2], rmb_error *err)
{
    int32_t ids[256];
    uint32_t span_of[256];
    rmb_span spans[2];
    size_t rows = 0;
    for (size_t s = 0; s < 2; s++) {
        size_t n;
        int32_t *tok = case_ids(json_array_get(seqs, s), &n);
        first[s] = rows;
        spans[s] = (rmb_span){0, 0, rows, n};
        for (size_t i = 0; i < n; i++, rows++) {
            ids[rows] = tok[i];
            span_of[rows] = (uint32_t)s;
        }
        free(tok);
    }
    rmb_pack pk = {ids, rows, spans, 2, span_of};
    return be->ops->run(be, &pk, err);
}

static json_t *logprobs_load(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/logprobs.json", getenv("RMB_MODEL_FIXTURES"));
    json_error_t jerr;
    return json_load_file(path, 0, &jerr);
}

/* The RMS of the reference log-probabilities: the tolerance's scale for
 * those near 0 (the argmax tokens), as cases.h's for scores. */
static double pairs_rms(json_t *seqs)
{
    double sum = 0, count = 0;
    size_t s, i;
    json_t *seq, *p;
    json_array_foreach(seqs, s, seq)
        json_array_foreach(json_object_get(seq, "pairs"), i, p) {
            double w = json_real_value(json_array_get(p, 2));
            sum += w * w;
            count++;
        }
    return sqrt(sum / count);
}

static void check_model(json_t *model, const char *kernels)
{
    const char *dir = json_string_value(json_object_get(model, "dir"));
    json_t *seqs = json_object_get(model, "seqs");
    rmb_model *m;
    rmb_backend *be;
    rmb_error err = {0};
    rmb_status st = open_model(&m, &be, dir, kernels, &err);
    if (st == RMB_EUNSUPPORTED && kernels) /* this CPU lacks the set */
        return;
    CHECK_EQ_INT(st, RMB_OK);
    if (st != RMB_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        return;
    }
    CHECK(rmb_model_engine(m)->net->lm_head != NULL);
    size_t first[2], n = 0, rows[256];
    int32_t tokens[256];
    double want[256];
    CHECK_EQ_INT(run_pack(be, seqs, first, &err), RMB_OK);
    for (size_t s = 0; s < 2; s++) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(json_array_get(seqs, s), "pairs"), i, p) {
            rows[n] = first[s] + (size_t)json_integer_value(json_array_get(p, 0));
            tokens[n] = (int32_t)json_integer_value(json_array_get(p, 1));
            want[n++] = json_real_value(json_array_get(p, 2));
        }
    }
    CHECK(n > 64); /* more than one group of rows */
    float got[256];
    CHECK_EQ_INT(be->ops->logprobs(be, rows, tokens, n, got, &err), RMB_OK);
    double rms = pairs_rms(seqs);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= TOL * (fabs(want[i]) > rms ? fabs(want[i]) : rms)) &&
            bad++ < 10)
            fprintf(stderr, "%s [%s] row %zu token %d: %.8g, torch %.8g\n", dir,
                    kernels ? kernels : "best", rows[i], tokens[i], got[i], want[i]);
    CHECK_EQ_INT(bad, 0);
    rmb_model_close(m);
}

static void test_logprobs_against_torch(void)
{
    json_t *root = logprobs_load();
    CHECK(root != NULL);
    json_t *models = json_object_get(root, "models"), *model;
    size_t i;
    CHECK(json_array_size(models) == 2);
    json_array_foreach(models, i, model) {
        check_model(model, "scalar");
        check_model(model, NULL);
    }
    json_decref(root);
}

/* llama_f32 has neither lm_head.weight nor tie_word_embeddings. */
static void test_no_head_unsupported(void)
{
    json_t *root = logprobs_load();
    const char *dir = json_string_value(json_object_get(root, "no_head"));
    rmb_model *m;
    rmb_backend *be;
    rmb_error err = {0};
    CHECK_EQ_INT(open_model(&m, &be, dir, NULL, &err), RMB_OK);
    if (!be) {
        json_decref(root);
        return;
    }
    CHECK(rmb_model_engine(m)->net->lm_head == NULL);
    size_t first[2];
    json_t *seqs = json_pack("[{s:[i,i,i]},{s:[i,i]}]", "ids", 1, 2, 3, "ids", 4, 5);
    CHECK_EQ_INT(run_pack(be, seqs, first, &err), RMB_OK);
    size_t row = 1;
    int32_t token = 5;
    float out = 0;
    CHECK_EQ_INT(be->ops->logprobs(be, &row, &token, 1, &out, &err), RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "language-model head");
    CHECK_CONTAINS(err.msg, "LlamaForSequenceClassification");
    json_decref(seqs);
    rmb_model_close(m);
    json_decref(root);
}

TEST_MAIN(test_logprobs_against_torch, test_no_head_unsupported)

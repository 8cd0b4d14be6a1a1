/* Native scores against the PyTorch reference (make_models.py wrote the
 * checkpoints and reference.py's scores to cases.json): every model, every
 * kernel set this CPU runs, 1 and 2 threads, whole-sequence and 4-token
 * chunks.  |rmb - torch| must be within 1e-4 of max(|torch|, the RMS of the
 * model's reference scores) whatever the weight dtype: the reference runs
 * in float32 on the same rounded weights. */
#include "rmb/model.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

#define TOL 1e-4

static int check_model(json_t *model, const char *kernels, int threads, int chunk)
{
    const char *dir = json_string_value(json_object_get(model, "dir"));
    rmb_model_options opt = {.threads = threads, .kernels = kernels, .chunk_tokens = chunk};
    rmb_model *m;
    rmb_error err;
    if (rmb_model_open(&m, dir, &opt, &err) != RMB_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        return 1;
    }
    json_t *cases = json_object_get(model, "cases");
    double rms = 0, count = 0;
    size_t i;
    json_t *c, *v;
    json_array_foreach(cases, i, c) {
        size_t j;
        json_array_foreach(json_object_get(c, "scores"), j, v) {
            rms += json_real_value(v) * json_real_value(v);
            count++;
        }
    }
    rms = sqrt(rms / count);
    int bad = 0;
    json_array_foreach(cases, i, c) {
        json_t *ids = json_object_get(c, "ids"), *want = json_object_get(c, "scores");
        size_t n = json_array_size(ids);
        int32_t *tok = malloc(n * sizeof *tok);
        for (size_t j = 0; j < n; j++)
            tok[j] = (int32_t)json_integer_value(json_array_get(ids, j));
        float got[64];
        CHECK_EQ_INT(rmb_model_n_outputs(m), json_array_size(want));
        if (rmb_model_score(m, tok, n, got, &err) != RMB_OK) {
            fprintf(stderr, "%s: %s\n", dir, err.msg);
            bad++;
        }
        for (size_t j = 0; j < json_array_size(want) && j < 64; j++) {
            double w = json_real_value(json_array_get(want, j));
            double tol = TOL * (fabs(w) > rms ? fabs(w) : rms);
            if (!(fabs(got[j] - w) <= tol)) {
                fprintf(stderr, "%s [%s, %d threads, chunk %d] n=%zu out %zu: %.8g, torch %.8g\n",
                        dir, kernels, threads, chunk, n, j, got[j], w);
                bad++;
            }
        }
        free(tok);
    }
    rmb_model_close(m);
    return bad;
}

static void test_against_torch(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cases.json", getenv("RMB_MODEL_FIXTURES"));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL);
    if (!root)
        return;
    size_t n_sets, i;
    json_t *model;
    json_array_foreach(json_object_get(root, "models"), i, model) {
        static const char *const sets[] = {"avx512", "avx2", "scalar"};
        n_sets = 0;
        for (size_t s = 0; s < 3; s++) {
            rmb_model_options probe = {.kernels = sets[s], .threads = 1};
            rmb_model *m;
            rmb_error err;
            if (rmb_model_open(&m, json_string_value(json_object_get(model, "dir")), &probe,
                               &err) != RMB_OK)
                continue; /* this CPU lacks the set */
            rmb_model_close(m);
            n_sets++;
            CHECK_EQ_INT(check_model(model, sets[s], 1, 0), 0);
            CHECK_EQ_INT(check_model(model, sets[s], 2, 4), 0);
        }
        CHECK(n_sets >= 1);
    }
    json_decref(root);
}

TEST_MAIN(test_against_torch)

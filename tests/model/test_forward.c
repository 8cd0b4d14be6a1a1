/* Native scores against the PyTorch reference (make_models.py wrote the
 * checkpoints and reference.py's scores to cases.json): every model, every
 * kernel set this CPU runs, 1 and 2 threads, whole-sequence and 4-token
 * chunks, within cases.h's tolerance. */
#include "cases.h"
#include "rmb/model.h"
#include "test.h"

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
    double rms = cases_rms(model);
    int bad = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(model, "cases"), i, c) {
        size_t n;
        int32_t *tok = case_ids(c, &n);
        float got[64];
        CHECK_EQ_INT(rmb_model_n_outputs(m), json_array_size(json_object_get(c, "scores")));
        if (rmb_model_score(m, tok, n, got, &err) != RMB_OK) {
            fprintf(stderr, "%s: %s\n", dir, err.msg);
            bad++;
        }
        char what[4200];
        snprintf(what, sizeof what, "%s [%s, %d threads, chunk %d]", dir, kernels, threads, chunk);
        bad += case_check(c, got, rms, TOL, what);
        free(tok);
    }
    rmb_model_close(m);
    return bad;
}

static void test_against_torch(void)
{
    json_t *root = cases_load();
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

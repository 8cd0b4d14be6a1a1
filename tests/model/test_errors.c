/* Broken checkpoints (make_models.py wrote them, with the words each error
 * must contain to errors.json) fail to open with a clear message. */
#include "rmb/model.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

static void test_broken_checkpoints(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/errors.json", getenv("RMB_MODEL_FIXTURES"));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL);
    size_t i, j;
    json_t *e, *word;
    json_array_foreach(json_object_get(root, "errors"), i, e) {
        rmb_model *m = NULL;
        rmb_error err = {0};
        const char *dir = json_string_value(json_object_get(e, "dir"));
        CHECK(rmb_model_open(&m, dir, NULL, &err) != RMB_OK);
        CHECK(m == NULL);
        json_array_foreach(json_object_get(e, "expect"), j, word)
            CHECK_CONTAINS(err.msg, json_string_value(word));
    }
    CHECK_EQ_INT(json_array_size(json_object_get(root, "errors")), 8);
    json_decref(root);
}

static void test_bad_options_and_inputs(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/llama_f32", getenv("RMB_MODEL_FIXTURES"));
    rmb_model *m;
    rmb_error err;
    rmb_compute junk; /* the model takes the enum: the name fails where it is parsed */
    CHECK_EQ_INT(rmb_compute_parse("fast", &junk, &err), RMB_EUSAGE);
    CHECK_CONTAINS(err.msg, "'fast'");
    CHECK_CONTAINS(err.msg, "'bf16'");
    CHECK_CONTAINS(err.msg, "'int8'");
    rmb_model_options int8 = {.compute = RMB_COMPUTE_INT8}; /* llama_f32 has no Q8_0 matrix */
    CHECK_EQ_INT(rmb_model_open(&m, dir, &int8, &err), RMB_EUSAGE);
    CHECK_CONTAINS(err.msg, "llama_f32: compute 'int8' needs Q8_0 weights");
    CHECK_EQ_INT(rmb_model_open(&m, "/nonexistent-model-dir", NULL, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "/nonexistent-model-dir/config.json");
    CHECK_EQ_INT(rmb_model_open(&m, dir, NULL, &err), RMB_OK);
    CHECK_EQ_STR(rmb_model_architecture(m), "LlamaForSequenceClassification");
    CHECK_EQ_INT(rmb_model_n_outputs(m), 1);
    CHECK_EQ_INT(rmb_model_context_length(m), 4096);
    CHECK_EQ_INT(rmb_model_pad_token_id(m), 0);
    float score;
    int32_t ids[2] = {5, 512};
    CHECK_EQ_INT(rmb_model_score(m, ids, 0, &score, &err), RMB_EUSAGE);
    CHECK_EQ_INT(rmb_model_score(m, ids, 2, &score, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "id 512 is outside the vocabulary");
    rmb_model_close(m);
}

TEST_MAIN(test_broken_checkpoints, test_bad_options_and_inputs)

/* The tokenizer's loader on small hand-written tokenizer.json files: clear
 * errors for malformed or unsupported files, the token/id lookups, and the
 * same ids from concurrent encodes.  (Encodings against the Hugging Face
 * oracle are in compare.py.) */
#include "rmb/tokenizer.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static const char *write_tmp(const char *json)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rmb_tok_unit_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    return path;
}

/* Opening json fails with status and a message containing want. */
static void expect_error(const char *json, rmb_status status, const char *want)
{
    rmb_tokenizer *tok = (rmb_tokenizer *)1;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_tokenizer_open(&tok, write_tmp(json), &err), status);
    CHECK(tok == NULL);
    CHECK_CONTAINS(err.msg, want);
}

#define MODEL(rest) "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, " rest "}"

static void test_errors(void)
{
    expect_error("{", RMB_EDATA, "line 1");
    expect_error("[]", RMB_EDATA, "expected an object");
    expect_error("{}", RMB_EDATA, "model: missing");
    expect_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", RMB_EUNSUPPORTED,
                 "\"WordPiece\" is not supported");
    expect_error("{\"model\": {\"type\": \"Unigram\"}}", RMB_EUNSUPPORTED, "Unigram");
    expect_error(MODEL("\"merges\": [\"a c\"]}"), RMB_EDATA, "model.merges[0]: token \"c\"");
    expect_error(MODEL("\"merges\": [7]}"), RMB_EDATA, "model.merges[0]: expected");
    expect_error(MODEL("\"merges\": \"a b\"}"), RMB_EDATA, "model.merges: expected an array");
    expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -4}, \"merges\": []}}", RMB_EDATA,
                 "model.vocab[\"a\"]: expected an id");
    expect_error(MODEL("\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
                       "{\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}"),
                 RMB_EDATA, "pre_tokenizer.pattern.Regex: invalid regex");
    expect_error(MODEL("\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": "
                       "[{\"type\": \"ByteLevel\"}, {\"type\": \"Nope\"}]}"),
                 RMB_EUNSUPPORTED, "pre_tokenizer.pretokenizers[1]: pre-tokenizer type \"Nope\"");
    expect_error(MODEL("\"merges\": []}, \"normalizer\": {\"type\": \"Precompiled\"}"),
                 RMB_EUNSUPPORTED, "normalizer type \"Precompiled\" is not supported");
    expect_error(MODEL("\"merges\": []}, \"normalizer\": {\"type\": \"Replace\", \"content\": \"x\"}"),
                 RMB_EDATA, "normalizer.pattern: expected");
    expect_error(MODEL("\"merges\": []}, \"post_processor\": {\"type\": \"TemplateProcessing\", "
                       "\"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}}]}"),
                 RMB_EDATA, "\"<s>\" missing");
    expect_error(MODEL("\"merges\": []}, \"added_tokens\": [{\"id\": 5}]"), RMB_EDATA,
                 "added_tokens[0].content: missing");
    expect_error(MODEL("\"merges\": [], \"unk_token\": \"<unk>\"}"), RMB_EDATA,
                 "model.unk_token: \"<unk>\" is not in the vocab");
    rmb_tokenizer *tok;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_tokenizer_open(&tok, "/nonexistent/dir", &err), RMB_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/dir");
}

static const char *small =
    MODEL("\"merges\": [[\"a\", \"b\"]]}, \"added_tokens\": [{\"id\": 3, \"content\": \"<s>\", "
          "\"special\": true, \"normalized\": false}], \"post_processor\": {\"type\": "
          "\"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, "
          "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": {\"<s>\": {\"id\": "
          "\"<s>\", \"ids\": [3], \"tokens\": [\"<s>\"]}}}");

static void test_lookups(void)
{
    rmb_tokenizer *tok;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_tokenizer_open(&tok, write_tmp(small), &err), RMB_OK);
    if (!tok)
        return;
    CHECK_EQ_INT(rmb_tokenizer_vocab_size(tok), 4);
    CHECK_EQ_INT(rmb_tokenizer_token_id(tok, "ab"), 2);
    CHECK_EQ_INT(rmb_tokenizer_token_id(tok, "<s>"), 3);
    CHECK_EQ_INT(rmb_tokenizer_token_id(tok, "zz"), -1);
    CHECK_EQ_STR(rmb_tokenizer_token(tok, 1), "b");
    CHECK_EQ_STR(rmb_tokenizer_token(tok, 3), "<s>");
    CHECK(rmb_tokenizer_token(tok, 4) == NULL);
    CHECK(rmb_tokenizer_token(tok, -1) == NULL);
    /* "abba<s>a": merge a+b, unknown characters dropped (no unk_token). */
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(rmb_tokenizer_encode(tok, "abba<s>a", 8, true, &ids, &n, &err), RMB_OK);
    int32_t want[] = {3, 2, 1, 0, 3, 0};
    CHECK_EQ_INT(n, 6);
    for (size_t i = 0; i < n && i < 6; i++)
        CHECK_EQ_INT(ids[i], want[i]);
    free(ids);
    CHECK_EQ_INT(rmb_tokenizer_encode(tok, "", 0, false, &ids, &n, &err), RMB_OK);
    CHECK_EQ_INT(n, 0);
    free(ids);
    rmb_tokenizer_close(tok);
}

typedef struct {
    const rmb_tokenizer *tok;
    size_t total;
} run;

static void *encode_many(void *arg)
{
    run *r = arg;
    for (int i = 0; i < 2000; i++) {
        int32_t *ids;
        size_t n;
        rmb_error err = {0};
        if (rmb_tokenizer_encode(r->tok, "ab<s>ba\xff" "ab", 10, true, &ids, &n, &err) == RMB_OK)
            r->total += n;
        free(ids);
    }
    return NULL;
}

static void test_threads(void)
{
    rmb_tokenizer *tok;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_tokenizer_open(&tok, write_tmp(small), &err), RMB_OK);
    if (!tok)
        return;
    run r[4] = {{tok, 0}, {tok, 0}, {tok, 0}, {tok, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, encode_many, &r[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(r[i].total, 2000 * 6); /* <s> ab <s> b a ab */
    }
    rmb_tokenizer_close(tok);
}

TEST_MAIN(test_errors, test_lookups, test_threads)

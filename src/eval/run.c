/* rmb_eval_run: data -> plan -> scores -> metrics -> files. */
#include "rmb/eval.h"

#include "common/fileio.h"
#include "eval/plan.h"
#include "eval/records.h"
#include "eval/summary.h"

#include <stdlib.h>
#include <string.h>

struct rmb_eval_result {
    char *table;
    char *out_dir;
    rmb_metrics metrics;
};

/* Everything one run holds; released by run_free. */
typedef struct run {
    const rmb_eval_options *opt;
    const rmb_context *ctx;
    rmb_error *err;
    char *data_dir;
    rmb_dataset *ds;
    rmb_scorer *scorer;
    rmb_records records;  /* results:FILE runs */
    rmb_outcome *outcomes; /* scorer runs */
    double *scores;        /* per (item, answer), for scorer runs */
    size_t n_outcomes;
    const rmb_outcome *view; /* the outcomes the metrics read */
    rmb_run_info info;
    char *scorer_report;
} run;

static void run_free(run *r)
{
    rmb_dataset_close(r->ds);
    rmb_scorer_close(r->scorer);
    rmb_records_free(&r->records);
    free(r->outcomes);
    free(r->scores);
    free(r->data_dir);
    free(r->scorer_report);
}

static const char *results_path(const char *model)
{
    return strncmp(model, "results:", 8) ? NULL : model + 8;
}

/* ---- scoring ---- */

/* The first item that uses sequence s, for naming a failure. */
static const rmb_item *item_of_sequence(const rmb_dataset *ds, const rmb_plan *plan, size_t s)
{
    const rmb_item *items = rmb_dataset_items(ds);
    for (size_t i = 0; i < rmb_dataset_n_items(ds); i++)
        for (size_t a = plan->first_answer[i]; a < plan->first_answer[i + 1]; a++)
            if (plan->answer_sequence[a] == s)
                return &items[i];
    return NULL;
}

/* Scores every distinct sequence in batches; any failed sequence fails the
 * run (no output is written), naming the first item that needs it. */
static rmb_status score_sequences(run *r, const rmb_plan *plan, double *seq_scores)
{
    size_t batch = r->scorer->batch_size ? r->scorer->batch_size : 64;
    rmb_error *item_err = calloc(batch, sizeof *item_err);
    if (!item_err)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    rmb_status st = RMB_OK;
    for (size_t at = 0; st == RMB_OK && at < plan->n_sequences; at += batch) {
        size_t n = plan->n_sequences - at < batch ? plan->n_sequences - at : batch;
        st = rmb_scorer_score(r->scorer, plan->sequences + at, n, seq_scores + at, item_err,
                              r->ctx, r->err);
        for (size_t i = 0; st == RMB_OK && i < n; i++) {
            if (item_err[i].status == RMB_OK)
                continue;
            const rmb_item *it = item_of_sequence(r->ds, plan, at + i);
            st = rmb_fail(r->err, item_err[i].status, "%s: item %zu (uid %s): scoring failed: %s",
                          it ? it->file : "?", it ? it->index : 0, it ? it->uid : "?",
                          item_err[i].msg);
        }
        rmb_progress(r->ctx, "scoring", at + n, plan->n_sequences);
    }
    free(item_err);
    return st;
}

static rmb_status alloc_outcomes(run *r, size_t n_items, size_t n_scores)
{
    r->outcomes = calloc(n_items + 1, sizeof *r->outcomes);
    r->scores = calloc(n_scores + 1, sizeof *r->scores);
    if (!r->outcomes || !r->scores)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    r->n_outcomes = n_items;
    return RMB_OK;
}

static rmb_status score_with_scorer(run *r)
{
    const rmb_item *items = rmb_dataset_items(r->ds);
    size_t n = rmb_dataset_n_items(r->ds);
    rmb_plan plan;
    rmb_status st = rmb_plan_build(&plan, r->ds, items, n, r->err);
    if (st != RMB_OK)
        return st;
    double *seq_scores = calloc(plan.n_sequences + 1, sizeof *seq_scores);
    st = seq_scores ? alloc_outcomes(r, n, plan.n_answers) : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = score_sequences(r, &plan, seq_scores);
    if (st == RMB_OK) {
        for (size_t a = 0; a < plan.n_answers; a++)
            r->scores[a] = seq_scores[plan.answer_sequence[a]];
        for (size_t i = 0; i < n; i++)
            r->outcomes[i] = (rmb_outcome){&items[i], r->scores + plan.first_answer[i]};
        r->info.naive_sequences = plan.n_answers;
        r->info.distinct_sequences = plan.n_sequences;
    }
    free(seq_scores);
    rmb_plan_free(&plan);
    return st;
}

/* Judges: the preferred answer scores 1, another answer scores 0 when the
 * judge preferred the preferred answer over it and 1 otherwise, so the usual
 * strict rule makes an item correct exactly when every comparison was won. */
static rmb_status score_with_judge(run *r)
{
    const rmb_item *items = rmb_dataset_items(r->ds);
    size_t n = rmb_dataset_n_items(r->ds);
    rmb_comparison_plan plan;
    rmb_status st = rmb_comparison_plan_build(&plan, r->ds, items, n, r->err);
    if (st != RMB_OK)
        return st;
    size_t n_answers = plan.n_naive + n;
    int *verdicts = calloc(plan.n_comparisons + 1, sizeof *verdicts);
    size_t batch = r->scorer->batch_size ? r->scorer->batch_size : 16;
    rmb_error *item_err = calloc(batch, sizeof *item_err);
    st = verdicts && item_err ? alloc_outcomes(r, n, n_answers)
                              : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    for (size_t at = 0; st == RMB_OK && at < plan.n_comparisons; at += batch) {
        size_t k = plan.n_comparisons - at < batch ? plan.n_comparisons - at : batch;
        if (rmb_canceled(r->ctx))
            st = rmb_fail(r->err, RMB_ECANCELED, "canceled");
        else
            st = r->scorer->ops->compare(r->scorer, plan.comparisons + at, k, verdicts + at, item_err,
                                         r->ctx, r->err);
        for (size_t i = 0; st == RMB_OK && i < k; i++)
            if (item_err[i].status != RMB_OK)
                st = rmb_fail(r->err, item_err[i].status, "comparison %zu: judging failed: %s",
                              at + i, item_err[i].msg);
        rmb_progress(r->ctx, "judging", at + k, plan.n_comparisons);
    }
    if (st == RMB_OK) {
        double *s = r->scores;
        for (size_t i = 0; i < n; i++) {
            r->outcomes[i] = (rmb_outcome){&items[i], s};
            s[0] = 1;
            for (size_t j = 1; j < items[i].n_answers; j++)
                s[j] = verdicts[plan.item_comparison[plan.first[i] + j - 1]] == RMB_VERDICT_FIRST ? 0 : 1;
            s += items[i].n_answers;
        }
        r->info.naive_sequences = plan.n_naive;
        r->info.distinct_sequences = plan.n_comparisons;
    }
    free(item_err);
    free(verdicts);
    rmb_comparison_plan_free(&plan);
    return st;
}

/* ---- sources of outcomes ---- */

static char *default_out_dir(const char *name)
{
    char *dir = NULL;
    if (asprintf(&dir, "results/%s", name) < 0)
        return NULL;
    for (char *p = dir + 8; *p; p++)
        if (*p == '/' || *p == ':' || *p == ' ')
            *p = '-';
    return dir;
}

static rmb_status run_scorer(run *r, const char *out_dir)
{
    rmb_scorer_options so = r->opt->scorer;
    so.artifacts_dir = out_dir;
    rmb_status st = rmb_scorer_open(&r->scorer, r->opt->model, &so, r->err);
    if (st != RMB_OK)
        return st;
    r->info.scorer_name = r->scorer->name;
    if ((st = rmb_data_locate(r->opt->data_dir, &r->data_dir, r->err)) != RMB_OK ||
        (st = rmb_dataset_open(&r->ds, r->data_dir, &r->opt->subset, r->ctx, r->err)) != RMB_OK)
        return st;
    r->info.data_dir = r->data_dir;
    if (rmb_dataset_n_items(r->ds) == 0)
        return rmb_fail(r->err, RMB_EUSAGE, "%s: the selection has no items (check --subset)",
                        r->data_dir);
    st = r->scorer->ops->score ? score_with_scorer(r) : score_with_judge(r);
    if (st == RMB_OK && r->scorer->ops->report)
        r->info.scorer_report = r->scorer_report = r->scorer->ops->report(r->scorer);
    r->view = r->outcomes;
    return st;
}

/* Cross-checks results records against the dataset: a uid the dataset has
 * must agree on scenario and answer count; unknown uids are counted. */
static rmb_status check_records(run *r)
{
    for (size_t i = 0; i < r->records.n; i++) {
        const rmb_item *rec = &r->records.items[i];
        const rmb_item *it = rmb_dataset_find(r->ds, rec->set, rec->uid);
        if (!it) {
            r->info.unknown_uids++;
            continue;
        }
        if (strcmp(it->category_path, rec->category_path) != 0)
            return rmb_fail(r->err, RMB_EDATA,
                            "%s: record %zu (uid %s): field category_path: \"%s\", but the dataset "
                            "has this uid in \"%s\" (%s item %zu)",
                            rec->file, rec->index, rec->uid, rec->category_path, it->category_path,
                            it->file, it->index);
        if (it->n_answers != rec->n_answers)
            return rmb_fail(r->err, RMB_EDATA,
                            "%s: record %zu (uid %s): field loser_rewards: %zu rewards, but the "
                            "dataset item has %zu losers (%s item %zu)",
                            rec->file, rec->index, rec->uid, rec->n_answers - 1, it->n_answers - 1,
                            it->file, it->index);
    }
    if (r->info.unknown_uids)
        rmb_log(r->ctx, RMB_LOG_WARN, "%zu record%s of %s have uids the dataset at %s lacks (counted, not dropped)",
                r->info.unknown_uids, r->info.unknown_uids == 1 ? "" : "s", r->info.results_file,
                r->data_dir);
    return RMB_OK;
}

static rmb_status run_results(run *r, const char *path)
{
    r->info.results_file = path;
    r->info.scorer_name = "results";
    rmb_status st = rmb_records_read(&r->records, path, &r->opt->subset, r->ctx, r->err);
    if (st != RMB_OK)
        return st;
    if (r->records.n == 0)
        return rmb_fail(r->err, RMB_EUSAGE, "%s: no records%s", path,
                        r->opt->subset.n_patterns ? " in the selection (check --subset)" : "");
    r->info.is_correct_mismatches = r->records.is_correct_mismatches;
    if (r->records.is_correct_mismatches)
        rmb_log(r->ctx, RMB_LOG_WARN,
                "%s: %zu stored is_correct values disagree with their rewards; rmb recomputes them",
                path, r->records.is_correct_mismatches);
    /* The dataset is optional here: cross-check when one is found. */
    rmb_error locate_err;
    if (rmb_data_locate(r->opt->data_dir, &r->data_dir, &locate_err) == RMB_OK) {
        if ((st = rmb_dataset_open(&r->ds, r->data_dir, &r->opt->subset, r->ctx, r->err)) != RMB_OK ||
            (st = check_records(r)) != RMB_OK)
            return st;
        r->info.data_dir = r->data_dir;
    } else if (r->opt->data_dir) {
        return rmb_fail(r->err, locate_err.status, "%s", locate_err.msg);
    }
    r->view = r->records.outcomes;
    r->n_outcomes = r->records.n;
    return RMB_OK;
}

/* ---- output ---- */

typedef struct output {
    const char *name;
    rmb_outfile file;
} output;

static rmb_status write_outputs(run *r, const char *dir, const rmb_metrics *m, const rmb_coverage *c)
{
    rmb_status st = rmb_mkdirs(dir, r->err);
    if (st != RMB_OK)
        return st;
    output outs[] = {{"pairwise.json", {0}}, {"bon.json", {0}}, {"summary.json", {0}}, {"summary.md", {0}}};
    enum { N = sizeof outs / sizeof outs[0] };
    char *texts[2] = {rmb_summary_json(m, c, &r->info), rmb_summary_markdown(m, c, &r->info)};
    if (!texts[0] || !texts[1])
        st = rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < N; i++) {
        char *path;
        if (asprintf(&path, "%s/%s", dir, outs[i].name) < 0)
            st = rmb_fail(r->err, RMB_ENOMEM, "out of memory");
        else {
            st = rmb_outfile_open(&outs[i].file, path, r->err);
            free(path);
        }
        if (st != RMB_OK)
            break;
        if (i < 2)
            st = rmb_records_write(outs[i].file.fp, i == 0 ? RMB_SET_PAIRWISE : RMB_SET_BON, r->view,
                                   r->n_outcomes, outs[i].file.path, r->err);
        else
            fputs(texts[i - 2], outs[i].file.fp);
        if (st == RMB_OK)
            st = rmb_outfile_close(&outs[i].file, r->err);
    }
    /* Rename only once every file is complete. */
    for (size_t i = 0; st == RMB_OK && i < N; i++)
        st = rmb_outfile_commit(&outs[i].file, r->err);
    for (size_t i = 0; i < N; i++)
        rmb_outfile_discard(&outs[i].file);
    free(texts[0]);
    free(texts[1]);
    return st;
}

static rmb_status finish(run *r, rmb_eval_result *res)
{
    rmb_status st = rmb_metrics_compute(r->view, r->n_outcomes, &res->metrics, r->err);
    if (st != RMB_OK)
        return st;
    rmb_coverage cov;
    if ((st = rmb_coverage_compute(&res->metrics, &r->opt->subset, &cov, r->err)) != RMB_OK)
        return st;
    st = write_outputs(r, res->out_dir, &res->metrics, &cov);
    if (st == RMB_OK && !(res->table = rmb_summary_table(&res->metrics, &cov, &r->info)))
        st = rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    free(cov.missing);
    return st;
}

static char *name_for_out_dir(const rmb_eval_options *opt)
{
    const char *results = results_path(opt->model);
    if (!results)
        return NULL; /* known once the scorer is open */
    const char *base = strrchr(results, '/');
    base = base ? base + 1 : results;
    char *name = strdup(base);
    if (name) {
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
    }
    return name;
}

rmb_status rmb_eval_run(const rmb_eval_options *opt, const rmb_context *ctx, rmb_eval_result **out,
                        rmb_error *err)
{
    *out = NULL;
    rmb_eval_result *res = calloc(1, sizeof *res);
    if (!res)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    run r = {.opt = opt, .ctx = ctx, .err = err};
    r.info.model = opt->model;
    r.info.subset = &opt->subset;
    rmb_status st;
    const char *results = results_path(opt->model);
    if (results) {
        if (!*results)
            st = rmb_fail(err, RMB_EUSAGE, "--model results:FILE needs a file name");
        else
            st = run_results(&r, results);
        if (st == RMB_OK) {
            char *name = name_for_out_dir(opt);
            res->out_dir = opt->out_dir ? strdup(opt->out_dir) : name ? default_out_dir(name) : NULL;
            free(name);
        }
    } else {
        r.info.options = &opt->scorer;
        /* The out dir must be known before scoring (judges keep raw outputs
         * there), and its default depends on the scorer's name: open the
         * scorer first when no --out was given. */
        if (!opt->out_dir) {
            rmb_scorer *probe;
            st = rmb_scorer_open(&probe, opt->model, &opt->scorer, err);
            if (st == RMB_OK) {
                res->out_dir = default_out_dir(probe->name);
                rmb_scorer_close(probe);
            }
        } else {
            res->out_dir = strdup(opt->out_dir);
            st = RMB_OK;
        }
        if (st == RMB_OK)
            st = res->out_dir ? run_scorer(&r, res->out_dir) : rmb_fail(err, RMB_ENOMEM, "out of memory");
    }
    if (st == RMB_OK && !res->out_dir)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = finish(&r, res);
    run_free(&r);
    if (st != RMB_OK) {
        rmb_eval_result_free(res);
        return st;
    }
    *out = res;
    return RMB_OK;
}

void rmb_eval_result_free(rmb_eval_result *r)
{
    if (!r)
        return;
    rmb_metrics_free(&r->metrics);
    free(r->table);
    free(r->out_dir);
    free(r);
}

const char *rmb_eval_result_table(const rmb_eval_result *r) { return r->table; }
const char *rmb_eval_result_out_dir(const rmb_eval_result *r) { return r->out_dir; }
const rmb_metrics *rmb_eval_result_metrics(const rmb_eval_result *r) { return &r->metrics; }

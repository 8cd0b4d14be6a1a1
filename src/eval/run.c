/* rmb_eval_run: data -> plan -> scores -> metrics -> files. */
#include "rmb/eval.h"

#include "common/fileio.h"
#include "eval/plan.h"
#include "eval/records.h"
#include "eval/summary.h"
#include "rmb/options.h"
#include "rmb/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rmb_eval_result {
    char *table;
    char *out_dir;
    rmb_metrics metrics;
};

/* What the run store gave and took: run.json's counts. */
typedef struct store_tally {
    size_t units;    /* this run's units (a shard's share when sharded) */
    size_t reused;   /* found in the store */
    size_t computed; /* scored by this process and stored */
} store_tally;

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
    rmb_store *store;
    char *store_path;
    store_tally tally;
} run;

static void run_free(run *r)
{
    rmb_store_close(r->store, NULL);
    free(r->store_path);
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

/* The units of work (distinct sequences, or a judge's comparisons) go
 * through one path: look each up in the run store, score what is missing in
 * batches, store each value as it arrives and commit after every batch.
 * run_batch scores units idx[0..k) into values[0..k) with per-unit errors. */
typedef rmb_status (*batch_fn)(run *r, const void *units, const size_t *idx, size_t k,
                               double *values, rmb_error *item_err);

typedef struct work {
    const void *units;
    size_t n;
    rmb_store_key *keys;
    size_t *conversation; /* of each unit: shards split whole conversations */
    size_t batch;
    const char *stage;
    batch_fn run_batch;
    size_t failed;       /* units that failed (not stored; a rerun retries them) */
    size_t first_failed; /* the first of them, its error in failed_err */
    rmb_error failed_err;
} work;

typedef struct group_load {
    uint64_t load;
    size_t conversation;
} group_load;

static int heavier_first(const void *a, const void *b)
{
    const group_load *x = a, *y = b;
    if (x->load != y->load)
        return x->load < y->load ? 1 : -1;
    return x->conversation < y->conversation ? -1 : x->conversation > y->conversation;
}

/* Which shard each conversation goes to: whole conversations (a scorer
 * shares their prefixes), heaviest first, each to the least-loaded shard;
 * the load is text bytes, the proxy for tokens.  The same plan always
 * splits the same way. */
static int *shard_of_conversations(const run *r, const work *w)
{
    size_t n_conv = rmb_dataset_n_conversations(r->ds);
    group_load *groups = calloc(n_conv + 1, sizeof *groups);
    uint64_t *load = calloc((size_t)r->opt->shard_count, sizeof *load);
    int *shard = calloc(n_conv + 1, sizeof *shard);
    if (groups && load && shard) {
        for (size_t c = 0; c < n_conv; c++)
            groups[c].conversation = c;
        for (size_t u = 0; u < w->n; u++)
            groups[w->conversation[u]].load += w->keys[u].length;
        qsort(groups, n_conv, sizeof *groups, heavier_first);
        for (size_t g = 0; g < n_conv; g++) {
            int best = 0;
            for (int i = 1; i < r->opt->shard_count; i++)
                if (load[i] < load[best])
                    best = i;
            load[best] += groups[g].load;
            shard[groups[g].conversation] = best;
        }
    }
    if (!groups || !load) {
        free(shard);
        shard = NULL;
    }
    free(groups);
    free(load);
    return shard;
}

/* Fills todo with the units to score (this shard's, when sharded); the
 * others get their stored value. */
static rmb_status plan_work(run *r, work *w, double *values, size_t *todo, size_t *n_todo)
{
    int *shard = NULL;
    if (r->opt->shard_count && !(shard = shard_of_conversations(r, w)))
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    size_t reused = 0, n_mine = 0;
    rmb_status st = RMB_OK;
    *n_todo = 0;
    for (size_t u = 0; st == RMB_OK && u < w->n; u++) {
        if (shard && shard[w->conversation[u]] != r->opt->shard_index - 1)
            continue;
        n_mine++;
        bool found = false;
        if (!r->opt->fresh)
            st = rmb_store_get(r->store, &w->keys[u], &values[u], &found, r->err);
        if (found)
            reused++;
        else
            todo[(*n_todo)++] = u;
    }
    free(shard);
    r->tally = (store_tally){n_mine, reused, 0};
    if (st == RMB_OK)
        rmb_log(r->ctx, RMB_LOG_INFO, "run store %s: %s: reused %zu of %zu, %zu to compute",
                r->store_path, w->stage, reused, n_mine, *n_todo);
    if (st == RMB_OK && r->opt->n_merge_stores && *n_todo)
        st = rmb_fail(r->err, RMB_EDATA, "%s: the merged stores lack %zu of the %zu values for %s "
                      "(did every shard finish, with the same options?)", r->store_path, *n_todo, w->n,
                      w->stage);
    return st;
}

/* Keeps the values of one scored batch: stored, and committed together. */
static rmb_status keep_batch(run *r, work *w, const size_t *idx, size_t k, double *got,
                             const rmb_error *item_err, double *values)
{
    rmb_status st = RMB_OK;
    for (size_t i = 0; st == RMB_OK && i < k; i++) {
        if (item_err[i].status != RMB_OK) {
            if (w->failed++ == 0) {
                w->first_failed = idx[i];
                w->failed_err = item_err[i];
            }
            continue;
        }
        st = rmb_store_put(r->store, &w->keys[idx[i]], &got[i], r->opt->fresh, r->err);
        values[idx[i]] = got[i];
        r->tally.computed++;
    }
    return st == RMB_OK ? rmb_store_commit(r->store, r->err) : st;
}

/* The end of the batch that starts at todo[at]: w->batch units, stretched
 * to the end of the last one's conversation, so that a scorer sees all the
 * answers of a conversation together (it may compute their prefix once). */
static size_t batch_end(const work *w, const size_t *todo, size_t n_todo, size_t at)
{
    size_t end = n_todo - at < w->batch ? n_todo : at + w->batch;
    while (end < n_todo && w->conversation[todo[end]] == w->conversation[todo[end - 1]])
        end++;
    return end;
}

/* Room for k values and errors in the batch buffers. */
static bool reserve(double **got, rmb_error **item_err, size_t *cap, size_t k)
{
    if (k <= *cap)
        return true;
    double *g = realloc(*got, k * sizeof *g);
    if (g)
        *got = g;
    rmb_error *e = g ? realloc(*item_err, k * sizeof *e) : NULL;
    if (e)
        *item_err = e;
    if (e)
        *cap = k;
    return e != NULL;
}

static rmb_status run_work(run *r, work *w, double *values)
{
    size_t *todo = calloc(w->n + 1, sizeof *todo);
    double *got = NULL;
    rmb_error *item_err = NULL;
    size_t n_todo = 0, cap = 0;
    rmb_status st = todo ? plan_work(r, w, values, todo, &n_todo)
                         : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    for (size_t at = 0, end; st == RMB_OK && at < n_todo; at = end) {
        end = batch_end(w, todo, n_todo, at);
        if (!reserve(&got, &item_err, &cap, end - at)) {
            st = rmb_fail(r->err, RMB_ENOMEM, "out of memory");
            break;
        }
        st = w->run_batch(r, w->units, todo + at, end - at, got, item_err);
        if (st == RMB_OK)
            st = keep_batch(r, w, todo + at, end - at, got, item_err, values);
        rmb_progress(r->ctx, w->stage, end, n_todo);
    }
    free(todo);
    free(got);
    free(item_err);
    return st;
}

/* A batch's units, copied out of the plan's array (units of size bytes). */
static void *gather(const void *units, size_t size, const size_t *idx, size_t k)
{
    char *batch = malloc(k * size + 1);
    for (size_t i = 0; batch && i < k; i++)
        memcpy(batch + i * size, (const char *)units + idx[i] * size, size);
    return batch;
}

static rmb_status sequence_batch(run *r, const void *units, const size_t *idx, size_t k,
                                 double *values, rmb_error *item_err)
{
    rmb_sequence *batch = gather(units, sizeof *batch, idx, k);
    if (!batch)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    rmb_status st = rmb_scorer_score(r->scorer, batch, k, values, item_err, r->ctx, r->err);
    free(batch);
    return st;
}

static rmb_status comparison_batch(run *r, const void *units, const size_t *idx, size_t k,
                                   double *values, rmb_error *item_err)
{
    rmb_comparison *batch = gather(units, sizeof *batch, idx, k);
    int *judgments = calloc(k, sizeof *judgments);
    rmb_status st = batch && judgments ? RMB_OK : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK && rmb_canceled(r->ctx))
        st = rmb_fail(r->err, RMB_ECANCELED, "canceled");
    if (st == RMB_OK)
        st = r->scorer->ops->compare(r->scorer, batch, k, judgments, item_err, r->ctx, r->err);
    for (size_t i = 0; st == RMB_OK && i < k; i++)
        values[i] = judgments[i];
    free(batch);
    free(judgments);
    return st;
}

/* Keys and conversations of units, filled by the caller; NULL when out of
 * memory. */
static bool work_alloc(work *w)
{
    w->keys = calloc(w->n + 1, sizeof *w->keys);
    w->conversation = calloc(w->n + 1, sizeof *w->conversation);
    return w->keys && w->conversation;
}

static void work_free(work *w)
{
    free(w->keys);
    free(w->conversation);
}

static size_t batch_size(const run *r, size_t fallback)
{
    return r->scorer->batch_size ? r->scorer->batch_size : fallback;
}

/* Scores every distinct sequence (or this shard's); a failed sequence fails
 * the run after the others are stored, naming the first item needing it. */
static rmb_status score_sequences(run *r, const rmb_plan *plan, double *seq_scores)
{
    work w = {.units = plan->sequences, .n = plan->n_sequences, .batch = batch_size(r, 64),
              .stage = "scoring", .run_batch = sequence_batch};
    rmb_status st = work_alloc(&w) ? RMB_OK : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    for (size_t s = 0; st == RMB_OK && s < w.n; s++) {
        w.keys[s] = rmb_store_key_of(plan->sequences[s].conversation, plan->sequences[s].answer, NULL);
        w.conversation[s] = plan->sequences[s].conversation_id;
    }
    if (st == RMB_OK)
        st = run_work(r, &w, seq_scores);
    if (st == RMB_OK && w.failed) {
        const rmb_item *it = item_of_sequence(r->ds, plan, w.first_failed);
        st = rmb_fail(r->err, w.failed_err.status, "%s: item %zu (uid %s): scoring failed: %s%s",
                      it ? it->file : "?", it ? it->index : 0, it ? it->uid : "?", w.failed_err.msg,
                      w.failed > 1 ? " (and other sequences; a rerun retries only the failed ones)" : "");
    }
    work_free(&w);
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

/* Position consistency over every judgment of the run, stored or new: the
 * comparisons whose two orders both gave a verdict, and those that agreed. */
static void count_orders(run *r, const double *judgments, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        int j = (int)judgments[c], a = j / 4, b = j % 4;
        if (a != RMB_SAID_NOTHING && b != RMB_SAID_NOTHING) {
            r->info.both_orders_parsed++;
            r->info.position_consistent += a == b;
        }
    }
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
    double *judgments = calloc(plan.n_comparisons + 1, sizeof *judgments);
    work w = {.units = plan.comparisons, .n = plan.n_comparisons, .batch = batch_size(r, 16),
              .stage = "judging", .run_batch = comparison_batch};
    st = judgments && work_alloc(&w) ? alloc_outcomes(r, n, n_answers)
                                    : rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    for (size_t c = 0; st == RMB_OK && c < w.n; c++) {
        const rmb_comparison *cmp = &plan.comparisons[c];
        w.keys[c] = rmb_store_key_of(cmp->conversation, cmp->first, cmp->second);
        w.conversation[c] = cmp->conversation_id;
    }
    if (st == RMB_OK)
        st = run_work(r, &w, judgments);
    if (st == RMB_OK && w.failed)
        st = rmb_fail(r->err, w.failed_err.status, "comparison %zu: judging failed: %s%s", w.first_failed,
                      w.failed_err.msg, w.failed > 1 ? " (and others; a rerun retries only the failed ones)" : "");
    if (st == RMB_OK) {
        double *s = r->scores;
        for (size_t i = 0; i < n; i++) {
            r->outcomes[i] = (rmb_outcome){&items[i], s};
            s[0] = 1;
            for (size_t j = 1; j < items[i].n_answers; j++)
                s[j] = rmb_judgment_verdict((int)judgments[plan.item_comparison[plan.first[i] + j - 1]]) ==
                               RMB_VERDICT_FIRST
                           ? 0
                           : 1;
            s += items[i].n_answers;
        }
        r->info.naive_sequences = plan.n_naive;
        r->info.distinct_sequences = plan.n_comparisons;
        count_orders(r, judgments, plan.n_comparisons);
    }
    work_free(&w);
    free(judgments);
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

/* Opens the scorer once: its name gives the default --out.  Judges keep
 * their raw answers in the out directory from the moment they open, so a
 * judge (cheap to open: no model to load) is reopened once that is known. */
static rmb_status open_scorer(run *r, char **out_dir)
{
    rmb_scorer_options so = r->opt->scorer;
    so.artifacts_dir = r->opt->out_dir;
    rmb_status st = rmb_scorer_open(&r->scorer, r->opt->model, &so, r->err);
    if (st != RMB_OK)
        return st;
    *out_dir = r->opt->out_dir ? strdup(r->opt->out_dir) : default_out_dir(r->scorer->name);
    if (!*out_dir)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    if (r->opt->out_dir || !r->scorer->ops->compare)
        return RMB_OK;
    rmb_scorer_close(r->scorer);
    r->scorer = NULL;
    so.artifacts_dir = *out_dir;
    return rmb_scorer_open(&r->scorer, r->opt->model, &so, r->err);
}

/* Opens the run store (default <out>/store.sqlite) and, for rmb merge,
 * copies the shards' stores into it. */
static rmb_status open_store(run *r, const char *out_dir)
{
    const rmb_eval_options *o = r->opt;
    rmb_status st = o->store_path ? RMB_OK : rmb_mkdirs(out_dir, r->err);
    if (st != RMB_OK)
        return st;
    if (o->store_path ? !(r->store_path = strdup(o->store_path))
                      : asprintf(&r->store_path, "%s/store.sqlite", out_dir) < 0)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    st = rmb_store_open(&r->store, r->store_path, r->scorer->fingerprint, r->ctx, r->err);
    for (size_t i = 0; st == RMB_OK && i < o->n_merge_stores; i++) {
        const char *shard = o->merge_stores[i];
        if (access(shard, R_OK) != 0)
            st = rmb_fail(r->err, RMB_EIO, "%s: no run store to merge", shard);
        else if (strcmp(shard, r->store_path) != 0)
            st = rmb_store_merge(r->store, shard, r->err);
    }
    return st;
}

/* The scorer's report counts the work of this process only: when values
 * came from the store, it says so ("store": reused and computed), so that
 * its counts and rates are read as covering the computed part. */
static char *scorer_report(const run *r)
{
    char *text = r->scorer->ops->report(r->scorer);
    if (!text || r->tally.reused == 0)
        return text;
    json_t *rep = json_loads(text, 0, NULL);
    char *marked = NULL;
    if (json_is_object(rep) &&
        json_object_set_new(rep, "store", json_pack("{s:I, s:I}", "reused", (json_int_t)r->tally.reused,
                                                    "computed", (json_int_t)r->tally.computed)) == 0)
        marked = json_dumps(rep, JSON_COMPACT);
    json_decref(rep);
    if (!marked)
        return text;
    free(text);
    return marked;
}

static rmb_status run_scorer(run *r, char **out_dir)
{
    rmb_status st = open_scorer(r, out_dir);
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
    /* After the data: bad input leaves no file behind, not even a store. */
    if ((st = open_store(r, *out_dir)) != RMB_OK)
        return st;
    st = r->scorer->ops->score ? score_with_scorer(r) : score_with_judge(r);
    rmb_status closed = rmb_store_close(r->store, st == RMB_OK ? r->err : NULL);
    r->store = NULL;
    if (st == RMB_OK)
        st = closed;
    if (st == RMB_OK && r->scorer->ops->report)
        r->info.scorer_report = r->scorer_report = scorer_report(r);
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
    r->info.outcomes = r->view; /* for the summary's analyses */
    r->info.n_outcomes = r->n_outcomes;
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

/* A shard writes no results: its table says where its scores went. */
static rmb_status shard_table(run *r, rmb_eval_result *res)
{
    if (asprintf(&res->table, "shard %d/%d: %zu values in %s (%zu reused, %zu computed); "
                 "combine the shards with rmb merge\n", r->opt->shard_index, r->opt->shard_count,
                 r->tally.units, r->store_path, r->tally.reused, r->tally.computed) < 0)
        return rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    return RMB_OK;
}

/* Everything that decides which values a run needs and how they are made:
 * rmb merge runs the shards' configuration again, without scoring. */
static json_t *config_json(const run *r)
{
    const rmb_eval_options *o = r->opt;
    json_t *subset = json_array();
    for (size_t i = 0; subset && i < o->subset.n_patterns; i++)
        json_array_append_new(subset, json_string(o->subset.patterns[i]));
    return json_pack("{s:s, s:s, s:o?, s:o?}", "model", o->model, "data", r->data_dir, "subset",
                     subset, "options", rmb_options_json(&o->scorer));
}

/* run.json: how this process got its values (store, shard, merge, reuse)
 * and its configuration.  It differs between a resumed or merged run and
 * an uninterrupted one, so it is kept out of the summary files. */
static json_t *run_json(const run *r)
{
    const rmb_eval_options *o = r->opt;
    json_t *merged = json_array();
    for (size_t i = 0; merged && i < o->n_merge_stores; i++)
        json_array_append_new(merged, json_string(o->merge_stores[i]));
    json_t *shard = o->shard_count ? json_pack("[ii]", o->shard_index, o->shard_count) : json_null();
    json_t *doc = json_pack("{s:s, s:s, s:b, s:o?, s:o?, s:I, s:I, s:I, s:o?}", "store",
                            r->store_path, "fingerprint", r->scorer->fingerprint, "fresh",
                            o->fresh, "shard", shard, "merged_from", merged, "units",
                            (json_int_t)r->tally.units, "reused", (json_int_t)r->tally.reused,
                            "computed", (json_int_t)r->tally.computed, "config", config_json(r));
    char *machine = r->scorer->ops->machine ? r->scorer->ops->machine(r->scorer) : NULL;
    json_t *parsed = machine ? json_loads(machine, 0, NULL) : NULL;
    if (doc && parsed)
        json_object_set_new(doc, "machine", parsed);
    free(machine);
    return doc;
}

static rmb_status write_run_json(run *r, const char *dir)
{
    rmb_status st = rmb_mkdirs(dir, r->err);
    json_t *doc = st == RMB_OK ? run_json(r) : NULL;
    char *json = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    char *text = NULL, *path = NULL;
    if (st == RMB_OK && (!json || asprintf(&text, "%s\n", json) < 0 ||
                         asprintf(&path, "%s/run.json", dir) < 0))
        st = rmb_fail(r->err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK)
        st = rmb_write_file_atomic(path, text, strlen(text), r->err);
    json_decref(doc);
    free(json);
    free(text);
    free(path);
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
        st = run_scorer(&r, &res->out_dir);
    }
    if (st == RMB_OK && !res->out_dir)
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    if (st == RMB_OK && opt->shard_count)
        st = shard_table(&r, res);
    else if (st == RMB_OK)
        st = finish(&r, res);
    if (st == RMB_OK && r.store_path)
        st = write_run_json(&r, res->out_dir);
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

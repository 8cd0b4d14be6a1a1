/* The leaderboard's files: the headline table, leaderboard.json,
 * leaderboard.md and the original harness's rm_rank.json. */
#include "eval/compare.h"

#include "common/buf.h"
#include "common/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const goal_names[] = {"helpfulness", "harmlessness"};
static const char *const set_names[] = {"pairwise", "bon"};
static const char *const kind_names[] = {"overall", "set", "category", "scenario"};

/* "0.6483 [0.6401, 0.6562]", or "n/a". */
static void put_cell(rmb_buf *b, const rmb_lb_cell *c)
{
    if (isnan(c->accuracy))
        rmb_buf_puts(b, "n/a");
    else
        rmb_buf_printf(b, "%.4f [%.4f, %.4f]", c->accuracy, c->lo, c->hi);
}

static void put_p(rmb_buf *b, double p)
{
    if (isnan(p))
        rmb_buf_puts(b, "best");
    else
        rmb_buf_printf(b, "p=%.3f%s", p, p < 0.05 ? " *" : "");
}

static void put_intro(rmb_buf *b, const rmb_leaderboard *lb)
{
    rmb_buf_printf(b, "%zu runs on %zu items (%zu conversations); 95%% intervals from %zu bootstrap replicates "
                   "resampling conversations (seed %llu)",
                   lb->rs.n_runs, lb->rs.n_items, lb->rs.n_clusters, lb->replicates,
                   (unsigned long long)lb->seed);
}

char *rmb_leaderboard_table(const rmb_leaderboard *lb)
{
    rmb_buf b = {0};
    int width = 5;
    for (size_t r = 0; r < lb->rs.n_runs; r++)
        if ((int)strlen(lb->rs.runs[r].label) > width)
            width = (int)strlen(lb->rs.runs[r].label);
    rmb_buf_puts(&b, "RMB leaderboard: ");
    put_intro(&b, lb);
    rmb_buf_printf(&b, "\n\n%-4s  %-*s", "rank", width, "model");
    char title[64];
    for (size_t i = 1; i <= 5; i++) /* the four sets, then overall */
        rmb_buf_printf(&b, "  %-24s", rmb_lb_group_title(&lb->groups[i % 5], title, sizeof title));
    rmb_buf_puts(&b, "  overall vs best\n");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        rmb_buf_printf(&b, "%-4zu  %-*s", lb->rank[r], width, lb->rs.runs[r].label);
        for (size_t i = 1; i <= 5; i++) {
            rmb_buf cell = {0};
            put_cell(&cell, rmb_lb_cell_at(lb, i % 5, r));
            rmb_buf_printf(&b, "  %-24s", cell.data ? cell.data : "");
            rmb_buf_free(&cell);
        }
        rmb_buf_puts(&b, "  ");
        put_p(&b, rmb_lb_cell_at(lb, 0, r)->p);
        rmb_buf_puts(&b, "\n");
    }
    rmb_buf_puts(&b, "\n* significantly below the best run (paired bootstrap, p < 0.05)\n");
    return rmb_buf_take(&b);
}

/* ---- leaderboard.json ---- */

static json_t *number_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static json_t *group_json(const rmb_leaderboard *lb, size_t g)
{
    const rmb_lb_group *gr = &lb->groups[g];
    json_t *results = json_array();
    for (size_t r = 0; r < lb->rs.n_runs; r++) {
        const rmb_lb_cell *c = rmb_lb_cell_at(lb, g, r);
        json_array_append_new(results, json_pack("{s:s, s:o, s:I, s:[o, o], s:o}", "model", lb->rs.runs[r].label,
                                                 "accuracy", number_or_null(c->accuracy), "correct",
                                                 (json_int_t)c->correct, "ci", number_or_null(c->lo),
                                                 number_or_null(c->hi), "p_vs_best", number_or_null(c->p)));
    }
    bool typed = gr->kind != RMB_GROUP_OVERALL;
    return json_pack("{s:s, s:s, s:o, s:o, s:I, s:o, s:o}", "kind", kind_names[gr->kind], "key", gr->key, "set",
                     typed ? json_string(set_names[gr->set]) : json_null(), "goal",
                     typed ? json_string(goal_names[gr->goal]) : json_null(), "total", (json_int_t)gr->total,
                     "best", gr->best == SIZE_MAX ? json_null() : json_string(lb->rs.runs[gr->best].label),
                     "results", results);
}

static json_t *run_json(const rmb_leaderboard *lb, size_t r)
{
    const rmb_run_entry *run = &lb->rs.runs[r];
    json_t *scorer = json_object_get(run->summary, "scorer");
    return json_pack("{s:s, s:s, s:O, s:O, s:I, s:o, s:O}", "model", run->label, "dir", run->dir, "spec",
                     json_object_get(run->summary, "model"), "scorer", scorer ? scorer : json_null(), "rank",
                     (json_int_t)lb->rank[r], "overall", number_or_null(rmb_lb_cell_at(lb, 0, r)->accuracy),
                     "analysis", lb->analysis[r]);
}

static json_t *leaderboard_json(const rmb_leaderboard *lb)
{
    json_t *runs = json_array(), *groups = json_array();
    for (size_t r = 0; r < lb->rs.n_runs; r++)
        json_array_append_new(runs, run_json(lb, r));
    for (size_t g = 0; g < lb->n_groups; g++)
        json_array_append_new(groups, group_json(lb, g));
    return json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:o, s:o, s:o}", "replicates", (json_int_t)lb->replicates,
                     "seed", (json_int_t)lb->seed, "confidence", 0.95, "items", (json_int_t)lb->rs.n_items,
                     "clusters", (json_int_t)lb->rs.n_clusters, "left_out", (json_int_t)lb->rs.dropped, "data",
                     lb->rs.data_dir ? json_string(lb->rs.data_dir) : json_null(), "runs", runs, "groups", groups);
}

/* {model: {"ACC": overall, "rank": n}}, best first. */
static json_t *rank_json(const rmb_leaderboard *lb)
{
    json_t *j = json_object();
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        json_object_set_new(j, lb->rs.runs[r].label,
                            json_pack("{s:o, s:I}", "ACC", number_or_null(rmb_lb_cell_at(lb, 0, r)->accuracy),
                                      "rank", (json_int_t)lb->rank[r]));
    }
    return j;
}

static char *dump(json_t *j)
{
    rmb_buf b = {0};
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!text)
        return NULL;
    rmb_buf_printf(&b, "%s\n", text);
    free(text);
    return rmb_buf_take(&b);
}

/* ---- leaderboard.md ---- */

static void md_table(rmb_buf *b, const rmb_leaderboard *lb, rmb_group_kind kind, const char *title)
{
    bool any = false;
    for (size_t g = 0; g < lb->n_groups; g++) {
        const rmb_lb_group *gr = &lb->groups[g];
        if (gr->kind != kind && !(kind == RMB_GROUP_SET && gr->kind == RMB_GROUP_OVERALL))
            continue;
        if (!any) {
            rmb_buf_printf(b, "\n## %s\n\n| %s | items |", title, kind == RMB_GROUP_SET ? "" : "group");
            for (size_t k = 0; k < lb->rs.n_runs; k++)
                rmb_buf_printf(b, " %s |", lb->rs.runs[lb->order[k]].label);
            rmb_buf_puts(b, "\n|---|---:|");
            for (size_t k = 0; k < lb->rs.n_runs; k++)
                rmb_buf_puts(b, "---:|");
            rmb_buf_puts(b, "\n");
            any = true;
        }
        char title_buf[64];
        rmb_buf_printf(b, "| %s%s | %zu |", rmb_lb_group_title(gr, title_buf, sizeof title_buf),
                       kind == RMB_GROUP_CATEGORY ? (gr->set == RMB_SET_PAIRWISE ? " (pairwise)" : " (Best-of-N)") : "",
                       gr->total);
        for (size_t k = 0; k < lb->rs.n_runs; k++) {
            size_t r = lb->order[k];
            const rmb_lb_cell *c = rmb_lb_cell_at(lb, g, r);
            rmb_buf_puts(b, gr->best == r ? " **" : " ");
            put_cell(b, c);
            rmb_buf_printf(b, "%s%s |", gr->best == r ? "**" : "", !isnan(c->p) && c->p < 0.05 ? " *" : "");
        }
        rmb_buf_puts(b, "\n");
    }
}

static char *leaderboard_md(const rmb_leaderboard *lb)
{
    rmb_buf b = {0};
    rmb_buf_puts(&b, "# RMB leaderboard\n\n");
    put_intro(&b, lb);
    rmb_buf_puts(&b, ". **Bold**: the best run; *: significantly below it (paired bootstrap, p < 0.05).\n\n"
                     "| rank | model | overall | p vs best | run |\n|---:|---|---:|---:|---|\n");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        rmb_buf_printf(&b, "| %zu | %s | ", lb->rank[r], lb->rs.runs[r].label);
        put_cell(&b, rmb_lb_cell_at(lb, 0, r));
        rmb_buf_puts(&b, " | ");
        put_p(&b, rmb_lb_cell_at(lb, 0, r)->p);
        rmb_buf_printf(&b, " | %s |\n", lb->rs.runs[r].dir);
    }
    md_table(&b, lb, RMB_GROUP_SET, "The four RMB numbers");
    md_table(&b, lb, RMB_GROUP_CATEGORY, "Helpfulness categories");
    md_table(&b, lb, RMB_GROUP_SCENARIO, "Scenarios");
    return rmb_buf_take(&b);
}

rmb_status rmb_leaderboard_write(const rmb_leaderboard *lb, const char *dir, rmb_error *err)
{
    rmb_status st = rmb_mkdirs(dir, err);
    if (st != RMB_OK)
        return st;
    const char *names[] = {"leaderboard.json", "leaderboard.md", "rm_rank.json"};
    enum { N = sizeof names / sizeof names[0] };
    char *texts[N] = {dump(leaderboard_json(lb)), leaderboard_md(lb), dump(rank_json(lb))};
    rmb_outfile files[N] = {{0}};
    for (size_t i = 0; i < N && st == RMB_OK; i++)
        if (!texts[i])
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < N; i++) {
        char *path;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
        else {
            st = rmb_outfile_open(&files[i], path, err);
            free(path);
        }
        if (st == RMB_OK) {
            fputs(texts[i], files[i].fp);
            st = rmb_outfile_close(&files[i], err);
        }
    }
    /* Rename only once every file is complete. */
    for (size_t i = 0; st == RMB_OK && i < N; i++)
        st = rmb_outfile_commit(&files[i], err);
    for (size_t i = 0; i < N; i++) {
        rmb_outfile_discard(&files[i]);
        free(texts[i]);
    }
    return st;
}

#include "eval/summary.h"

#include "common/buf.h"
#include "eval/analysis.h"
#include "rmb/options.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const goal_names[] = {"helpfulness", "harmlessness"};
static const char *const goal_titles[] = {"Helpfulness", "Harmlessness"};

static bool has_items(const rmb_metrics *m, const char *category_path)
{
    for (size_t i = 0; i < m->n_scenarios; i++)
        if (!strcmp(m->scenarios[i].key, category_path))
            return m->scenarios[i].count.total > 0;
    return false;
}

rmb_status rmb_coverage_compute(const rmb_metrics *m, const rmb_subset *subset, rmb_coverage *c,
                                rmb_error *err)
{
    memset(c, 0, sizeof *c);
    for (int g = 0; g < 2; g++) {
        c->pairs += m->sets[g][RMB_SET_PAIRWISE].total;
        c->bon += m->sets[g][RMB_SET_BON].total;
    }
    size_t n;
    const rmb_scenario *sc = rmb_published_scenarios(&n);
    c->missing = malloc(n * sizeof *c->missing);
    if (!c->missing)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!rmb_subset_match(subset, sc[i].category_path))
            continue;
        bool pairwise = !strncmp(sc[i].category_path, "Pairwise_set/", 13);
        *(pairwise ? &c->pairs_published : &c->bon_published) += sc[i].published;
        if (!has_items(m, sc[i].category_path))
            c->missing[c->n_missing++] = sc[i].category_path;
    }
    return RMB_OK;
}

/* ---- summary.json ---- */

static json_t *accuracy_json(double acc)
{
    return isnan(acc) ? json_null() : json_real(acc);
}

static json_t *count_json(rmb_count c)
{
    return json_pack("{s:o, s:I, s:I, s:I}", "accuracy", accuracy_json(rmb_count_accuracy(c)),
                     "correct", (json_int_t)c.correct, "total", (json_int_t)c.total, "ties",
                     (json_int_t)c.ties);
}

static json_t *breakdown_json(const rmb_breakdown *rows, size_t n, const char *key_name)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *row = count_json(rows[i].count);
        json_object_set_new(row, key_name, json_string(rows[i].key));
        json_object_set_new(row, "set", json_string(rows[i].set == RMB_SET_PAIRWISE ? "pairwise" : "bon"));
        json_object_set_new(row, "goal", json_string(goal_names[rows[i].goal]));
        json_array_append_new(a, row);
    }
    return a;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A judge's position consistency over all its judgments; NaN otherwise. */
static double position_consistency(const rmb_run_info *info)
{
    if (!info->both_orders_parsed)
        return NAN;
    return (double)info->position_consistent / (double)info->both_orders_parsed;
}

static json_t *options_json(const rmb_run_info *info)
{
    return info->options ? rmb_options_summary_json(info->options) : json_null();
}

char *rmb_summary_json(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info)
{
    json_t *missing = json_array(), *subset = json_array();
    for (size_t i = 0; i < c->n_missing; i++)
        json_array_append_new(missing, json_string(c->missing[i]));
    for (size_t i = 0; info->subset && i < info->subset->n_patterns; i++)
        json_array_append_new(subset, json_string(info->subset->patterns[i]));

    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(info->model));
    json_object_set_new(root, "scorer", json_string(info->scorer_name));
    json_object_set_new(root, "data", string_or_null(info->data_dir));
    json_object_set_new(root, "subset", subset);
    json_object_set_new(root, "coverage",
                        json_pack("{s:I, s:I, s:I, s:I, s:o}", "pairs", (json_int_t)c->pairs,
                                  "pairs_published", (json_int_t)c->pairs_published, "bon",
                                  (json_int_t)c->bon, "bon_published", (json_int_t)c->bon_published,
                                  "missing_files", missing));
    for (int g = 0; g < 2; g++)
        json_object_set_new(root, goal_names[g],
                            json_pack("{s:o, s:o}", "pairwise", count_json(m->sets[g][RMB_SET_PAIRWISE]),
                                      "bon", count_json(m->sets[g][RMB_SET_BON])));
    json_object_set_new(root, "overall", accuracy_json(m->overall));
    json_object_set_new(root, "categories", breakdown_json(m->categories, m->n_categories, "category"));
    json_object_set_new(root, "scenarios", breakdown_json(m->scenarios, m->n_scenarios, "category_path"));
    json_object_set_new(root, "options", options_json(info));
    if (info->results_file) {
        json_object_set_new(root, "results_check",
                            json_pack("{s:s, s:I, s:I}", "file", info->results_file, "unknown_uids",
                                      (json_int_t)info->unknown_uids, "is_correct_mismatches",
                                      (json_int_t)info->is_correct_mismatches));
    } else {
        json_object_set_new(root, "plan",
                            json_pack("{s:I, s:I}", "sequences", (json_int_t)info->naive_sequences,
                                      "distinct", (json_int_t)info->distinct_sequences));
    }
    if (info->outcomes)
        json_object_set_new(root, "analysis",
                            rmb_analysis_json(info->outcomes, info->n_outcomes, position_consistency(info)));
    if (info->scorer_report) {
        json_t *rep = json_loads(info->scorer_report, 0, NULL);
        json_object_set_new(root, "scorer_report", rep ? rep : json_string(info->scorer_report));
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 2);
    if (!with_newline) {
        free(text);
        return NULL;
    }
    memcpy(with_newline + n, "\n", 2);
    return with_newline;
}

/* ---- text forms ---- */

static void put_accuracy(rmb_buf *b, rmb_count c, const char *fmt_na)
{
    double acc = rmb_count_accuracy(c);
    if (isnan(acc))
        rmb_buf_printf(b, fmt_na, "n/a");
    else
        rmb_buf_printf(b, "%.4f (%zu/%zu)", acc, c.correct, c.total);
}

static void put_overall(rmb_buf *b, double overall)
{
    if (isnan(overall))
        rmb_buf_puts(b, "n/a (needs items in all four sets)");
    else
        rmb_buf_printf(b, "%.4f", overall);
}

static void put_coverage(rmb_buf *b, const rmb_coverage *c, const char *bullet)
{
    rmb_buf_printf(b, "%scoverage: %zu of %zu pairs, %zu of %zu Best-of-N lists", bullet, c->pairs,
                   c->pairs_published, c->bon, c->bon_published);
    if (c->n_missing) {
        rmb_buf_printf(b, "; %zu scenario file%s with no items:", c->n_missing,
                       c->n_missing == 1 ? "" : "s");
        for (size_t i = 0; i < c->n_missing && i < 8; i++)
            rmb_buf_printf(b, "%s%s", i ? ", " : " ", c->missing[i]);
        if (c->n_missing > 8)
            rmb_buf_printf(b, ", ... (%zu more; see summary.json)", c->n_missing - 8);
    }
    rmb_buf_puts(b, "\n");
}

char *rmb_summary_table(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info)
{
    rmb_buf b = {0};
    rmb_buf_printf(&b, "RMB  model: %s\n\n", info->model);
    rmb_buf_printf(&b, "%-14s %-26s %s\n", "", "Pairwise", "Best-of-N");
    for (int g = 0; g < 2; g++) {
        rmb_buf cells[2] = {{0}};
        for (int s = 0; s < 2; s++)
            put_accuracy(&cells[s], m->sets[g][s], "%s");
        rmb_buf_printf(&b, "%-14s %-26s %s\n", goal_titles[g], cells[0].data ? cells[0].data : "",
                       cells[1].data ? cells[1].data : "");
        rmb_buf_free(&cells[0]);
        rmb_buf_free(&cells[1]);
    }
    rmb_buf_printf(&b, "%-14s ", "Overall");
    put_overall(&b, m->overall);
    rmb_buf_puts(&b, "\n\n");
    put_coverage(&b, c, "");
    return rmb_buf_take(&b);
}

static void md_breakdown(rmb_buf *b, const char *title, const char *key_title,
                         const rmb_breakdown *rows, size_t n)
{
    if (!n)
        return;
    rmb_buf_printf(b, "\n## %s\n\n| %s | accuracy | correct | total | ties |\n|---|---:|---:|---:|---:|\n",
                   title, key_title);
    for (size_t i = 0; i < n; i++) {
        const rmb_count c = rows[i].count;
        rmb_buf_printf(b, "| %s%s | %.4f | %zu | %zu | %zu |\n", rows[i].key,
                       rows[i].set == RMB_SET_BON && !strchr(rows[i].key, '/') ? " (Best-of-N)"
                       : !strchr(rows[i].key, '/')                            ? " (pairwise)"
                                                                               : "",
                       rmb_count_accuracy(c), c.correct, c.total, c.ties);
    }
}

/* The analyses' headline (summary.json has them all). */
static void md_analysis(rmb_buf *b, const rmb_run_info *info)
{
    json_t *a = rmb_analysis_json(info->outcomes, info->n_outcomes, position_consistency(info));
    if (!a)
        return;
    rmb_buf_printf(b, "\n## Analyses\n\n- tie rate: %.4f\n", rmb_analysis_number(a, "tie_rate", "all", NULL));
    const json_t *all = json_object_get(json_object_get(a, "length_bias"), "all");
    if (all)
        rmb_buf_printf(b, "- length bias: accuracy %.4f where the preferred answer is the longest, %.4f where it "
                          "is the shortest (the length baseline scores %.4f)\n",
                       rmb_analysis_number(all, "longer", "accuracy", NULL), rmb_analysis_number(all, "shorter", "accuracy", NULL),
                       rmb_analysis_number(all, "length_baseline_accuracy", NULL, NULL));
    if (!isnan(rmb_analysis_number(a, "position_consistency", NULL, NULL)))
        rmb_buf_printf(b, "- position consistency (judge): %.4f\n", rmb_analysis_number(a, "position_consistency", NULL, NULL));
    json_decref(a);
}

char *rmb_summary_markdown(const rmb_metrics *m, const rmb_coverage *c, const rmb_run_info *info)
{
    rmb_buf b = {0};
    rmb_buf_printf(&b, "# RMB results: %s\n\n", info->model);
    rmb_buf_puts(&b, "| goal | Pairwise | Best-of-N |\n|---|---:|---:|\n");
    for (int g = 0; g < 2; g++) {
        rmb_buf_printf(&b, "| %s | ", goal_titles[g]);
        put_accuracy(&b, m->sets[g][RMB_SET_PAIRWISE], "%s");
        rmb_buf_puts(&b, " | ");
        put_accuracy(&b, m->sets[g][RMB_SET_BON], "%s");
        rmb_buf_puts(&b, " |\n");
    }
    rmb_buf_puts(&b, "\n**Overall:** ");
    put_overall(&b, m->overall);
    rmb_buf_puts(&b, "\n\n");
    put_coverage(&b, c, "- ");
    rmb_buf_printf(&b, "- data: %s\n", info->data_dir ? info->data_dir : "(none)");
    if (info->results_file)
        rmb_buf_printf(&b, "- results file: %s (%zu uids not in the dataset, %zu stored is_correct values disagreeing with the rewards)\n",
                       info->results_file, info->unknown_uids, info->is_correct_mismatches);
    else
        rmb_buf_printf(&b, "- scored %zu distinct sequences for %zu item answers\n",
                       info->distinct_sequences, info->naive_sequences);
    md_breakdown(&b, "Helpfulness categories", "category", m->categories, m->n_categories);
    if (info->outcomes)
        md_analysis(&b, info);
    md_breakdown(&b, "Scenarios", "scenario", m->scenarios, m->n_scenarios);
    return rmb_buf_take(&b);
}

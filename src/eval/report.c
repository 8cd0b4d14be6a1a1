/* rmb report: the leaderboard as one self-contained HTML page.  Charts are
 * inline SVG drawn here; the page has no scripts and loads nothing. */
#include "eval/analysis.h"
#include "eval/compare.h"

#include "common/buf.h"
#include "common/fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const palette[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44",
                                      "#66ccee", "#aa3377", "#bbbbbb", "#000000"};
enum { N_COLORS = sizeof palette / sizeof palette[0] };
static const char *const goal_names[] = {"helpfulness", "harmlessness"};
static const char *const set_names[] = {"pairwise", "bon"};

static void esc(rmb_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': rmb_buf_puts(b, "&amp;"); break;
        case '<': rmb_buf_puts(b, "&lt;"); break;
        case '>': rmb_buf_puts(b, "&gt;"); break;
        case '"': rmb_buf_puts(b, "&quot;"); break;
        case '\'': rmb_buf_puts(b, "&#39;"); break;
        default: rmb_buf_append(b, s, 1);
        }
    }
}

/* Opens a table row with the run's name. */
static void run_row(rmb_buf *b, const char *label)
{
    rmb_buf_puts(b, "<tr><td class=\"name\">");
    esc(b, label);
    rmb_buf_puts(b, "</td>");
}

static const char *color(size_t r)
{
    return palette[r % N_COLORS];
}

static void put_number(rmb_buf *b, double x)
{
    if (isnan(x))
        rmb_buf_puts(b, "n/a");
    else
        rmb_buf_printf(b, "%.4f", x);
}

static const char style[] =
    "body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
    "td.name,th.name{text-align:left}td.best{font-weight:bold}.ci{color:#777;font-size:11px}"
    ".sig{color:#c00}pre{background:#f7f7f7;padding:8px;font-size:12px;overflow-x:auto}"
    ".swatch{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "svg text{font-family:DejaVu Sans,Arial,sans-serif}";

/* ---- headline table ---- */

static void headline(rmb_buf *b, const rmb_leaderboard *lb)
{
    char title[64];
    rmb_buf_puts(b, "<section id=\"headline\"><h2>Leaderboard</h2>\n<table id=\"headline-table\"><tr>"
                    "<th>rank</th><th class=\"name\">model</th>");
    for (size_t g = 1; g <= 4; g++)
        rmb_buf_printf(b, "<th>%s</th>", rmb_lb_group_title(&lb->groups[g], title, sizeof title));
    rmb_buf_puts(b, "<th>Overall</th><th>p vs best</th></tr>\n");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        rmb_buf_printf(b, "<tr class=\"run\"><td>%zu</td><td class=\"name\"><span class=\"swatch\" style=\"background:%s\">"
                          "</span>", lb->rank[r], color(r));
        esc(b, lb->rs.runs[r].label);
        rmb_buf_puts(b, "</td>");
        for (size_t i = 1; i <= 5; i++) {
            size_t g = i % 5; /* the four sets, then overall */
            const rmb_lb_cell *c = rmb_lb_cell_at(lb, g, r);
            rmb_buf_printf(b, "<td%s>", lb->groups[g].best == r ? " class=\"best\"" : "");
            put_number(b, c->accuracy);
            if (!isnan(c->accuracy))
                rmb_buf_printf(b, "<br><span class=\"ci\">[%.4f, %.4f]</span>", c->lo, c->hi);
            rmb_buf_puts(b, "</td>");
        }
        double p = rmb_lb_cell_at(lb, 0, r)->p;
        if (isnan(p))
            rmb_buf_puts(b, "<td>best</td></tr>\n");
        else
            rmb_buf_printf(b, "<td%s>%.3f</td></tr>\n", p < 0.05 ? " class=\"sig\"" : "", p);
    }
    rmb_buf_printf(b, "</table><p>Items every run scored: %zu, in %zu conversations. Brackets: 95%% bootstrap "
                      "intervals from %zu replicates resampling conversations (seed %llu). p vs best: paired "
                      "bootstrap p-value of the overall score against the best run (red: p &lt; 0.05).</p></section>\n",
                   lb->rs.n_items, lb->rs.n_clusters, lb->replicates, (unsigned long long)lb->seed);
}

static void legend(rmb_buf *b, const rmb_leaderboard *lb)
{
    rmb_buf_puts(b, "<p class=\"legend\">");
    for (size_t r = 0; r < lb->rs.n_runs; r++) {
        rmb_buf_printf(b, "<span class=\"swatch\" style=\"background:%s\"></span>", color(r));
        esc(b, lb->rs.runs[r].label);
        rmb_buf_puts(b, " &nbsp; ");
    }
    rmb_buf_puts(b, "</p>\n");
}

/* ---- per-scenario bars with interval whiskers ---- */

enum { LABEL_W = 480, PLOT_W = 420, BAR_H = 7 };

static void axis(rmb_buf *b, double top, double bottom)
{
    for (int t = 0; t <= 4; t++) {
        double x = LABEL_W + PLOT_W * t / 4.0;
        rmb_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%.2f</text>\n",
                       x, top, x, bottom, x, top - 4, t / 4.0);
    }
}

static void scenario_bars(rmb_buf *b, const rmb_leaderboard *lb)
{
    size_t R = lb->rs.n_runs, rows = 0;
    for (size_t g = 0; g < lb->n_groups; g++)
        rows += lb->groups[g].kind == RMB_GROUP_SCENARIO;
    double row_h = (double)(R * BAR_H + 6), top = 20;
    rmb_buf_printf(b, "<section id=\"scenarios\"><h2>Accuracy per scenario</h2>\n");
    legend(b, lb);
    rmb_buf_printf(b, "<svg id=\"scenario-bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\">\n",
                   LABEL_W + PLOT_W + 20, top + rows * row_h + 10);
    axis(b, top, top + rows * row_h);
    double y = top;
    for (size_t g = 0; g < lb->n_groups; g++) {
        if (lb->groups[g].kind != RMB_GROUP_SCENARIO)
            continue;
        rmb_buf_printf(b, "<g class=\"scenario\"><text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">",
                       LABEL_W - 6, y + row_h / 2 + 3);
        esc(b, lb->groups[g].key);
        rmb_buf_printf(b, " (%zu)</text>\n", lb->groups[g].total);
        for (size_t r = 0; r < R; r++) {
            const rmb_lb_cell *c = rmb_lb_cell_at(lb, g, r);
            double by = y + 3 + (double)(r * BAR_H);
            if (isnan(c->accuracy))
                continue;
            rmb_buf_printf(b, "<rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                              "<title>%.4f [%.4f, %.4f]</title></rect>",
                           LABEL_W, by, PLOT_W * c->accuracy, BAR_H - 1, color(r), c->accuracy, c->lo, c->hi);
            rmb_buf_printf(b, "<line class=\"ci\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                           LABEL_W + PLOT_W * c->lo, LABEL_W + PLOT_W * c->hi, by + BAR_H / 2.0 - 0.5,
                           by + BAR_H / 2.0 - 0.5);
        }
        rmb_buf_puts(b, "</g>\n");
        y += row_h;
    }
    rmb_buf_puts(b, "</svg><p>Bars: accuracy; whiskers: 95% bootstrap intervals; (n): items.</p></section>\n");
}

/* ---- scenario x model heatmap ---- */

/* Red (0) through yellow (0.5) to green (1). */
static void heat_color(rmb_buf *b, double a)
{
    static const double stops[3][3] = {{215, 48, 39}, {254, 224, 139}, {26, 152, 80}};
    double t = a < 0 ? 0 : a > 1 ? 1 : a;
    int k = t < 0.5 ? 0 : 1;
    double f = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    rmb_buf_printf(b, "rgb(%d,%d,%d)", (int)lround(stops[k][0] + f * (stops[k + 1][0] - stops[k][0])),
                   (int)lround(stops[k][1] + f * (stops[k + 1][1] - stops[k][1])),
                   (int)lround(stops[k][2] + f * (stops[k + 1][2] - stops[k][2])));
}

enum { CELL_W = 90, CELL_H = 15, HEAD_H = 60 };

static void heatmap(rmb_buf *b, const rmb_leaderboard *lb)
{
    size_t R = lb->rs.n_runs, rows = 0;
    for (size_t g = 0; g < lb->n_groups; g++)
        rows += lb->groups[g].kind == RMB_GROUP_SCENARIO;
    rmb_buf_printf(b, "<section id=\"heatmap\"><h2>Scenario &#215; model</h2>\n<svg id=\"heatmap-svg\" "
                      "xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" height=\"%zu\">\n",
                   (size_t)LABEL_W + R * CELL_W + 10, (size_t)HEAD_H + rows * CELL_H + 10);
    for (size_t k = 0; k < R; k++) {
        size_t r = lb->order[k];
        rmb_buf_printf(b, "<text x=\"%zu\" y=\"%d\" font-size=\"10\" transform=\"rotate(-30 %zu %d)\">",
                       LABEL_W + k * CELL_W + 8, HEAD_H - 6, LABEL_W + k * CELL_W + 8, HEAD_H - 6);
        esc(b, lb->rs.runs[r].label);
        rmb_buf_puts(b, "</text>\n");
    }
    size_t row = 0;
    for (size_t g = 0; g < lb->n_groups; g++) {
        if (lb->groups[g].kind != RMB_GROUP_SCENARIO)
            continue;
        size_t y = HEAD_H + row++ * CELL_H;
        rmb_buf_printf(b, "<text x=\"%d\" y=\"%zu\" font-size=\"10\" text-anchor=\"end\">", LABEL_W - 6, y + 11);
        esc(b, lb->groups[g].key);
        rmb_buf_puts(b, "</text>\n");
        for (size_t k = 0; k < R; k++) {
            size_t r = lb->order[k];
            double a = rmb_lb_cell_at(lb, g, r)->accuracy;
            rmb_buf_printf(b, "<rect class=\"cell\" x=\"%zu\" y=\"%zu\" width=\"%d\" height=\"%d\" fill=\"",
                           LABEL_W + k * CELL_W, y, CELL_W - 1, CELL_H - 1);
            if (isnan(a))
                rmb_buf_puts(b, "#eee");
            else
                heat_color(b, a);
            rmb_buf_printf(b, "\"/><text x=\"%zu\" y=\"%zu\" font-size=\"9\" text-anchor=\"middle\">",
                           LABEL_W + k * CELL_W + CELL_W / 2, y + 11);
            put_number(b, a);
            rmb_buf_puts(b, "</text>\n");
        }
    }
    rmb_buf_puts(b, "</svg></section>\n");
}

/* ---- categories ---- */

static void categories(rmb_buf *b, const rmb_leaderboard *lb)
{
    rmb_buf_puts(b, "<section id=\"categories\"><h2>Helpfulness categories</h2>\n<table id=\"categories-table\">"
                    "<tr><th class=\"name\">category</th><th>set</th><th>items</th>");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        rmb_buf_puts(b, "<th>");
        esc(b, lb->rs.runs[lb->order[k]].label);
        rmb_buf_puts(b, "</th>");
    }
    rmb_buf_puts(b, "</tr>\n");
    for (size_t g = 0; g < lb->n_groups; g++) {
        const rmb_lb_group *gr = &lb->groups[g];
        if (gr->kind != RMB_GROUP_CATEGORY)
            continue;
        rmb_buf_puts(b, "<tr><td class=\"name\">");
        esc(b, gr->key);
        rmb_buf_printf(b, "</td><td>%s</td><td>%zu</td>", gr->set == RMB_SET_PAIRWISE ? "pairwise" : "Best-of-N",
                       gr->total);
        for (size_t k = 0; k < lb->rs.n_runs; k++) {
            size_t r = lb->order[k];
            const rmb_lb_cell *c = rmb_lb_cell_at(lb, g, r);
            rmb_buf_printf(b, "<td%s>", gr->best == r ? " class=\"best\"" : "");
            put_number(b, c->accuracy);
            rmb_buf_printf(b, " <span class=\"ci\">[%.3f, %.3f]</span>%s</td>", c->lo, c->hi,
                           !isnan(c->p) && c->p < 0.05 ? "<span class=\"sig\">*</span>" : "");
        }
        rmb_buf_puts(b, "</tr>\n");
    }
    rmb_buf_puts(b, "</table><p>*: significantly below the best run (paired bootstrap, p &lt; 0.05).</p></section>\n");
}

/* ---- length bias ---- */

static void length_row(rmb_buf *b, const json_t *lbias)
{
    static const char *const groups[] = {"longer", "shorter", "other"};
    for (int k = 0; k < 3; k++) {
        const json_t *grp = json_object_get(lbias, groups[k]);
        rmb_buf_puts(b, "<td>");
        put_number(b, rmb_analysis_number(grp, "accuracy", NULL, NULL));
        rmb_buf_printf(b, " <span class=\"ci\">(%.0f)</span></td>", rmb_analysis_number(grp, "total", NULL, NULL));
    }
    double gap = rmb_analysis_number(lbias, "longer", "accuracy", NULL) -
                 rmb_analysis_number(lbias, "shorter", "accuracy", NULL);
    rmb_buf_puts(b, "<td>");
    if (isnan(gap))
        rmb_buf_puts(b, "n/a");
    else
        rmb_buf_printf(b, "%+.4f", gap);
    rmb_buf_puts(b, "</td><td>");
    put_number(b, rmb_analysis_number(lbias, "length_baseline_accuracy", NULL, NULL));
    rmb_buf_puts(b, "</td>");
}

/* Accuracy when the preferred answer is the longest vs the shortest, one
 * pair of bars per run, and the length baseline's accuracy as a mark. */
static void length_chart(rmb_buf *b, const rmb_leaderboard *lb)
{
    size_t R = lb->rs.n_runs;
    enum { GROUP_W = 90, H = 160, TOP = 20, LEFT = 40 };
    rmb_buf_printf(b, "<svg id=\"length-bias-svg\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" height=\"%d\">\n",
                   LEFT + R * GROUP_W + 20, TOP + H + 40);
    for (int t = 0; t <= 4; t++)
        rmb_buf_printf(b, "<line x1=\"%d\" x2=\"%zu\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                          "font-size=\"10\" text-anchor=\"end\">%.2f</text>\n",
                       LEFT, LEFT + R * GROUP_W, TOP + H * (1 - t / 4.0), TOP + H * (1 - t / 4.0), LEFT - 4,
                       TOP + H * (1 - t / 4.0) + 3, t / 4.0);
    for (size_t k = 0; k < R; k++) {
        size_t r = lb->order[k];
        const json_t *all = json_object_get(json_object_get(lb->analysis[r], "length_bias"), "all");
        double x = LEFT + (double)(k * GROUP_W) + 10;
        const char *const groups[] = {"longer", "shorter"};
        const char *const fills[] = {"#4477aa", "#ee6677"};
        for (int i = 0; i < 2; i++) {
            double a = rmb_analysis_number(all, groups[i], "accuracy", NULL);
            if (isnan(a))
                continue;
            rmb_buf_printf(b, "<rect class=\"length-bar\" x=\"%.1f\" y=\"%.1f\" width=\"30\" height=\"%.1f\" fill=\"%s\">"
                              "<title>%s: %.4f</title></rect>\n",
                           x + i * 34, TOP + H * (1 - a), H * a, fills[i], groups[i], a);
        }
        double base = rmb_analysis_number(all, "length_baseline_accuracy", NULL, NULL);
        if (!isnan(base))
            rmb_buf_printf(b, "<line class=\"baseline\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                              "stroke-dasharray=\"3,2\"/>\n",
                           x - 4, x + 68, TOP + H * (1 - base), TOP + H * (1 - base));
        rmb_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">", x + 32, TOP + H + 14);
        esc(b, lb->rs.runs[r].label);
        rmb_buf_puts(b, "</text>\n");
    }
    rmb_buf_puts(b, "</svg>\n");
}

static void length_bias(rmb_buf *b, const rmb_leaderboard *lb)
{
    rmb_buf_puts(b, "<section id=\"length-bias\"><h2>Length bias</h2>\n<table id=\"length-bias-table\"><tr>"
                    "<th class=\"name\">model</th><th class=\"name\">items</th><th>preferred longest</th>"
                    "<th>preferred shortest</th><th>other</th><th>longest &#8722; shortest</th>"
                    "<th>length baseline</th></tr>\n");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        const json_t *lbias = json_object_get(lb->analysis[r], "length_bias");
        if (!json_is_object(lbias)) {
            run_row(b, lb->rs.runs[r].label);
            rmb_buf_puts(b, "<td class=\"name\" colspan=\"6\">answer texts unknown (no dataset)</td></tr>\n");
            continue;
        }
        for (int g = -1; g < 2; g++)
            for (int s = 0; s < (g < 0 ? 1 : 2); s++) {
                const json_t *cell = g < 0 ? json_object_get(lbias, "all")
                                           : json_object_get(json_object_get(lbias, goal_names[g]), set_names[s]);
                run_row(b, lb->rs.runs[r].label);
                rmb_buf_printf(b, "<td class=\"name\">%s%s%s</td>", g < 0 ? "all" : goal_names[g], g < 0 ? "" : " ",
                               g < 0 ? "" : set_names[s]);
                length_row(b, cell);
                rmb_buf_puts(b, "</tr>\n");
            }
    }
    rmb_buf_puts(b, "</table>\n");
    length_chart(b, lb);
    rmb_buf_puts(b, "<p>Accuracy on the items whose preferred answer is strictly the longest (blue) and strictly the "
                    "shortest (red), lengths in code points; the dashed line is the length baseline's accuracy (the "
                    "share of items whose preferred answer is the longest). A large positive gap means the model "
                    "prefers longer answers.</p></section>\n");
}

/* ---- ties and score distributions ---- */

static void distributions(rmb_buf *b, const rmb_leaderboard *lb)
{
    rmb_buf_puts(b, "<section id=\"distributions\"><h2>Ties and score distributions</h2>\n<table id=\"ties-table\">"
                    "<tr><th class=\"name\">model</th><th>tie rate</th><th>position consistency</th>"
                    "<th class=\"name\">goal</th><th class=\"name\">answers</th><th>count</th><th>mean</th><th>sd</th>"
                    "<th>p05</th><th>median</th><th>p95</th></tr>\n");
    for (size_t k = 0; k < lb->rs.n_runs; k++) {
        size_t r = lb->order[k];
        const json_t *an = lb->analysis[r];
        for (int g = 0; g < 2; g++)
            for (int kind = 0; kind < 2; kind++) {
                const json_t *d = json_object_get(json_object_get(json_object_get(an, "score_distribution"),
                                                                  goal_names[g]), kind ? "other" : "preferred");
                run_row(b, lb->rs.runs[r].label);
                rmb_buf_puts(b, "<td>");
                put_number(b, rmb_analysis_number(an, "tie_rate", "all", NULL));
                rmb_buf_puts(b, "</td><td>");
                put_number(b, rmb_analysis_number(an, "position_consistency", NULL, NULL));
                rmb_buf_printf(b, "</td><td class=\"name\">%s</td><td class=\"name\">%s</td><td>%.0f</td>",
                               goal_names[g], kind ? "other" : "preferred", rmb_analysis_number(d, "count", NULL, NULL));
                static const char *const stats[] = {"mean", "sd", "p05", "p50", "p95"};
                for (int i = 0; i < 5; i++) {
                    rmb_buf_puts(b, "<td>");
                    put_number(b, rmb_analysis_number(d, stats[i], NULL, NULL));
                    rmb_buf_puts(b, "</td>");
                }
                rmb_buf_puts(b, "</tr>\n");
            }
    }
    rmb_buf_puts(b, "</table><p>Tie rate: items whose preferred answer only tied the best other one (counted "
                    "wrong). Position consistency: judges only.</p></section>\n");
}

/* ---- configuration ---- */

static void configuration(rmb_buf *b, const rmb_leaderboard *lb)
{
    static const char *const metric_fields[] = {"helpfulness", "harmlessness", "overall", "categories", "scenarios",
                                                "analysis"};
    rmb_buf_puts(b, "<section id=\"config\"><h2>Configuration</h2>\n");
    for (size_t r = 0; r < lb->rs.n_runs; r++) {
        json_t *cfg = json_deep_copy(lb->rs.runs[r].summary);
        for (size_t i = 0; cfg && i < sizeof metric_fields / sizeof *metric_fields; i++)
            json_object_del(cfg, metric_fields[i]);
        char *text = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(cfg);
        rmb_buf_puts(b, "<div class=\"run-config\"><h3>");
        esc(b, lb->rs.runs[r].label);
        rmb_buf_puts(b, "</h3><p>run directory: <code>");
        esc(b, lb->rs.runs[r].dir);
        rmb_buf_puts(b, "</code></p><pre>");
        esc(b, text ? text : "(out of memory)");
        rmb_buf_puts(b, "</pre></div>\n");
        free(text);
    }
    rmb_buf_puts(b, "<p>Dataset used for conversations and lengths: <code>");
    esc(b, lb->rs.data_dir ? lb->rs.data_dir : "(none)");
    rmb_buf_printf(b, "</code>; items left out because not every run has them: %zu.</p></section>\n", lb->rs.dropped);
}

static char *report_html(const rmb_leaderboard *lb)
{
    rmb_buf b = {0};
    rmb_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<title>RMB report</title><style>%s</style></head>\n<body>\n<h1>RMB report</h1>\n", style);
    headline(&b, lb);
    scenario_bars(&b, lb);
    heatmap(&b, lb);
    categories(&b, lb);
    length_bias(&b, lb);
    distributions(&b, lb);
    configuration(&b, lb);
    rmb_buf_puts(&b, "</body></html>\n");
    return rmb_buf_take(&b);
}

rmb_status rmb_report_write(const rmb_leaderboard *lb, const char *path, rmb_error *err)
{
    char *html = report_html(lb);
    if (!html)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = rmb_write_file_atomic(path, html, strlen(html), err);
    free(html);
    return st;
}

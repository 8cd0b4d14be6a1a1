/* The analyses every run records beside its metrics (summary.json's
 * "analysis"; docs/report.md):
 * - tie_rate: the share of items whose preferred answer only tied the best
 *   other one, per goal and set and over all items;
 * - length_bias: accuracy on the items whose preferred answer is strictly the
 *   longest ("longer": exactly where the length baseline is right), strictly
 *   the shortest ("shorter") and the rest ("other"), with the length
 *   baseline's accuracy (the share of "longer") beside it; lengths in Unicode
 *   code points as the length scorer counts them; null without answer texts;
 * - score_distribution: per goal, the preferred answers' scores and the
 *   others': count, mean, population sd, min, 5/25/50/75/95th percentiles
 *   (type 7), max, and 20 equal bins over the goal's [min, max];
 * - position_consistency: for judges, the share of the comparisons with a
 *   verdict in both orders whose verdicts agreed (over every judgment the
 *   run holds, stored or new), else null. */
#ifndef RMB_EVAL_ANALYSIS_H
#define RMB_EVAL_ANALYSIS_H

#include "rmb/metrics.h"

#include <jansson.h>

#define RMB_ANALYSIS_BINS 20

/* position_consistency: a judge's rate, NaN for scorers.  NULL when out of
 * memory. */
json_t *rmb_analysis_json(const rmb_outcome *outcomes, size_t n, double position_consistency);

/* The number at j[k0][k1][k2] (a NULL key ends the path), or NaN when that is
 * missing or not a number: for reading analyses back. */
double rmb_analysis_number(const json_t *j, const char *k0, const char *k1, const char *k2);

#endif

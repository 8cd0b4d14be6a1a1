/* The per-run analyses on hand-made items whose numbers are worked out in
 * the comments. */
#include "eval/analysis.h"
#include "test.h"

#include <math.h>

#include <stdlib.h>

static const rmb_answer pair_long_first[] = {{"a", "héllo wörld"}, {"b", "hi"}};  /* 11 vs 2 code points */
static const rmb_answer pair_short_first[] = {{"a", "ok"}, {"b", "a longer one"}}; /* 2 vs 12 */
static const rmb_answer bon_mixed[] = {{"a", "abcd"}, {"b", "ab"}, {"c", "abcdefgh"}}; /* neither */
static const rmb_answer unknown[] = {{NULL, NULL}, {NULL, NULL}};

static void test_length_and_ties(void)
{
    rmb_item items[] = {
        {RMB_SET_PAIRWISE, RMB_GOAL_HELPFULNESS, "1", "Pairwise_set/Helpfulness/Code/X", 0, pair_long_first, 2, "f", 0},
        {RMB_SET_PAIRWISE, RMB_GOAL_HELPFULNESS, "2", "Pairwise_set/Helpfulness/Code/X", 0, pair_short_first, 2, "f", 1},
        {RMB_SET_BON, RMB_GOAL_HARMLESSNESS, "3", "BoN_set/Harmlessness/S1", 1, bon_mixed, 3, "g", 0},
    };
    const double s0[] = {2, 1}, s1[] = {5, 5}, s2[] = {3, 1, 2};
    rmb_outcome o[] = {{&items[0], s0}, {&items[1], s1}, {&items[2], s2}};
    json_t *a = rmb_analysis_json(o, 3, 0.75);
    /* item 1 is a tie (5 == 5): one of three */
    CHECK_NEAR(rmb_analysis_number(a, "tie_rate", "all", NULL), 1.0 / 3, 1e-15);
    CHECK_NEAR(rmb_analysis_number(json_object_get(a, "tie_rate"), "helpfulness", "pairwise", NULL), 0.5, 1e-15);
    CHECK(json_is_null(json_object_get(json_object_get(json_object_get(a, "tie_rate"), "helpfulness"), "bon")));
    /* longer: item 0 (correct); shorter: item 1 (a tie: wrong); other: item 2 (correct) */
    const json_t *all = json_object_get(json_object_get(a, "length_bias"), "all");
    CHECK_NEAR(rmb_analysis_number(all, "longer", "accuracy", NULL), 1, 0);
    CHECK_NEAR(rmb_analysis_number(all, "shorter", "accuracy", NULL), 0, 0);
    CHECK_NEAR(rmb_analysis_number(all, "other", "total", NULL), 1, 0);
    CHECK_NEAR(rmb_analysis_number(all, "length_baseline_accuracy", NULL, NULL), 1.0 / 3, 1e-15);
    CHECK_NEAR(rmb_analysis_number(a, "position_consistency", NULL, NULL), 0.75, 0);
    /* helpfulness preferred scores {2, 5}: mean 3.5, sd 1.5, median 3.5 */
    const json_t *help = json_object_get(json_object_get(a, "score_distribution"), "helpfulness");
    CHECK_NEAR(rmb_analysis_number(help, "preferred", "mean", NULL), 3.5, 1e-15);
    CHECK_NEAR(rmb_analysis_number(help, "preferred", "sd", NULL), 1.5, 1e-15);
    CHECK_NEAR(rmb_analysis_number(help, "preferred", "p50", NULL), 3.5, 1e-15);
    /* bins over [1, 5]: 2 -> bin 5, 5 -> the last bin */
    const json_t *bins = json_object_get(json_object_get(help, "preferred"), "histogram");
    CHECK_EQ_INT(json_array_size(bins), RMB_ANALYSIS_BINS);
    CHECK_EQ_INT(json_integer_value(json_array_get(bins, 5)), 1);
    CHECK_EQ_INT(json_integer_value(json_array_get(bins, RMB_ANALYSIS_BINS - 1)), 1);
    json_decref(a);
}

static void test_unknown_texts(void)
{
    rmb_item it = {RMB_SET_PAIRWISE, RMB_GOAL_HARMLESSNESS, "9", "Pairwise_set/Harmlessness/S1", SIZE_MAX,
                   unknown, 2, "r", 0};
    const double s[] = {1, 0};
    rmb_outcome o = {&it, s};
    json_t *a = rmb_analysis_json(&o, 1, NAN);
    CHECK(json_is_null(json_object_get(a, "length_bias")));
    CHECK(json_is_null(json_object_get(a, "position_consistency")));
    CHECK_EQ_INT(rmb_analysis_number(json_object_get(a, "score_distribution"), "helpfulness", "preferred", "count"), 0);
    json_decref(a);
}

TEST_MAIN(test_length_and_ties, test_unknown_texts)

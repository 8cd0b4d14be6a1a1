/* The published benchmark's scenarios, scenario selection (--subset), and
 * where the data lives. */
#include "rmb/dataset.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every scenario file of the published RMB benchmark with its item count,
 * so that a copy with absent files can say what it lacks. */
static const rmb_scenario published[] = {
    {"BoN_set/Harmlessness/S1", 111},
    {"BoN_set/Harmlessness/S10", 79},
    {"BoN_set/Harmlessness/S11", 215},
    {"BoN_set/Harmlessness/S2", 249},
    {"BoN_set/Harmlessness/S3", 171},
    {"BoN_set/Harmlessness/S4", 136},
    {"BoN_set/Harmlessness/S5", 122},
    {"BoN_set/Harmlessness/S6", 83},
    {"BoN_set/Harmlessness/S7", 121},
    {"BoN_set/Harmlessness/S8", 127},
    {"BoN_set/Harmlessness/S9", 132},
    {"BoN_set/Harmlessness/multi", 131},
    {"BoN_set/Helpfulness/Brainstorming/Idea Development", 168},
    {"BoN_set/Helpfulness/Brainstorming/Problem Solving", 19},
    {"BoN_set/Helpfulness/Chat/Casual Conversation", 71},
    {"BoN_set/Helpfulness/Chat/Discussion", 59},
    {"BoN_set/Helpfulness/Chat/Supportive Conversation", 25},
    {"BoN_set/Helpfulness/Classification/Content Categorization", 18},
    {"BoN_set/Helpfulness/Classification/Quality and Compliance Assessment", 13},
    {"BoN_set/Helpfulness/Closed QA/ContextBased", 86},
    {"BoN_set/Helpfulness/Closed QA/OptionBased", 100},
    {"BoN_set/Helpfulness/Code/Data Management", 81},
    {"BoN_set/Helpfulness/Code/Development and Implementation", 92},
    {"BoN_set/Helpfulness/Code/Documentation", 15},
    {"BoN_set/Helpfulness/Code/Quality and Optimization", 92},
    {"BoN_set/Helpfulness/Generation/Creative Writing", 151},
    {"BoN_set/Helpfulness/Generation/Professional Content Generation", 74},
    {"BoN_set/Helpfulness/Open QA/Factual", 153},
    {"BoN_set/Helpfulness/Open QA/General Explanation", 80},
    {"BoN_set/Helpfulness/Open QA/Hypothetical Scenarios", 8},
    {"BoN_set/Helpfulness/Open QA/Interpretative Analysis", 18},
    {"BoN_set/Helpfulness/Open QA/Personal Opinion and Advice", 14},
    {"BoN_set/Helpfulness/Open QA/Technical and Practical Support", 47},
    {"BoN_set/Helpfulness/Reasoning/Analytical Reasoning", 133},
    {"BoN_set/Helpfulness/Reasoning/Critical Thinking", 39},
    {"BoN_set/Helpfulness/Reasoning/Human Decision Making", 32},
    {"BoN_set/Helpfulness/Reasoning/Logical Deduction", 46},
    {"BoN_set/Helpfulness/Reasoning/Pattern Recognition", 14},
    {"BoN_set/Helpfulness/Rewrite/Paraphrasing", 17},
    {"BoN_set/Helpfulness/Rewrite/PostQuality Assessment Rewriting", 46},
    {"BoN_set/Helpfulness/Rewrite/Textual ExpansionReduction", 9},
    {"BoN_set/Helpfulness/Rewrite/Tone Adjustment", 17},
    {"BoN_set/Helpfulness/Role Playing/General Character", 32},
    {"BoN_set/Helpfulness/Role Playing/Specific Character", 46},
    {"BoN_set/Helpfulness/Summarization/Specialized Summaries", 42},
    {"BoN_set/Helpfulness/Summarization/Standard Summaries", 71},
    {"BoN_set/Helpfulness/Translation/GeneralExcerpt Language Translation", 109},
    {"BoN_set/Helpfulness/Translation/Literary and Cultural Translation", 34},
    {"BoN_set/Helpfulness/Translation/Technical and Scientific Translation", 38},
    {"Pairwise_set/Harmlessness/S1", 459},
    {"Pairwise_set/Harmlessness/S10", 360},
    {"Pairwise_set/Harmlessness/S11", 977},
    {"Pairwise_set/Harmlessness/S2", 1040},
    {"Pairwise_set/Harmlessness/S3", 739},
    {"Pairwise_set/Harmlessness/S4", 537},
    {"Pairwise_set/Harmlessness/S5", 561},
    {"Pairwise_set/Harmlessness/S6", 317},
    {"Pairwise_set/Harmlessness/S7", 510},
    {"Pairwise_set/Harmlessness/S8", 519},
    {"Pairwise_set/Harmlessness/S9", 543},
    {"Pairwise_set/Harmlessness/multi", 502},
    {"Pairwise_set/Helpfulness/Brainstorming/Idea Development", 849},
    {"Pairwise_set/Helpfulness/Brainstorming/Problem Solving", 100},
    {"Pairwise_set/Helpfulness/Chat/Casual Conversation", 306},
    {"Pairwise_set/Helpfulness/Chat/Discussion", 293},
    {"Pairwise_set/Helpfulness/Chat/Supportive Conversation", 114},
    {"Pairwise_set/Helpfulness/Classification/Content Categorization", 107},
    {"Pairwise_set/Helpfulness/Classification/Quality and Compliance Assessment", 57},
    {"Pairwise_set/Helpfulness/Closed QA/ContextBased", 447},
    {"Pairwise_set/Helpfulness/Closed QA/OptionBased", 473},
    {"Pairwise_set/Helpfulness/Code/Data Management", 376},
    {"Pairwise_set/Helpfulness/Code/Development and Implementation", 399},
    {"Pairwise_set/Helpfulness/Code/Documentation", 65},
    {"Pairwise_set/Helpfulness/Code/Quality and Optimization", 384},
    {"Pairwise_set/Helpfulness/Generation/Creative Writing", 762},
    {"Pairwise_set/Helpfulness/Generation/Professional Content Generation", 347},
    {"Pairwise_set/Helpfulness/Open QA/Factual", 664},
    {"Pairwise_set/Helpfulness/Open QA/General Explanation", 413},
    {"Pairwise_set/Helpfulness/Open QA/Hypothetical Scenarios", 42},
    {"Pairwise_set/Helpfulness/Open QA/Interpretative Analysis", 107},
    {"Pairwise_set/Helpfulness/Open QA/Personal Opinion and Advice", 78},
    {"Pairwise_set/Helpfulness/Open QA/Technical and Practical Support", 238},
    {"Pairwise_set/Helpfulness/Reasoning/Analytical Reasoning", 596},
    {"Pairwise_set/Helpfulness/Reasoning/Critical Thinking", 200},
    {"Pairwise_set/Helpfulness/Reasoning/Human Decision Making", 165},
    {"Pairwise_set/Helpfulness/Reasoning/Logical Deduction", 222},
    {"Pairwise_set/Helpfulness/Reasoning/Pattern Recognition", 52},
    {"Pairwise_set/Helpfulness/Rewrite/Paraphrasing", 83},
    {"Pairwise_set/Helpfulness/Rewrite/PostQuality Assessment Rewriting", 222},
    {"Pairwise_set/Helpfulness/Rewrite/Textual ExpansionReduction", 50},
    {"Pairwise_set/Helpfulness/Rewrite/Tone Adjustment", 103},
    {"Pairwise_set/Helpfulness/Role Playing/General Character", 163},
    {"Pairwise_set/Helpfulness/Role Playing/Specific Character", 209},
    {"Pairwise_set/Helpfulness/Summarization/Specialized Summaries", 189},
    {"Pairwise_set/Helpfulness/Summarization/Standard Summaries", 341},
    {"Pairwise_set/Helpfulness/Translation/GeneralExcerpt Language Translation", 483},
    {"Pairwise_set/Helpfulness/Translation/Literary and Cultural Translation", 176},
    {"Pairwise_set/Helpfulness/Translation/Technical and Scientific Translation", 192},
};

const rmb_scenario *rmb_published_scenarios(size_t *count)
{
    *count = sizeof published / sizeof published[0];
    return published;
}

int rmb_goal_of_path(const char *category_path)
{
    const char *slash = strchr(category_path, '/');
    if (!slash)
        return -1;
    const char *goal = slash + 1;
    size_t len = strcspn(goal, "/");
    if (len == 11 && !strncmp(goal, "Helpfulness", len))
        return RMB_GOAL_HELPFULNESS;
    if (len == 12 && !strncmp(goal, "Harmlessness", len))
        return RMB_GOAL_HARMLESSNESS;
    return -1;
}

static bool is_glob(const char *pattern)
{
    return strpbrk(pattern, "*?[") != NULL;
}

static bool pattern_match(const char *pattern, const char *path)
{
    if (is_glob(pattern))
        return fnmatch(pattern, path, 0) == 0;
    size_t n = strlen(pattern);
    while (n > 0 && pattern[n - 1] == '/')
        n--;
    return strncmp(pattern, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool rmb_subset_match(const rmb_subset *subset, const char *category_path)
{
    if (!subset || subset->n_patterns == 0)
        return true;
    for (size_t i = 0; i < subset->n_patterns; i++)
        if (pattern_match(subset->patterns[i], category_path))
            return true;
    return false;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

rmb_status rmb_data_locate(const char *explicit_dir, char **dir, rmb_error *err)
{
    const char *found = NULL;
    if (explicit_dir) {
        if (!is_dir(explicit_dir))
            return rmb_fail(err, RMB_EIO, "--data %s: not a directory", explicit_dir);
        found = explicit_dir;
    } else {
        const char *env = getenv("RMB_DATA");
        if (env && *env) {
            if (!is_dir(env))
                return rmb_fail(err, RMB_EIO, "$RMB_DATA=%s: not a directory", env);
            found = env;
        } else if (is_dir("RMB_dataset")) {
            found = "RMB_dataset";
        } else if (is_dir("../shared/RMB_dataset")) {
            found = "../shared/RMB_dataset";
        } else {
            return rmb_fail(err, RMB_EIO,
                            "no RMB data found: tried --data, $RMB_DATA, ./RMB_dataset and "
                            "../shared/RMB_dataset");
        }
    }
    *dir = strdup(found);
    return *dir ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
}

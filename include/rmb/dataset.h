/* The RMB benchmark: scenarios, items, conversations and answers.
 *
 * A dataset directory holds Pairwise_set/ and BoN_set/, each with
 * Helpfulness/<Category>/<Scenario>.json and Harmlessness/S<n>.json.  Every
 * item keeps its answers in one array: answers[0] is the preferred one
 * (chosen, or the best of N), answers[1..] the others (rejected, or losers). */
#ifndef RMB_DATASET_H
#define RMB_DATASET_H

#include "rmb/common.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rmb_set { RMB_SET_PAIRWISE, RMB_SET_BON } rmb_set;
typedef enum rmb_goal { RMB_GOAL_HELPFULNESS, RMB_GOAL_HARMLESSNESS } rmb_goal;

#define RMB_PAIRS_PUBLISHED 17131
#define RMB_BON_PUBLISHED 3786

typedef struct rmb_message {
    const char *role;    /* "user" or "assistant" */
    const char *content;
} rmb_message;

typedef struct rmb_conversation {
    const rmb_message *messages;
    size_t n_messages;
} rmb_conversation;

typedef struct rmb_answer {
    const char *llm_name; /* NULL when unknown (results files) */
    const char *text;     /* NULL when unknown (results files) */
} rmb_answer;

typedef struct rmb_item {
    rmb_set set;
    rmb_goal goal;
    const char *uid;           /* pair_uid or bon_uid, as a string */
    const char *category_path; /* e.g. "Pairwise_set/Helpfulness/Code/Documentation" */
    size_t conversation;       /* index of its distinct conversation; SIZE_MAX if none */
    const rmb_answer *answers; /* [0] preferred, [1..] dispreferred */
    size_t n_answers;          /* 2 for pairwise, 3..7 for Best-of-N */
    const char *file;          /* where the item was read, for messages */
    size_t index;              /* its position in that file */
} rmb_item;

/* Scenario selection (--subset).  A pattern without glob characters selects
 * the category paths it is a whole-component prefix of; a glob (*, ?, [)
 * must match the whole category path.  No patterns select everything. */
typedef struct rmb_subset {
    const char *const *patterns;
    size_t n_patterns;
} rmb_subset;

bool rmb_subset_match(const rmb_subset *subset, const char *category_path);

/* A scenario of the published benchmark. */
typedef struct rmb_scenario {
    const char *category_path;
    size_t published; /* items in the published benchmark */
} rmb_scenario;

/* The published benchmark's scenarios (98: 49 pairwise, 49 Best-of-N). */
const rmb_scenario *rmb_published_scenarios(size_t *count);

/* The goal named by a category path's second component, or -1. */
int rmb_goal_of_path(const char *category_path);

/* The data directory to use: explicit if given, else $RMB_DATA, else
 * ./RMB_dataset, else ../shared/RMB_dataset.  Returns a string the caller
 * frees, or fails naming the places tried. */
rmb_status rmb_data_locate(const char *explicit_dir, char **dir, rmb_error *err);

typedef struct rmb_dataset rmb_dataset;

/* Loads and validates every scenario file under dir that the subset selects.
 * Fails on the first malformed file, naming file, item and field. */
rmb_status rmb_dataset_open(rmb_dataset **out, const char *dir, const rmb_subset *subset,
                            const rmb_context *ctx, rmb_error *err);
void rmb_dataset_close(rmb_dataset *ds);

const char *rmb_dataset_dir(const rmb_dataset *ds);
/* Items in a fixed order: files sorted by path, then file order. */
size_t rmb_dataset_n_items(const rmb_dataset *ds);
const rmb_item *rmb_dataset_items(const rmb_dataset *ds);
/* Distinct conversations (identical turn lists share one index). */
size_t rmb_dataset_n_conversations(const rmb_dataset *ds);
const rmb_conversation *rmb_dataset_conversation(const rmb_dataset *ds, size_t index);
/* Looks an item up by set and uid; NULL if absent. */
const rmb_item *rmb_dataset_find(const rmb_dataset *ds, rmb_set set, const char *uid);

#ifdef __cplusplus
}
#endif
#endif

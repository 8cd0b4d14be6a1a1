#include "eval/plan.h"

#include "common/hashmap.h"

#include <stdlib.h>
#include <string.h>

/* Conversations are interned by the dataset, so a sequence is identified by
 * (conversation index, answer text) and compared without rehashing turns. */
static uint64_t answer_hash(size_t conversation, const char *answer)
{
    uint64_t h = rmb_hash_bytes(0, &conversation, sizeof conversation);
    return rmb_hash_bytes(h, answer, strlen(answer));
}

rmb_status rmb_plan_build(rmb_plan *plan, const rmb_dataset *ds, const rmb_item *items, size_t n,
                          rmb_error *err)
{
    memset(plan, 0, sizeof *plan);
    for (size_t i = 0; i < n; i++)
        plan->n_answers += items[i].n_answers;
    plan->first_answer = malloc((n + 1) * sizeof *plan->first_answer);
    plan->answer_sequence = malloc((plan->n_answers + 1) * sizeof *plan->answer_sequence);
    plan->sequences = malloc((plan->n_answers + 1) * sizeof *plan->sequences);
    rmb_hashmap seen = {0};
    if (!plan->first_answer || !plan->answer_sequence || !plan->sequences)
        goto oom;

    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        plan->first_answer[i] = k;
        const rmb_conversation *conv = rmb_dataset_conversation(ds, items[i].conversation);
        for (size_t j = 0; j < items[i].n_answers; j++, k++) {
            const char *answer = items[i].answers[j].text;
            uint64_t h = answer_hash(items[i].conversation, answer);
            size_t slot = 0, s;
            bool found = false;
            while (!found && rmb_hashmap_next(&seen, h, &slot, &s))
                found = plan->sequences[s].conversation_id == items[i].conversation &&
                        !strcmp(plan->sequences[s].answer, answer);
            if (!found) {
                s = plan->n_sequences++;
                plan->sequences[s] = (rmb_sequence){conv, items[i].conversation, answer,
                                                    rmb_sequence_key(conv, answer)};
                if (!rmb_hashmap_put(&seen, h, s))
                    goto oom;
            }
            plan->answer_sequence[k] = s;
        }
    }
    plan->first_answer[n] = k;
    rmb_hashmap_free(&seen);

    /* Group by conversation; remap the answers to the new positions. */
    rmb_sequence *sorted = malloc((plan->n_sequences + 1) * sizeof *sorted);
    size_t *new_pos = malloc((plan->n_sequences + 1) * sizeof *new_pos);
    if (!sorted || !new_pos) {
        free(sorted);
        free(new_pos);
        goto oom;
    }
    /* Counting sort by conversation index keeps first-appearance order. */
    size_t n_conv = rmb_dataset_n_conversations(ds);
    size_t *bucket = calloc(n_conv + 1, sizeof *bucket);
    if (!bucket) {
        free(sorted);
        free(new_pos);
        goto oom;
    }
    for (size_t s = 0; s < plan->n_sequences; s++)
        bucket[plan->sequences[s].conversation_id + 1]++;
    for (size_t c = 0; c < n_conv; c++)
        bucket[c + 1] += bucket[c];
    for (size_t s = 0; s < plan->n_sequences; s++) {
        size_t pos = bucket[plan->sequences[s].conversation_id]++;
        sorted[pos] = plan->sequences[s];
        new_pos[s] = pos;
    }
    for (size_t a = 0; a < plan->n_answers; a++)
        plan->answer_sequence[a] = new_pos[plan->answer_sequence[a]];
    free(bucket);
    free(new_pos);
    free(plan->sequences);
    plan->sequences = sorted;
    return RMB_OK;
oom:
    rmb_hashmap_free(&seen);
    rmb_plan_free(plan);
    return rmb_fail(err, RMB_ENOMEM, "out of memory building the scoring plan");
}

void rmb_plan_free(rmb_plan *plan)
{
    free(plan->sequences);
    free(plan->answer_sequence);
    free(plan->first_answer);
    memset(plan, 0, sizeof *plan);
}

static uint64_t comparison_hash(size_t conversation, const char *first, const char *second)
{
    uint64_t h = answer_hash(conversation, first);
    return rmb_hash_bytes(h, second, strlen(second) + 1);
}

rmb_status rmb_comparison_plan_build(rmb_comparison_plan *plan, const rmb_dataset *ds,
                                     const rmb_item *items, size_t n, rmb_error *err)
{
    memset(plan, 0, sizeof *plan);
    for (size_t i = 0; i < n; i++)
        plan->n_naive += items[i].n_answers - 1;
    plan->first = malloc((n + 1) * sizeof *plan->first);
    plan->item_comparison = malloc((plan->n_naive + 1) * sizeof *plan->item_comparison);
    plan->comparisons = malloc((plan->n_naive + 1) * sizeof *plan->comparisons);
    rmb_hashmap seen = {0};
    if (!plan->first || !plan->item_comparison || !plan->comparisons)
        goto oom;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        plan->first[i] = k;
        const rmb_item *it = &items[i];
        for (size_t j = 1; j < it->n_answers; j++, k++) {
            const char *a = it->answers[0].text, *b = it->answers[j].text;
            uint64_t h = comparison_hash(it->conversation, a, b);
            size_t slot = 0, c;
            bool found = false;
            while (!found && rmb_hashmap_next(&seen, h, &slot, &c))
                found = plan->comparisons[c].conversation_id == it->conversation &&
                        !strcmp(plan->comparisons[c].first, a) &&
                        !strcmp(plan->comparisons[c].second, b);
            if (!found) {
                c = plan->n_comparisons++;
                plan->comparisons[c] = (rmb_comparison){
                    rmb_dataset_conversation(ds, it->conversation), it->conversation, a, b};
                if (!rmb_hashmap_put(&seen, h, c))
                    goto oom;
            }
            plan->item_comparison[k] = c;
        }
    }
    plan->first[n] = k;
    rmb_hashmap_free(&seen);
    return RMB_OK;
oom:
    rmb_hashmap_free(&seen);
    rmb_comparison_plan_free(plan);
    return rmb_fail(err, RMB_ENOMEM, "out of memory building the comparison plan");
}

void rmb_comparison_plan_free(rmb_comparison_plan *plan)
{
    free(plan->comparisons);
    free(plan->item_comparison);
    free(plan->first);
    memset(plan, 0, sizeof *plan);
}

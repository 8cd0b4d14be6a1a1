#include "eval/records.h"

#include "common/fileio.h"
#include "common/hashmap.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

static json_t *reward_array(const double *scores, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(scores[i]));
    return a;
}

static json_t *record_json(const rmb_outcome *o)
{
    const rmb_item *it = o->item;
    bool correct = rmb_outcome_correct(o);
    if (it->set == RMB_SET_PAIRWISE)
        return json_pack("{s:s, s:s, s:f, s:f, s:b}", "pair_uid", it->uid, "category_path",
                         it->category_path, "chosen_reward", o->scores[0], "reject_reward",
                         o->scores[1], "is_correct", correct);
    return json_pack("{s:s, s:s, s:f, s:o, s:i}", "bon_uid", it->uid, "category_path",
                     it->category_path, "best_reward", o->scores[0], "loser_rewards",
                     reward_array(o->scores + 1, it->n_answers - 1), "is_correct", (int)correct);
}

rmb_status rmb_records_write(FILE *fp, rmb_set set, const rmb_outcome *outcomes, size_t n,
                             const char *path, rmb_error *err)
{
    const char *sep = "[\n";
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i].item->set != set)
            continue;
        for (size_t j = 0; j < outcomes[i].item->n_answers; j++)
            if (!isfinite(outcomes[i].scores[j]))
                return rmb_fail(err, RMB_EDATA, "%s: item %s: reward %zu is not a finite number",
                                path, outcomes[i].item->uid, j);
        json_t *rec = record_json(&outcomes[i]);
        if (!rec)
            return rmb_fail(err, RMB_ENOMEM, "%s: out of memory", path);
        fputs(sep, fp);
        int rc = json_dumpf(rec, fp, JSON_COMPACT | JSON_REAL_PRECISION(17));
        json_decref(rec);
        if (rc != 0)
            return rmb_fail(err, RMB_EIO, "%s: write error", path);
        sep = ",\n";
    }
    fputs(*sep == '[' ? "[]\n" : "\n]\n", fp);
    return RMB_OK;
}

/* ---- reading ---- */

typedef struct reader {
    rmb_records *r;
    const char *path;
    const rmb_subset *subset;
    rmb_error *err;
    size_t cap;
    rmb_hashmap uids[2];
} reader;

__attribute__((format(printf, 5, 6))) static rmb_status record_fail(reader *rd, size_t index,
                                                                    const char *uid,
                                                                    const char *field,
                                                                    const char *fmt, ...)
{
    char what[512], where[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (uid)
        snprintf(where, sizeof where, " (uid %s)", uid);
    if (field)
        return rmb_fail(rd->err, RMB_EDATA, "%s: record %zu%s: field %s: %s", rd->path, index,
                        where, field, what);
    return rmb_fail(rd->err, RMB_EDATA, "%s: record %zu%s: %s", rd->path, index, where, what);
}

/* A uid as text: the harness writes strings, but integers are accepted. */
static const char *uid_text(reader *rd, json_t *v)
{
    if (json_is_string(v))
        return rmb_arena_strndup(&rd->r->arena, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return rmb_arena_strndup(&rd->r->arena, buf, (size_t)n);
    }
    return NULL;
}

static rmb_status read_reward(reader *rd, size_t index, const char *uid, json_t *rec,
                              const char *field, double *out)
{
    json_t *v = json_object_get(rec, field);
    if (!v)
        return record_fail(rd, index, uid, field, "missing");
    if (!json_is_number(v))
        return record_fail(rd, index, uid, field, "expected a number");
    *out = json_number_value(v);
    return RMB_OK;
}

static rmb_status read_loser_rewards(reader *rd, size_t index, const char *uid, json_t *rec,
                                     double **scores, size_t *n_answers)
{
    json_t *a = json_object_get(rec, "loser_rewards");
    if (!a)
        return record_fail(rd, index, uid, "loser_rewards", "missing");
    if (!json_is_array(a))
        return record_fail(rd, index, uid, "loser_rewards", "expected an array of numbers");
    size_t n = json_array_size(a);
    if (n == 0)
        return record_fail(rd, index, uid, "loser_rewards", "empty: a Best-of-N record needs a loser");
    *scores = rmb_arena_alloc(&rd->r->arena, (n + 1) * sizeof **scores);
    if (!*scores)
        return rmb_fail(rd->err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v)) {
            char field[48];
            snprintf(field, sizeof field, "loser_rewards[%zu]", i);
            return record_fail(rd, index, uid, field, "expected a number");
        }
        (*scores)[i + 1] = json_number_value(v);
    }
    *n_answers = n + 1;
    return RMB_OK;
}

/* is_correct is optional: true/false or 0/1.  -1 when absent. */
static rmb_status read_is_correct(reader *rd, size_t index, const char *uid, json_t *rec, int *out)
{
    json_t *v = json_object_get(rec, "is_correct");
    *out = -1;
    if (!v || json_is_null(v))
        return RMB_OK;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        *out = (int)json_integer_value(v);
    else
        return record_fail(rd, index, uid, "is_correct", "expected true/false or 0/1");
    return RMB_OK;
}

static rmb_status check_unique(reader *rd, size_t index, rmb_set set, const char *uid)
{
    uint64_t h = rmb_hash_bytes(0, uid, strlen(uid));
    size_t slot = 0, other;
    while (rmb_hashmap_next(&rd->uids[set], h, &slot, &other))
        if (!strcmp(rd->r->items[other].uid, uid))
            return record_fail(rd, index, uid, NULL, "duplicate %s: also record %zu",
                               set == RMB_SET_PAIRWISE ? "pair_uid" : "bon_uid",
                               rd->r->items[other].index);
    if (!rmb_hashmap_put(&rd->uids[set], h, rd->r->n))
        return rmb_fail(rd->err, RMB_ENOMEM, "out of memory");
    return RMB_OK;
}

static rmb_status read_record(reader *rd, size_t index, json_t *rec)
{
    if (!json_is_object(rec))
        return record_fail(rd, index, NULL, NULL, "expected an object");
    json_t *pair_uid = json_object_get(rec, "pair_uid"), *bon_uid = json_object_get(rec, "bon_uid");
    if (!pair_uid == !bon_uid)
        return record_fail(rd, index, NULL, NULL,
                           pair_uid ? "has both pair_uid and bon_uid" : "has neither pair_uid nor bon_uid");
    rmb_set set = pair_uid ? RMB_SET_PAIRWISE : RMB_SET_BON;
    const char *uid_field = pair_uid ? "pair_uid" : "bon_uid";
    const char *uid = uid_text(rd, pair_uid ? pair_uid : bon_uid);
    if (!uid)
        return record_fail(rd, index, NULL, uid_field, "expected a string or an integer");

    json_t *cp = json_object_get(rec, "category_path");
    if (!cp)
        return record_fail(rd, index, uid, "category_path", "missing");
    if (!json_is_string(cp))
        return record_fail(rd, index, uid, "category_path", "expected a string");
    const char *path = json_string_value(cp);
    const char *prefix = set == RMB_SET_PAIRWISE ? "Pairwise_set/" : "BoN_set/";
    if (strncmp(path, prefix, strlen(prefix)) != 0 || rmb_goal_of_path(path) < 0)
        return record_fail(rd, index, uid, "category_path",
                           "\"%s\" is not a %s scenario path (%sHelpfulness/... or %sHarmlessness/...)",
                           path, set == RMB_SET_PAIRWISE ? "pairwise" : "Best-of-N", prefix, prefix);

    double *scores = NULL;
    size_t n_answers = 2;
    rmb_status st;
    if (set == RMB_SET_PAIRWISE) {
        scores = rmb_arena_alloc(&rd->r->arena, 2 * sizeof *scores);
        if (!scores)
            return rmb_fail(rd->err, RMB_ENOMEM, "out of memory");
        if ((st = read_reward(rd, index, uid, rec, "chosen_reward", &scores[0])) ||
            (st = read_reward(rd, index, uid, rec, "reject_reward", &scores[1])))
            return st;
    } else {
        if ((st = read_loser_rewards(rd, index, uid, rec, &scores, &n_answers)) ||
            (st = read_reward(rd, index, uid, rec, "best_reward", &scores[0])))
            return st;
    }
    int stored_correct;
    if ((st = read_is_correct(rd, index, uid, rec, &stored_correct)))
        return st;
    if (!rmb_subset_match(rd->subset, path))
        return RMB_OK;
    if ((st = check_unique(rd, index, set, uid)))
        return st;

    rmb_records *r = rd->r;
    if (r->n == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 1024;
        rmb_item *items = realloc(r->items, cap * sizeof *items);
        if (!items)
            return rmb_fail(rd->err, RMB_ENOMEM, "out of memory");
        r->items = items;
        rd->cap = cap;
    }
    rmb_answer *answers = rmb_arena_alloc(&r->arena, n_answers * sizeof *answers);
    char *path_copy = rmb_arena_strndup(&r->arena, path, strlen(path));
    if (!answers || !path_copy)
        return rmb_fail(rd->err, RMB_ENOMEM, "out of memory");
    memset(answers, 0, n_answers * sizeof *answers);
    r->items[r->n] = (rmb_item){
        .set = set,
        .goal = (rmb_goal)rmb_goal_of_path(path),
        .uid = uid,
        .category_path = path_copy,
        .conversation = SIZE_MAX,
        .answers = answers,
        .n_answers = n_answers,
        .file = rd->path,
        .index = index,
    };
    /* Outcomes point at items, which may still move: store the scores here
     * and link them once reading is done. */
    r->outcomes[r->n].scores = scores;
    rmb_outcome probe = {&r->items[r->n], scores};
    if (stored_correct >= 0 && stored_correct != (int)rmb_outcome_correct(&probe))
        r->is_correct_mismatches++;
    r->n++;
    return RMB_OK;
}

/* Records are one JSON array, or JSONL: one record per non-blank line. */
static rmb_status read_all(reader *rd, const char *text, size_t len)
{
    size_t start = strspn(text, " \t\r\n");
    json_error_t je;
    if (text[start] == '[') {
        json_t *root = json_loadb(text, len, 0, &je);
        if (!root)
            return rmb_fail(rd->err, RMB_EDATA, "%s: line %d, column %d: invalid JSON: %s", rd->path,
                            je.line, je.column, je.text);
        rmb_status st = RMB_OK;
        for (size_t i = 0; st == RMB_OK && i < json_array_size(root); i++)
            st = read_record(rd, i, json_array_get(root, i));
        json_decref(root);
        return st;
    }
    size_t index = 0, line = 1;
    for (const char *p = text, *end = text + len; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (strspn(p, " \t\r") < n) {
            json_t *rec = json_loadb(p, n, 0, &je);
            if (!rec)
                return rmb_fail(rd->err, RMB_EDATA, "%s: line %zu, column %d: invalid JSON: %s",
                                rd->path, line, je.column, je.text);
            rmb_status st = read_record(rd, index++, rec);
            json_decref(rec);
            if (st != RMB_OK)
                return st;
        }
        p += n + 1;
    }
    return RMB_OK;
}

rmb_status rmb_records_parse(rmb_records *r, const char *path, const char *text, size_t len,
                             const rmb_subset *subset, rmb_error *err)
{
    memset(r, 0, sizeof *r);
    if (strlen(text) != len)
        return rmb_fail(err, RMB_EDATA, "%s: contains a NUL byte", path);
    reader rd = {.r = r, .path = path, .subset = subset, .err = err};
    /* Every record is an object, so the '{' count bounds the records and the
     * outcome array never moves while items still do. */
    size_t max_records = 1;
    for (size_t i = 0; i < len; i++)
        max_records += text[i] == '{';
    r->outcomes = calloc(max_records, sizeof *r->outcomes);
    rmb_status st = r->outcomes ? read_all(&rd, text, len) : rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_hashmap_free(&rd.uids[0]);
    rmb_hashmap_free(&rd.uids[1]);
    if (st != RMB_OK) {
        rmb_records_free(r);
        return st;
    }
    for (size_t i = 0; i < r->n; i++)
        r->outcomes[i].item = &r->items[i];
    return RMB_OK;
}

rmb_status rmb_records_read(rmb_records *r, const char *path, const rmb_subset *subset,
                            const rmb_context *ctx, rmb_error *err)
{
    (void)ctx;
    memset(r, 0, sizeof *r);
    char *text = NULL;
    size_t len = 0;
    rmb_status st = rmb_read_file(path, &text, &len, err);
    if (st == RMB_OK)
        st = rmb_records_parse(r, path, text, len, subset, err);
    free(text);
    return st;
}

void rmb_records_free(rmb_records *r)
{
    free(r->items);
    free(r->outcomes);
    rmb_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

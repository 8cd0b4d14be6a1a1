/* Loading and validating the RMB benchmark files.
 *
 * The files are ~93 MB of JSON, so they are parsed with yajl's streaming
 * parser straight into the dataset (no document tree): every string the
 * benchmark needs is copied once into an arena, everything else is skipped.
 * A frame stack tracks where in the item schema the parser is, so a missing,
 * duplicated or mistyped field is reported with its file, item and path. */
#include "rmb/dataset.h"

#include "common/arena.h"
#include "common/fileio.h"
#include "common/hashmap.h"
#include "data/dataset_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_parse.h>

struct rmb_dataset {
    char *dir;
    rmb_arena arena;
    rmb_item *items;
    size_t n_items, cap_items;
    rmb_conversation *conversations;
    size_t n_conversations, cap_conversations;
    rmb_hashmap conversation_index; /* conversation hash -> index */
    rmb_hashmap uid_index[2];       /* per set: uid hash -> item index */
};

/* ---- the item schema ---- */

typedef enum frame_kind { F_TOP, F_ITEM, F_CONVERSATION, F_MESSAGE, F_ANSWER, F_LOSERS, F_SKIP } frame_kind;

/* Keys the loader reads; everything else (language, extra fields) is skipped. */
typedef enum key {
    K_OTHER,
    K_UID,
    K_CATEGORY,
    K_CONVERSATION,
    K_PREFERRED, /* chosen / bon_best */
    K_REJECT,
    K_LOSERS,
    K_ROLE,
    K_CONTENT,
    K_LLM_NAME,
    K_ANSWER_TEXT,
    K_COUNT
} key;

#define MAX_DEPTH 64

typedef struct item_builder {
    const char *uid, *category_path;
    rmb_message *messages;
    size_t n_messages, cap_messages;
    rmb_answer *answers; /* [0] preferred; pairwise [1] reject; BoN [1..] losers */
    size_t n_answers, cap_answers;
    unsigned seen;         /* K_* bits seen in the item object */
    unsigned seen_nested;  /* K_* bits seen in the current message or answer */
    size_t answer_slot;    /* which answer the current F_ANSWER fills */
} item_builder;

typedef struct parser {
    rmb_dataset *ds;
    rmb_error *err;
    rmb_status status;
    const char *file;          /* the file's path, for messages */
    const char *category_path; /* what the file's location says */
    rmb_set set;
    frame_kind frames[MAX_DEPTH];
    key keys[MAX_DEPTH]; /* the key being read in each map frame */
    int depth;           /* frames in use */
    size_t index;        /* item index within the file */
    item_builder item;
} parser;

static const char *set_uid_field(rmb_set set)
{
    return set == RMB_SET_PAIRWISE ? "pair_uid" : "bon_uid";
}

static key key_of(const parser *p, frame_kind frame, const char *s, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && !memcmp(s, lit, len))
    bool pairwise = p->set == RMB_SET_PAIRWISE;
    switch (frame) {
    case F_ITEM:
        if (pairwise ? IS("pair_uid") : IS("bon_uid"))
            return K_UID;
        if (IS("category_path"))
            return K_CATEGORY;
        if (IS("conversation_input"))
            return K_CONVERSATION;
        if (pairwise ? IS("chosen") : IS("bon_best"))
            return K_PREFERRED;
        if (pairwise && IS("reject"))
            return K_REJECT;
        if (!pairwise && IS("loser_list"))
            return K_LOSERS;
        return K_OTHER;
    case F_MESSAGE:
        return IS("role") ? K_ROLE : IS("content") ? K_CONTENT : K_OTHER;
    case F_ANSWER:
        return IS("llm_name") ? K_LLM_NAME : IS("answer") ? K_ANSWER_TEXT : K_OTHER;
    default:
        return K_OTHER;
    }
#undef IS
}

/* The field path of the current position, for messages: "chosen.answer". */
static void field_path(const parser *p, key k, char *out, size_t size)
{
    bool pairwise = p->set == RMB_SET_PAIRWISE;
    const item_builder *it = &p->item;
    switch (k) {
    case K_UID: snprintf(out, size, "%s", set_uid_field(p->set)); return;
    case K_CATEGORY: snprintf(out, size, "category_path"); return;
    case K_CONVERSATION: snprintf(out, size, "conversation_input"); return;
    case K_PREFERRED: snprintf(out, size, pairwise ? "chosen" : "bon_best"); return;
    case K_REJECT: snprintf(out, size, "reject"); return;
    case K_LOSERS: snprintf(out, size, "loser_list"); return;
    case K_ROLE:
    case K_CONTENT:
        snprintf(out, size, "conversation_input[%zu].%s", it->n_messages - 1,
                 k == K_ROLE ? "role" : "content");
        return;
    case K_LLM_NAME:
    case K_ANSWER_TEXT: {
        const char *leaf = k == K_LLM_NAME ? "llm_name" : "answer";
        if (it->answer_slot == 0)
            snprintf(out, size, "%s.%s", pairwise ? "chosen" : "bon_best", leaf);
        else if (pairwise)
            snprintf(out, size, "reject.%s", leaf);
        else
            snprintf(out, size, "loser_list[%zu].%s", it->answer_slot - 1, leaf);
        return;
    }
    default: snprintf(out, size, "(unknown)"); return;
    }
}

__attribute__((format(printf, 3, 4))) static int item_fail(parser *p, key k, const char *fmt, ...)
{
    char what[512], field[128], uid[160] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->item.uid)
        snprintf(uid, sizeof uid, " (%s %s)", set_uid_field(p->set), p->item.uid);
    if (k == K_OTHER)
        p->status = rmb_fail(p->err, RMB_EDATA, "%s: item %zu%s: %s", p->file, p->index, uid, what);
    else {
        field_path(p, k, field, sizeof field);
        p->status = rmb_fail(p->err, RMB_EDATA, "%s: item %zu%s: field %s: %s", p->file, p->index,
                             uid, field, what);
    }
    return 0; /* tells yajl to stop */
}

static int out_of_memory(parser *p)
{
    p->status = rmb_fail(p->err, RMB_ENOMEM, "%s: out of memory", p->file);
    return 0;
}

static bool grow_array(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *a = realloc(*array, n * elem);
    if (!a)
        return false;
    *array = a;
    *cap = n;
    return true;
}

/* ---- committing a finished item into the dataset ---- */

static uint64_t conversation_hash(const rmb_message *m, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        h = rmb_hash_bytes(h, m[i].role, strlen(m[i].role) + 1);
        h = rmb_hash_bytes(h, m[i].content, strlen(m[i].content) + 1);
    }
    return h;
}

static bool same_conversation(const rmb_conversation *c, const rmb_message *m, size_t n)
{
    if (c->n_messages != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->messages[i].role, m[i].role) || strcmp(c->messages[i].content, m[i].content))
            return false;
    return true;
}

/* The index of the item's conversation, adding it if new; SIZE_MAX on OOM. */
static size_t intern_conversation(rmb_dataset *ds, const rmb_message *m, size_t n)
{
    uint64_t h = conversation_hash(m, n);
    size_t slot = 0, idx;
    while (rmb_hashmap_next(&ds->conversation_index, h, &slot, &idx))
        if (same_conversation(&ds->conversations[idx], m, n))
            return idx;
    if (!grow_array((void **)&ds->conversations, &ds->cap_conversations, ds->n_conversations + 1,
                    sizeof *ds->conversations))
        return SIZE_MAX;
    rmb_message *copy = rmb_arena_alloc(&ds->arena, n * sizeof *copy);
    if (!copy)
        return SIZE_MAX;
    memcpy(copy, m, n * sizeof *copy);
    idx = ds->n_conversations;
    if (!rmb_hashmap_put(&ds->conversation_index, h, idx))
        return SIZE_MAX;
    ds->conversations[ds->n_conversations++] = (rmb_conversation){copy, n};
    return idx;
}

static uint64_t uid_hash(const char *uid)
{
    return rmb_hash_bytes(0, uid, strlen(uid));
}

static const rmb_item *find_uid(const rmb_dataset *ds, rmb_set set, const char *uid)
{
    size_t slot = 0, idx;
    while (rmb_hashmap_next(&ds->uid_index[set], uid_hash(uid), &slot, &idx))
        if (!strcmp(ds->items[idx].uid, uid))
            return &ds->items[idx];
    return NULL;
}

static int check_complete(parser *p)
{
    item_builder *it = &p->item;
    static const key required[] = {K_UID, K_CATEGORY, K_CONVERSATION, K_PREFERRED};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(it->seen & (1u << required[i])))
            return item_fail(p, required[i], "missing");
    if (p->set == RMB_SET_PAIRWISE && !(it->seen & (1u << K_REJECT)))
        return item_fail(p, K_REJECT, "missing");
    if (p->set == RMB_SET_BON && !(it->seen & (1u << K_LOSERS)))
        return item_fail(p, K_LOSERS, "missing");
    if (p->set == RMB_SET_BON && it->n_answers < 2)
        return item_fail(p, K_LOSERS, "empty: a Best-of-N item needs at least one loser");
    if (it->n_messages == 0)
        return item_fail(p, K_CONVERSATION, "empty: the conversation has no turns");
    if (strcmp(it->category_path, p->category_path) != 0)
        return item_fail(p, K_CATEGORY, "\"%s\" does not match the file's location \"%s\"",
                         it->category_path, p->category_path);
    const rmb_item *dup = find_uid(p->ds, p->set, it->uid);
    if (dup)
        return item_fail(p, K_UID, "duplicate: %s %s is also item %zu of %s", set_uid_field(p->set),
                         it->uid, dup->index, dup->file);
    return 1;
}

static int commit_item(parser *p)
{
    if (!check_complete(p))
        return 0;
    rmb_dataset *ds = p->ds;
    item_builder *it = &p->item;
    if (!grow_array((void **)&ds->items, &ds->cap_items, ds->n_items + 1, sizeof *ds->items))
        return out_of_memory(p);
    size_t conv = intern_conversation(ds, it->messages, it->n_messages);
    rmb_answer *answers = rmb_arena_alloc(&ds->arena, it->n_answers * sizeof *answers);
    if (conv == SIZE_MAX || !answers)
        return out_of_memory(p);
    memcpy(answers, it->answers, it->n_answers * sizeof *answers);
    rmb_item *item = &ds->items[ds->n_items];
    *item = (rmb_item){
        .set = p->set,
        .goal = (rmb_goal)rmb_goal_of_path(it->category_path),
        .uid = it->uid,
        .category_path = it->category_path,
        .conversation = conv,
        .answers = answers,
        .n_answers = it->n_answers,
        .file = p->file,
        .index = p->index,
    };
    if (!rmb_hashmap_put(&ds->uid_index[p->set], uid_hash(it->uid), ds->n_items))
        return out_of_memory(p);
    ds->n_items++;
    return 1;
}

/* ---- yajl callbacks ---- */

static frame_kind top(const parser *p)
{
    return p->frames[p->depth - 1];
}

static key current_key(const parser *p)
{
    return p->keys[p->depth - 1];
}

/* A value of the wrong JSON type for the current field. */
static int wrong_type(parser *p, const char *expected, const char *got)
{
    frame_kind f = top(p);
    if (f == F_TOP)
        return item_fail(p, K_OTHER, "expected an object, got %s", got);
    if (f == F_CONVERSATION) {
        p->item.n_messages++; /* name the element in the message */
        return item_fail(p, K_OTHER, "field conversation_input[%zu]: expected an object, got %s",
                         p->item.n_messages - 1, got);
    }
    if (f == F_LOSERS)
        return item_fail(p, K_OTHER, "field loser_list[%zu]: expected an object, got %s",
                         p->item.n_answers - 1, got);
    return item_fail(p, current_key(p), "expected %s, got %s", expected, got);
}

/* What the current key expects; NULL when its value is skipped. */
static const char *expected_type(key k)
{
    switch (k) {
    case K_UID: case K_CATEGORY: case K_ROLE: case K_CONTENT: case K_LLM_NAME: case K_ANSWER_TEXT:
        return "a string";
    case K_CONVERSATION: case K_LOSERS:
        return "an array";
    case K_PREFERRED: case K_REJECT:
        return "an object";
    default:
        return NULL;
    }
}

/* A scalar that is not a string. */
static int on_scalar(parser *p, const char *got)
{
    if (p->depth == 0)
        return item_fail(p, K_OTHER, "expected a JSON array of items, got %s", got);
    frame_kind f = top(p);
    if (f == F_SKIP)
        return 1;
    if (f == F_TOP || f == F_CONVERSATION || f == F_LOSERS)
        return wrong_type(p, "an object", got);
    const char *expected = expected_type(current_key(p));
    return expected ? wrong_type(p, expected, got) : 1;
}

static int cb_null(void *ctx) { return on_scalar(ctx, "null"); }
static int cb_bool(void *ctx, int b) { (void)b; return on_scalar(ctx, "a boolean"); }
static int cb_number(void *ctx, const char *s, size_t len) { (void)s, (void)len; return on_scalar(ctx, "a number"); }

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    parser *p = ctx;
    if (p->depth == 0 || top(p) == F_SKIP)
        return p->depth == 0 ? on_scalar(p, "a string") : 1;
    frame_kind f = top(p);
    if (f == F_TOP || f == F_CONVERSATION || f == F_LOSERS)
        return wrong_type(p, "an object", "a string");
    key k = current_key(p);
    const char *expected = expected_type(k);
    if (!expected)
        return 1;
    if (strcmp(expected, "a string") != 0)
        return wrong_type(p, expected, "a string");
    char *copy = rmb_arena_strndup(&p->ds->arena, (const char *)s, len);
    if (!copy)
        return out_of_memory(p);
    if (memchr(s, '\0', len))
        return item_fail(p, k, "contains a NUL character");
    item_builder *it = &p->item;
    switch (k) {
    case K_UID: it->uid = copy; break;
    case K_CATEGORY: it->category_path = copy; break;
    case K_ROLE:
        if (strcmp(copy, "user") && strcmp(copy, "assistant") && strcmp(copy, "system"))
            return item_fail(p, k, "\"%s\" is not user, assistant or system", copy);
        it->messages[it->n_messages - 1].role = copy;
        break;
    case K_CONTENT: it->messages[it->n_messages - 1].content = copy; break;
    case K_LLM_NAME: it->answers[it->answer_slot].llm_name = copy; break;
    case K_ANSWER_TEXT: it->answers[it->answer_slot].text = copy; break;
    default: break;
    }
    return 1;
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
    parser *p = ctx;
    frame_kind f = top(p);
    if (f == F_SKIP)
        return 1;
    key k = key_of(p, f, (const char *)s, len);
    unsigned *seen = f == F_ITEM ? &p->item.seen : &p->item.seen_nested;
    if (k != K_OTHER) {
        if (*seen & (1u << k))
            return item_fail(p, k, "appears twice");
        *seen |= 1u << k;
    }
    p->keys[p->depth - 1] = k;
    return 1;
}

static int push(parser *p, frame_kind f)
{
    if (p->depth == MAX_DEPTH)
        return item_fail(p, K_OTHER, "nested too deeply");
    p->frames[p->depth] = f;
    p->keys[p->depth] = K_OTHER;
    p->depth++;
    return 1;
}

/* Starts a new answer in the given slot (0 preferred, 1.. others). */
static int begin_answer(parser *p, size_t slot)
{
    item_builder *it = &p->item;
    if (!grow_array((void **)&it->answers, &it->cap_answers, slot + 1, sizeof *it->answers))
        return out_of_memory(p);
    while (it->n_answers <= slot)
        it->answers[it->n_answers++] = (rmb_answer){NULL, NULL};
    it->answer_slot = slot;
    it->seen_nested = 0;
    return push(p, F_ANSWER);
}

static int cb_start_map(void *ctx)
{
    parser *p = ctx;
    if (p->depth == 0)
        return item_fail(p, K_OTHER, "expected a JSON array of items, got an object");
    item_builder *it = &p->item;
    switch (top(p)) {
    case F_SKIP:
        return push(p, F_SKIP);
    case F_TOP:
        it->uid = it->category_path = NULL;
        it->n_messages = 0;
        it->n_answers = 0;
        it->seen = 0;
        /* answers[0] and, for pairwise, [1] exist from the start, so that
         * reject before chosen still lands in its slot. */
        if (!grow_array((void **)&it->answers, &it->cap_answers, 2, sizeof *it->answers))
            return out_of_memory(p);
        it->answers[0] = it->answers[1] = (rmb_answer){NULL, NULL};
        it->n_answers = p->set == RMB_SET_PAIRWISE ? 2 : 1;
        return push(p, F_ITEM);
    case F_CONVERSATION:
        if (!grow_array((void **)&it->messages, &it->cap_messages, it->n_messages + 1,
                        sizeof *it->messages))
            return out_of_memory(p);
        it->messages[it->n_messages++] = (rmb_message){NULL, NULL};
        it->seen_nested = 0;
        return push(p, F_MESSAGE);
    case F_LOSERS:
        return begin_answer(p, it->n_answers);
    default: {
        key k = current_key(p);
        if (k == K_PREFERRED)
            return begin_answer(p, 0);
        if (k == K_REJECT)
            return begin_answer(p, 1);
        const char *expected = expected_type(k);
        return expected ? wrong_type(p, expected, "an object") : push(p, F_SKIP);
    }
    }
}

static int cb_end_map(void *ctx)
{
    parser *p = ctx;
    frame_kind f = top(p);
    item_builder *it = &p->item;
    p->depth--;
    if (f == F_ITEM) {
        if (!commit_item(p))
            return 0;
        p->index++;
    } else if (f == F_MESSAGE) {
        rmb_message *m = &it->messages[it->n_messages - 1];
        if (!m->role || !m->content) {
            p->depth++; /* report inside the message */
            return item_fail(p, m->role ? K_CONTENT : K_ROLE, "missing");
        }
    } else if (f == F_ANSWER) {
        const rmb_answer *a = &it->answers[it->answer_slot];
        if (!a->text || !a->llm_name) {
            p->depth++;
            return item_fail(p, a->text ? K_LLM_NAME : K_ANSWER_TEXT, "missing");
        }
    }
    return 1;
}

static int cb_start_array(void *ctx)
{
    parser *p = ctx;
    if (p->depth == 0)
        return push(p, F_TOP);
    switch (top(p)) {
    case F_SKIP:
        return push(p, F_SKIP);
    case F_TOP:
    case F_CONVERSATION:
    case F_LOSERS:
        return wrong_type(p, "an object", "an array");
    default: {
        key k = current_key(p);
        if (k == K_CONVERSATION)
            return push(p, F_CONVERSATION);
        if (k == K_LOSERS)
            return push(p, F_LOSERS);
        const char *expected = expected_type(k);
        return expected ? wrong_type(p, expected, "an array") : push(p, F_SKIP);
    }
    }
}

static int cb_end_array(void *ctx)
{
    ((parser *)ctx)->depth--;
    return 1;
}

static const yajl_callbacks callbacks = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string,
    cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

/* yajl's own error, with a line and column computed from its offset. */
static rmb_status syntax_error(parser *p, yajl_handle h, const char *text, size_t len)
{
    size_t at = yajl_get_bytes_consumed(h);
    if (at > len)
        at = len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    char clean[256];
    snprintf(clean, sizeof clean, "%s", (const char *)msg);
    clean[strcspn(clean, "\n")] = '\0';
    yajl_free_error(h, msg);
    return rmb_fail(p->err, RMB_EDATA, "%s: line %zu, column %zu (item %zu): invalid JSON: %s", p->file,
                    line, col, p->index, clean);
}

static rmb_status parse_text(rmb_dataset *ds, rmb_set set, const char *path,
                             const char *category_path, const char *text, size_t len,
                             rmb_error *err)
{
    parser p = {.ds = ds, .err = err, .file = path, .category_path = category_path, .set = set};
    yajl_handle h = yajl_alloc(&callbacks, NULL, &p);
    if (!h)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st;
    yajl_status ys = yajl_parse(h, (const unsigned char *)text, len);
    if (ys == yajl_status_ok)
        ys = yajl_complete_parse(h);
    if (ys == yajl_status_error && p.status == RMB_OK)
        st = syntax_error(&p, h, text, len);
    else
        st = p.status;
    yajl_free(h);
    free(p.item.messages);
    free(p.item.answers);
    return st;
}

static rmb_status parse_file(rmb_dataset *ds, rmb_set set, const char *path,
                             const char *category_path, rmb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    rmb_status st = rmb_read_file(path, &text, &len, err);
    if (st == RMB_OK)
        st = parse_text(ds, set, path, category_path, text, len, err);
    free(text);
    return st;
}

/* ---- finding the files ---- */

typedef struct file_list {
    char **paths; /* relative to the data directory */
    size_t n, cap;
} file_list;

static rmb_status collect(const char *root, const char *rel, file_list *out, rmb_error *err)
{
    char *path;
    if (asprintf(&path, "%s/%s", root, rel) < 0)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    DIR *d = opendir(path);
    if (!d) {
        rmb_status st = errno == ENOENT ? RMB_OK
                                        : rmb_fail(err, RMB_EIO, "%s: cannot read directory: %s",
                                                   path, strerror(errno));
        free(path);
        return st;
    }
    rmb_status st = RMB_OK;
    struct dirent *e;
    while (st == RMB_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *child, *full;
        if (asprintf(&child, "%s/%s", rel, e->d_name) < 0)
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
        if (st != RMB_OK)
            break;
        struct stat sb;
        if (asprintf(&full, "%s/%s", path, e->d_name) < 0 || stat(full, &sb) != 0) {
            st = rmb_fail(err, RMB_EIO, "%s/%s: cannot stat", path, e->d_name);
        } else if (S_ISDIR(sb.st_mode)) {
            st = collect(root, child, out, err);
        } else {
            size_t n = strlen(child);
            if (n > 5 && !strcmp(child + n - 5, ".json")) {
                if (!grow_array((void **)&out->paths, &out->cap, out->n + 1, sizeof *out->paths))
                    st = rmb_fail(err, RMB_ENOMEM, "out of memory");
                else {
                    out->paths[out->n++] = child;
                    child = NULL;
                }
            }
        }
        free(full);
        free(child);
    }
    closedir(d);
    free(path);
    return st;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_file_list(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
}

static rmb_status load_files(rmb_dataset *ds, const rmb_subset *subset, const rmb_context *ctx,
                             rmb_error *err)
{
    file_list files = {0};
    rmb_status st = collect(ds->dir, "Pairwise_set", &files, err);
    if (st == RMB_OK)
        st = collect(ds->dir, "BoN_set", &files, err);
    if (st == RMB_OK && files.n == 0)
        st = rmb_fail(err, RMB_EDATA, "%s: no scenario files under Pairwise_set/ or BoN_set/",
                      ds->dir);
    if (st == RMB_OK)
        qsort(files.paths, files.n, sizeof *files.paths, compare_paths);
    for (size_t i = 0; st == RMB_OK && i < files.n; i++) {
        const char *rel = files.paths[i];
        size_t n = strlen(rel) - 5;
        char *category_path = rmb_arena_strndup(&ds->arena, rel, n);
        char *file = rmb_arena_alloc(&ds->arena, strlen(ds->dir) + n + 7);
        if (file)
            sprintf(file, "%s/%s", ds->dir, rel);
        if (!category_path || !file) {
            st = rmb_fail(err, RMB_ENOMEM, "out of memory");
            break;
        }
        if (rmb_goal_of_path(category_path) < 0) {
            st = rmb_fail(err, RMB_EDATA, "%s: not under Helpfulness/ or Harmlessness/", file);
            break;
        }
        if (!rmb_subset_match(subset, category_path))
            continue;
        rmb_set set = !strncmp(rel, "Pairwise_set/", 13) ? RMB_SET_PAIRWISE : RMB_SET_BON;
        st = parse_file(ds, set, file, category_path, err);
        rmb_progress(ctx, "loading", i + 1, files.n);
    }
    free_file_list(&files);
    return st;
}

static rmb_dataset *dataset_new(const char *dir)
{
    rmb_dataset *ds = calloc(1, sizeof *ds);
    if (ds && !(ds->dir = strdup(dir))) {
        free(ds);
        return NULL;
    }
    return ds;
}

rmb_status rmb_dataset_parse_text(rmb_dataset **out, rmb_set set, const char *category_path,
                                  const char *text, size_t len, rmb_error *err)
{
    *out = dataset_new("(memory)");
    if (!*out)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    return parse_text(*out, set, "(memory)", category_path, text, len, err);
}

rmb_status rmb_dataset_open(rmb_dataset **out, const char *dir, const rmb_subset *subset,
                            const rmb_context *ctx, rmb_error *err)
{
    *out = NULL;
    rmb_dataset *ds = dataset_new(dir);
    if (!ds)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = load_files(ds, subset, ctx, err);
    if (st != RMB_OK) {
        rmb_dataset_close(ds);
        return st;
    }
    *out = ds;
    return RMB_OK;
}

void rmb_dataset_close(rmb_dataset *ds)
{
    if (!ds)
        return;
    rmb_arena_free(&ds->arena);
    free(ds->items);
    free(ds->conversations);
    rmb_hashmap_free(&ds->conversation_index);
    rmb_hashmap_free(&ds->uid_index[0]);
    rmb_hashmap_free(&ds->uid_index[1]);
    free(ds->dir);
    free(ds);
}

const char *rmb_dataset_dir(const rmb_dataset *ds) { return ds->dir; }
size_t rmb_dataset_n_items(const rmb_dataset *ds) { return ds->n_items; }
const rmb_item *rmb_dataset_items(const rmb_dataset *ds) { return ds->items; }
size_t rmb_dataset_n_conversations(const rmb_dataset *ds) { return ds->n_conversations; }

const rmb_conversation *rmb_dataset_conversation(const rmb_dataset *ds, size_t index)
{
    return index < ds->n_conversations ? &ds->conversations[index] : NULL;
}

const rmb_item *rmb_dataset_find(const rmb_dataset *ds, rmb_set set, const char *uid)
{
    return find_uid(ds, set, uid);
}

#include "eval/runset.h"

#include "common/fileio.h"
#include "common/hashmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const record_files[] = {"pairwise.json", "bon.json"};

static rmb_status read_summary(rmb_run_entry *run, rmb_error *err)
{
    char *path, *text = NULL;
    size_t len;
    if (asprintf(&path, "%s/summary.json", run->dir) < 0)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = rmb_read_file(path, &text, &len, err);
    json_error_t jerr;
    if (st == RMB_OK && !(run->summary = json_loadb(text, len, 0, &jerr)))
        st = rmb_fail(err, RMB_EDATA, "%s: line %d: not JSON: %s", path, jerr.line, jerr.text);
    const char *model = run->summary ? json_string_value(json_object_get(run->summary, "model")) : NULL;
    if (st == RMB_OK && !model)
        st = rmb_fail(err, RMB_EDATA, "%s: field model: missing or not a string (not an rmb eval summary?)", path);
    if (st == RMB_OK && !(run->label = strdup(model)))
        st = rmb_fail(err, RMB_ENOMEM, "out of memory");
    free(path);
    free(text);
    return st;
}

static rmb_status read_run(rmb_run_entry *run, const char *dir, const rmb_context *ctx, rmb_error *err)
{
    if (!(run->dir = strdup(dir)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = read_summary(run, err);
    for (int s = 0; st == RMB_OK && s < 2; s++) {
        char *path;
        if (asprintf(&path, "%s/%s", dir, record_files[s]) < 0)
            return rmb_fail(err, RMB_ENOMEM, "out of memory");
        st = rmb_records_read(&run->records[s], path, NULL, ctx, err);
        for (size_t i = 0; st == RMB_OK && i < run->records[s].n; i++)
            if (run->records[s].items[i].set != (rmb_set)s)
                st = rmb_fail(err, RMB_EDATA, "%s: record %zu (uid %s): a %s record in the %s file", path, i,
                              run->records[s].items[i].uid, s ? "pairwise" : "Best-of-N", s ? "Best-of-N" : "pairwise");
        free(path);
    }
    return st;
}

/* Two runs of one model spec are told apart by their directories. */
static rmb_status unique_labels(rmb_runset *rs, rmb_error *err)
{
    for (size_t i = 1; i < rs->n_runs; i++)
        for (size_t j = 0; j < i; j++) {
            if (strcmp(rs->runs[i].label, rs->runs[j].label))
                continue;
            char *label;
            if (asprintf(&label, "%s (%s)", rs->runs[i].label, rs->runs[i].dir) < 0)
                return rmb_fail(err, RMB_ENOMEM, "out of memory");
            free(rs->runs[i].label);
            rs->runs[i].label = label;
            break;
        }
    return RMB_OK;
}

static uint64_t item_hash(rmb_set set, const char *uid)
{
    unsigned char s = (unsigned char)set;
    return rmb_hash_bytes(rmb_hash_bytes(0, &s, 1), uid, strlen(uid));
}

/* (set, uid) -> index * 2 + set over one run's records. */
static bool index_run(const rmb_run_entry *run, rmb_hashmap *m)
{
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < run->records[s].n; i++)
            if (!rmb_hashmap_put(m, item_hash((rmb_set)s, run->records[s].items[i].uid), i * 2 + (size_t)s))
                return false;
    return true;
}

static const rmb_outcome *find(const rmb_run_entry *run, const rmb_hashmap *m, rmb_set set, const char *uid)
{
    size_t slot = 0, v;
    while (rmb_hashmap_next(m, item_hash(set, uid), &slot, &v)) {
        const rmb_records *r = &run->records[v % 2];
        if ((rmb_set)(v % 2) == set && !strcmp(r->items[v / 2].uid, uid))
            return &r->outcomes[v / 2];
    }
    return NULL;
}

typedef struct aligner {
    rmb_runset *rs;
    rmb_hashmap *maps;     /* per run */
    size_t *conv_cluster;  /* dataset conversation -> cluster */
    rmb_error *err;
} aligner;

/* Adds it when every run has it (checking that they agree on it). */
static rmb_status consider(aligner *a, const rmb_item *it)
{
    rmb_runset *rs = a->rs;
    for (size_t r = 0; r < rs->n_runs; r++) {
        const rmb_outcome *o = find(&rs->runs[r], &a->maps[r], it->set, it->uid);
        if (!o)
            return RMB_OK;
        if (strcmp(o->item->category_path, it->category_path) || o->item->n_answers != it->n_answers)
            return rmb_fail(a->err, RMB_EDATA,
                            "%s: record %zu (uid %s): category_path \"%s\" with %zu answers, but the "
                            "dataset (or the first run) has \"%s\" with %zu",
                            o->item->file, o->item->index, it->uid, o->item->category_path,
                            o->item->n_answers, it->category_path, it->n_answers);
        rs->runs[r].outcomes[rs->n_items] = (rmb_outcome){it, o->scores};
    }
    size_t c = it->conversation;
    if (rs->ds && c != SIZE_MAX) {
        if (a->conv_cluster[c] == SIZE_MAX)
            a->conv_cluster[c] = rs->n_clusters++;
        rs->cluster[rs->n_items] = a->conv_cluster[c];
    } else {
        rs->cluster[rs->n_items] = rs->n_clusters++;
    }
    rs->items[rs->n_items++] = it;
    return RMB_OK;
}

static rmb_status align(rmb_runset *rs, rmb_error *err)
{
    const rmb_run_entry *first = &rs->runs[0];
    size_t cap = first->records[0].n + first->records[1].n + 1;
    size_t n_conv = rs->ds ? rmb_dataset_n_conversations(rs->ds) : 0;
    aligner a = {rs, calloc(rs->n_runs, sizeof *a.maps), malloc((n_conv + 1) * sizeof *a.conv_cluster), err};
    rs->items = calloc(cap, sizeof *rs->items);
    rs->cluster = calloc(cap, sizeof *rs->cluster);
    bool ok = a.maps && a.conv_cluster && rs->items && rs->cluster;
    for (size_t r = 0; ok && r < rs->n_runs; r++)
        ok = (rs->runs[r].outcomes = calloc(cap, sizeof *rs->runs[r].outcomes)) && index_run(&rs->runs[r], &a.maps[r]);
    rmb_status st = ok ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t c = 0; ok && c < n_conv; c++)
        a.conv_cluster[c] = SIZE_MAX;
    /* Dataset order first (clusters numbered as conversations first appear
     * there), then records the dataset lacks, in the first run's order. */
    const rmb_item *ds_items = rs->ds ? rmb_dataset_items(rs->ds) : NULL;
    for (size_t i = 0; st == RMB_OK && ds_items && i < rmb_dataset_n_items(rs->ds); i++)
        st = consider(&a, &ds_items[i]);
    for (int s = 0; st == RMB_OK && s < 2; s++)
        for (size_t i = 0; st == RMB_OK && i < first->records[s].n; i++) {
            const rmb_item *it = &first->records[s].items[i];
            if (!rs->ds || !rmb_dataset_find(rs->ds, it->set, it->uid))
                st = consider(&a, it);
        }
    for (size_t r = 0; r < rs->n_runs; r++)
        rmb_hashmap_free(&a.maps[r]);
    free(a.maps);
    free(a.conv_cluster);
    return st;
}

static rmb_status open_dataset(rmb_runset *rs, const char *data_dir, const rmb_context *ctx, rmb_error *err)
{
    rmb_status st;
    if (data_dir) {
        st = rmb_data_locate(data_dir, &rs->data_dir, err);
    } else {
        const char *recorded = json_string_value(json_object_get(rs->runs[0].summary, "data"));
        rmb_error ignored;
        st = recorded ? rmb_data_locate(recorded, &rs->data_dir, &ignored) : RMB_EIO;
        if (st != RMB_OK && (st = rmb_data_locate(NULL, &rs->data_dir, &ignored)) != RMB_OK) {
            rmb_log(ctx, RMB_LOG_WARN, "no RMB data found (%s): every item is its own cluster and "
                    "answer lengths are unknown", ignored.msg);
            return RMB_OK;
        }
    }
    rmb_subset all = {NULL, 0};
    return st == RMB_OK ? rmb_dataset_open(&rs->ds, rs->data_dir, &all, ctx, err) : st;
}

rmb_status rmb_runset_open(rmb_runset *rs, const char *const *dirs, size_t n_dirs,
                           const char *data_dir, const rmb_context *ctx, rmb_error *err)
{
    memset(rs, 0, sizeof *rs);
    if (!(rs->runs = calloc(n_dirs, sizeof *rs->runs)))
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    rmb_status st = RMB_OK;
    for (; st == RMB_OK && rs->n_runs < n_dirs; rs->n_runs++)
        st = read_run(&rs->runs[rs->n_runs], dirs[rs->n_runs], ctx, err);
    if (st == RMB_OK)
        st = unique_labels(rs, err);
    if (st == RMB_OK)
        st = open_dataset(rs, data_dir, ctx, err);
    if (st == RMB_OK)
        st = align(rs, err);
    if (st == RMB_OK && rs->n_items == 0)
        st = rmb_fail(err, RMB_EDATA, "the runs have no item in common");
    for (size_t r = 0; st == RMB_OK && r < rs->n_runs; r++) {
        size_t left_out = rs->runs[r].records[0].n + rs->runs[r].records[1].n - rs->n_items;
        if (left_out)
            rmb_log(ctx, RMB_LOG_WARN, "%s: %zu of its items are not in every run: left out of the comparison",
                    rs->runs[r].dir, left_out);
        rs->dropped += left_out;
    }
    if (st != RMB_OK)
        rmb_runset_close(rs);
    return st;
}

void rmb_runset_close(rmb_runset *rs)
{
    for (size_t r = 0; r < rs->n_runs; r++) {
        rmb_run_entry *run = &rs->runs[r];
        free(run->dir);
        free(run->label);
        json_decref(run->summary);
        rmb_records_free(&run->records[0]);
        rmb_records_free(&run->records[1]);
        free(run->outcomes);
    }
    free(rs->runs);
    free(rs->items);
    free(rs->cluster);
    rmb_dataset_close(rs->ds);
    free(rs->data_dir);
    memset(rs, 0, sizeof *rs);
}

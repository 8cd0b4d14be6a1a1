/* rmb merge: the stores of the shard runs of one rmb eval combined into one,
 * and that eval's normal results written from it.  The configuration (model,
 * data, subset, scorer options) is the one every shard recorded in its
 * run.json, so the merged outputs are those of the unsharded run. */
#include "cli.h"

#include "rmb/eval.h"
#include "rmb/options.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rmb merge SHARD_DIR... --out DIR [--store FILE] [--data DIR] [--quiet]\n"
    "\n"
    "Combines the run stores of the shards of one run (rmb eval --shard I/N --out\n"
    "SHARD_DIR, every I from 1 to N) into DIR/store.sqlite (or --store FILE) and\n"
    "writes the normal results in DIR: byte for byte those of the unsharded rmb eval.\n"
    "The model, data, subset and scorer options are those the shards recorded in\n"
    "their run.json (all must agree); nothing is scored, and a value no shard has is\n"
    "an error.  --data DIR replaces the recorded data directory (moved data).\n"
    "The scorer is opened (not run) to check its fingerprint: a model that changed\n"
    "since the shards ran matches none of their values.\n"
    "\n"
    "example:\n"
    "  for i in 1 2 3 4; do rmb eval --model random:7 --shard $i/4 --out shards/$i; done\n"
    "  rmb merge shards/1 shards/2 shards/3 shards/4 --out results/r7\n"
    "\n"
    "exit status: 0 success, 1 data or runtime error, 2 usage error\n";

enum { OPT_OUT = 256, OPT_STORE, OPT_DATA };

static const struct option long_options[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"store", required_argument, NULL, OPT_STORE},
    {"data", required_argument, NULL, OPT_DATA},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *text_of(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* DIR/run.json of a shard run, or NULL with err set. */
static json_t *load_shard(const char *dir, rmb_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", dir);
    json_error_t je;
    json_t *run = json_load_file(path, 0, &je);
    if (!run) {
        rmb_fail(err, RMB_EDATA, "%s: %s (not the --out of an rmb eval --shard run?)", path, je.text);
        return NULL;
    }
    json_t *shard = json_object_get(run, "shard");
    if (!json_is_integer(json_array_get(shard, 0)) || !json_is_integer(json_array_get(shard, 1)) ||
        !json_is_string(json_object_get(run, "store")) ||
        !json_is_string(json_object_get(json_object_get(run, "config"), "model"))) {
        rmb_fail(err, RMB_EDATA, "%s: field shard or config: not the record of an rmb eval --shard I/N run",
                 path);
        json_decref(run);
        return NULL;
    }
    return run;
}

static json_int_t shard_field(json_t *run, size_t i)
{
    return json_integer_value(json_array_get(json_object_get(run, "shard"), i));
}

/* The shards are 1..N of one run, each once, all with one configuration. */
static rmb_status check_shards(json_t **runs, char **dirs, size_t n, rmb_error *err)
{
    json_int_t count = shard_field(runs[0], 1);
    char *seen = calloc(n + 1, 1);
    rmb_status st = seen ? RMB_OK : rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < n; i++) {
        json_int_t index = shard_field(runs[i], 0);
        if (shard_field(runs[i], 1) != count || (size_t)count != n)
            st = rmb_fail(err, RMB_EUSAGE, "%s: shard %lld/%lld, but %zu shard directories were given "
                          "(every shard 1..N of one run is needed)", dirs[i], (long long)index,
                          (long long)shard_field(runs[i], 1), n);
        else if (index < 1 || index > count || seen[index]++)
            st = rmb_fail(err, RMB_EUSAGE, "%s: shard %lld/%lld is given twice (or is out of range)",
                          dirs[i], (long long)index, (long long)count);
        else if (!json_equal(json_object_get(runs[i], "config"), json_object_get(runs[0], "config")))
            st = rmb_fail(err, RMB_EUSAGE, "%s/run.json: field config differs from %s/run.json's "
                          "(shards of different runs?)", dirs[i], dirs[0]);
    }
    free(seen);
    return st;
}

/* The recorded configuration as options; the strings live in config. */
static rmb_status options_of(json_t *config, const char *dir, rmb_eval_options *o, rmb_error *err)
{
    json_t *subset = json_object_get(config, "subset");
    const char **patterns = calloc(json_array_size(subset) + 1, sizeof *patterns);
    if (!patterns)
        return rmb_fail(err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(subset); i++)
        patterns[i] = json_string_value(json_array_get(subset, i));
    o->subset = (rmb_subset){patterns, json_array_size(subset)};
    o->model = text_of(config, "model");
    o->data_dir = o->data_dir ? o->data_dir : text_of(config, "data");
    char where[4200];
    snprintf(where, sizeof where, "%s/run.json: config.options", dir);
    return rmb_options_from_json(json_object_get(config, "options"), where, &o->scorer, err);
}

static int merge(rmb_eval_options *opt, char **dirs, size_t n, bool quiet)
{
    json_t **runs = calloc(n, sizeof *runs);
    const char **stores = calloc(n, sizeof *stores);
    rmb_error err;
    rmb_status st = runs && stores ? RMB_OK : rmb_fail(&err, RMB_ENOMEM, "out of memory");
    for (size_t i = 0; st == RMB_OK && i < n; i++)
        if (!(runs[i] = load_shard(dirs[i], &err)))
            st = err.status;
        else
            stores[i] = text_of(runs[i], "store");
    opt->merge_stores = stores;
    opt->n_merge_stores = n;
    if (st == RMB_OK)
        st = check_shards(runs, dirs, n, &err);
    if (st == RMB_OK)
        st = options_of(json_object_get(runs[0], "config"), dirs[0], opt, &err);
    int code = st == RMB_OK ? cli_eval_run(opt, quiet) : cli_report(&err);
    free((void *)opt->subset.patterns);
    for (size_t i = 0; runs && i < n; i++)
        json_decref(runs[i]);
    free(runs);
    free(stores);
    return code;
}

int cmd_merge(int argc, char **argv)
{
    rmb_eval_options opt;
    memset(&opt, 0, sizeof opt);
    bool quiet = false;
    int c, code = EXIT_OK;
    optind = 1;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, "qh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: opt.out_dir = optarg; break;
        case OPT_STORE: opt.store_path = optarg; break;
        case OPT_DATA: opt.data_dir = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: code = cli_usage_error("merge", "invalid option (the shards' run.json has the rest)"); break;
        }
    }
    if (code == EXIT_OK && (optind == argc || !opt.out_dir))
        code = cli_usage_error("merge", "needs the shard directories and --out DIR");
    if (code != EXIT_OK)
        return code;
    return merge(&opt, argv + optind, (size_t)(argc - optind), quiet);
}

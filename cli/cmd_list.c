/* rmb list: the scenarios with their item counts, absent files marked. */
#include "cli.h"

#include "rmb/dataset.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rmb list [--data DIR]\n"
    "\n"
    "Prints one line per scenario: its category path, the items present and the\n"
    "items in the published benchmark; a scenario whose file is absent is marked\n"
    "'missing'.  Totals follow.\n"
    "\n"
    "options:\n"
    "  --data DIR   the RMB_dataset directory (default: $RMB_DATA, ./RMB_dataset,\n"
    "               ../shared/RMB_dataset)\n"
    "  -h, --help   this help\n";

/* The index of path among the published scenarios, or n if not one. */
static size_t scenario_index(const rmb_scenario *sc, size_t n, const char *path)
{
    size_t i = 0;
    while (i < n && strcmp(sc[i].category_path, path) != 0)
        i++;
    return i;
}

static bool file_exists(const char *dir, const char *category_path)
{
    char *path;
    if (asprintf(&path, "%s/%s.json", dir, category_path) < 0)
        return false;
    FILE *f = fopen(path, "rb");
    free(path);
    if (f)
        fclose(f);
    return f != NULL;
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *data = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        } else
            return cli_usage_error("list", "invalid option");
    }
    if (optind < argc)
        return cli_usage_error("list", "unexpected argument '%s'", argv[optind]);

    rmb_context ctx;
    cli_context_init(&ctx, false);
    rmb_error err;
    char *dir;
    rmb_dataset *ds;
    if (rmb_data_locate(data, &dir, &err) != RMB_OK)
        return cli_report(&err);
    if (rmb_dataset_open(&ds, dir, NULL, &ctx, &err) != RMB_OK) {
        free(dir);
        return cli_report(&err);
    }
    cli_progress_done();
    size_t n;
    const rmb_scenario *sc = rmb_published_scenarios(&n);
    /* Items per published scenario; items come grouped by file, so the
     * scenario is looked up once per run of equal paths. */
    size_t *counts = calloc(n + 1, sizeof *counts);
    const rmb_item *items = rmb_dataset_items(ds);
    size_t total = rmb_dataset_n_items(ds), at = n;
    for (size_t i = 0; counts && i < total; i++) {
        if (i == 0 || strcmp(items[i].category_path, items[i - 1].category_path))
            at = scenario_index(sc, n, items[i].category_path);
        counts[at]++;
    }
    size_t totals[2][2] = {{0}}; /* [set][present, published] */
    printf("%-72s %8s %10s\n", "scenario", "items", "published");
    for (size_t i = 0; counts && i < n; i++) {
        int set = strncmp(sc[i].category_path, "BoN_set/", 8) == 0;
        totals[set][0] += counts[i];
        totals[set][1] += sc[i].published;
        if (file_exists(dir, sc[i].category_path))
            printf("%-72s %8zu %10zu\n", sc[i].category_path, counts[i], sc[i].published);
        else
            printf("%-72s %8s %10zu\n", sc[i].category_path, "missing", sc[i].published);
    }
    /* Files that are not part of the published benchmark are listed too. */
    for (size_t i = 0, run = 0; i < total; i++) {
        run++;
        if (i + 1 < total && !strcmp(items[i].category_path, items[i + 1].category_path))
            continue;
        if (scenario_index(sc, n, items[i].category_path) == n)
            printf("%-72s %8zu %10s\n", items[i].category_path, run, "-");
        run = 0;
    }
    free(counts);
    printf("\npairs: %zu of %zu published; Best-of-N lists: %zu of %zu published\n", totals[0][0],
           totals[0][1], totals[1][0], totals[1][1]);
    rmb_dataset_close(ds);
    free(dir);
    return EXIT_OK;
}

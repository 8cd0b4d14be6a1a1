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

/* Items per category path, in the dataset's (sorted) order. */
static size_t count_items(const rmb_dataset *ds, const char *path)
{
    size_t n = 0;
    const rmb_item *items = rmb_dataset_items(ds);
    for (size_t i = 0; i < rmb_dataset_n_items(ds); i++)
        n += !strcmp(items[i].category_path, path);
    return n;
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
    size_t totals[2][2] = {{0}}; /* [set][present, published] */
    printf("%-72s %8s %10s\n", "scenario", "items", "published");
    for (size_t i = 0; i < n; i++) {
        int set = strncmp(sc[i].category_path, "BoN_set/", 8) == 0;
        size_t items = count_items(ds, sc[i].category_path);
        totals[set][0] += items;
        totals[set][1] += sc[i].published;
        if (file_exists(dir, sc[i].category_path))
            printf("%-72s %8zu %10zu\n", sc[i].category_path, items, sc[i].published);
        else
            printf("%-72s %8s %10zu\n", sc[i].category_path, "missing", sc[i].published);
    }
    /* Files that are not part of the published benchmark are still listed. */
    const rmb_item *items = rmb_dataset_items(ds);
    for (size_t i = 0; i < rmb_dataset_n_items(ds); i++) {
        bool known = false;
        for (size_t j = 0; j < n && !known; j++)
            known = !strcmp(sc[j].category_path, items[i].category_path);
        if (!known && (i == 0 || strcmp(items[i - 1].category_path, items[i].category_path)))
            printf("%-72s %8zu %10s\n", items[i].category_path, count_items(ds, items[i].category_path), "-");
    }
    printf("\npairs: %zu of %zu published; Best-of-N lists: %zu of %zu published\n", totals[0][0],
           totals[0][1], totals[1][0], totals[1][1]);
    rmb_dataset_close(ds);
    free(dir);
    return EXIT_OK;
}

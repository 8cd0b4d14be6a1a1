/* rmb: the command line.  Each subcommand lives in cli/cmd_<name>.c. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"eval", cmd_eval, "score the RMB benchmark with a model and report its accuracy"},
    {"merge", cmd_merge, "combine the run stores of shard runs into the normal results"},
    {"list", cmd_list, "list the benchmark's scenarios with their item counts"},
    {"tokenize", cmd_tokenize, "encode JSONL texts with a Hugging Face tokenizer (debugging)"},
    {"render", cmd_render, "render JSONL conversations with a model's chat template (debugging)"},
    {"score", cmd_score, "score JSONL conversations with a reward model"},
    {"compare", cmd_compare, "a leaderboard of several runs with confidence intervals"},
    {"report", cmd_report, "a self-contained HTML report of one or more runs"},
    {"convert", cmd_convert, "write a checkpoint as one GGUF file (f32, f16, bf16, q8_0)"},
};

static void print_help(FILE *out)
{
    fputs("usage: rmb COMMAND [OPTIONS]\n"
          "\n"
          "rmb runs the RMB reward-model benchmark (49 scenarios, pairwise and Best-of-N)\n"
          "and reports its accuracies.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "examples:\n"
          "  rmb eval --model length                  the length-bias baseline on ../shared/RMB_dataset\n"
          "  rmb eval --model random:7 --subset 'Pairwise_set/Harmlessness'\n"
          "  rmb eval --model results:pairwise.json   the RMB table from an existing results file\n"
          "  rmb list --data RMB_dataset\n"
          "\n"
          "Run 'rmb COMMAND --help' for a command's options.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rmb: unknown command '%s'\nTry 'rmb --help'.\n", argv[1]);
    return EXIT_USAGE;
}

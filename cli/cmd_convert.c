/* rmb convert: a Hugging Face reward-model checkpoint -> one GGUF file with
 * every tensor (reward head included) in the requested type, llama.cpp's
 * hyperparameter keys and the original config/tokenizer files verbatim. */
#include "cli.h"

#include "rmb/convert.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: rmb convert DIR OUT.gguf [--type f32|f16|bf16|q8_0] [--quiet]\n"
    "\n"
    "Writes the checkpoint in DIR (config.json, model.safetensors or its shards,\n"
    "tokenizer files) as one GGUF file: every tensor under its Hugging Face name,\n"
    "matrices in the requested type (norms, biases and other 1-D tensors stay F32;\n"
    "Q8_0 matrices whose rows are not a multiple of 32 become F16), llama.cpp's\n"
    "hyperparameter keys and rmb.* keys holding the original files.\n"
    "\n"
    "options:\n"
    "  --type TYPE   f32, f16, bf16 or q8_0 (default f16)\n"
    "  -q, --quiet   no progress\n"
    "  -h, --help    this help\n";

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, NULL, 't'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    rmb_convert_type type = RMB_CONVERT_F16;
    int c;
    bool quiet = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        if (c == 't') {
            if (!rmb_convert_type_parse(optarg, &type))
                return cli_usage_error("convert", "--type: '%s' is not f32, f16, bf16 or q8_0",
                                       optarg);
        } else if (c == 'q') {
            quiet = true;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return EXIT_OK;
        } else {
            return cli_usage_error("convert", "invalid option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "expected DIR and OUT.gguf");
    const char *dir = argv[optind], *out = argv[optind + 1];
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cli_usage_error("convert", "%s: not a directory", dir);
    rmb_context ctx;
    cli_context_init(&ctx, quiet);
    rmb_error err = {0};
    if (rmb_convert(dir, out, type, &ctx, &err))
        return cli_report(&err);
    cli_progress_done();
    return EXIT_OK;
}

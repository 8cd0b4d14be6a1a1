/* rmb tokenize: JSONL {"text": ...} lines on stdin -> {"ids": [...]} lines
 * on stdout, encoded with a Hugging Face tokenizer.json. */
#include "cli.h"
#include "rmb/checkpoint.h"
#include "rmb/tokenizer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: rmb tokenize --tokenizer PATH [--no-special] [--threads N] [--time]\n"
    "\n"
    "Reads JSON lines {\"text\": ...} on stdin and writes {\"ids\": [...]} lines, in order.\n"
    "A line {\"bytes\": [0-255, ...]} gives raw bytes instead (invalid UTF-8 is decoded\n"
    "lossily, each invalid stretch becoming U+FFFD).\n"
    "  --tokenizer PATH  a tokenizer.json, a model directory containing one, or a GGUF\n"
    "                    from rmb convert\n"
    "  --no-special      do not add the post-processor's special tokens (BOS ...)\n"
    "  --threads N       encode with N threads (default 1)\n"
    "  --time            print the encoding time (without I/O) on stderr\n";

typedef struct job {
    const rmb_tokenizer *tok;
    char **texts;
    size_t *lens;
    char **outs;
    size_t n, first, step;
    bool special;
    rmb_error err;
    size_t err_line;
} job;

/* {"ids": [...]} and a newline (the CLI aborts when memory runs out). */
static char *ids_line(const int32_t *ids, size_t n)
{
    char *line = NULL;
    size_t size;
    FILE *f = open_memstream(&line, &size);
    if (!f)
        abort();
    fputs("{\"ids\": [", f);
    for (size_t k = 0; k < n; k++)
        fprintf(f, k ? ", %d" : "%d", (int)ids[k]);
    fputs("]}\n", f);
    if (fclose(f) != 0)
        abort();
    return line;
}

static void *encode_part(void *arg)
{
    job *j = arg;
    for (size_t i = j->first; i < j->n; i += j->step) {
        int32_t *ids;
        size_t n;
        if (rmb_tokenizer_encode(j->tok, j->texts[i], j->lens[i], j->special, &ids, &n, &j->err)) {
            j->err_line = i + 1;
            return NULL;
        }
        j->outs[i] = ids_line(ids, n);
        free(ids);
    }
    return NULL;
}

/* {"bytes": [0-255, ...]} carries text that need not be valid UTF-8 (JSON
 * strings must be): sets o's "text" to those raw bytes. */
static bool bytes_to_string(const json_t *bytes, json_t *o)
{
    size_t n = json_array_size(bytes);
    char *s = malloc(n + 1);
    if (!json_is_array(bytes) || !s) {
        free(s);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(bytes, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255) {
            free(s);
            return false;
        }
        s[i] = (char)json_integer_value(v);
    }
    /* jansson checks UTF-8 in json_stringn; the _nocheck variant keeps bytes. */
    json_t *str = json_stringn_nocheck(s, n);
    free(s);
    return str && json_object_set_new(o, "text", str) == 0;
}

/* Reads stdin's lines as texts; on a bad line returns its number. */
static size_t read_texts(char ***texts, size_t **lens, size_t *n)
{
    char *line = NULL;
    size_t cap = 0, alloc = 0, lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)got, JSON_ALLOW_NUL, &jerr);
        json_t *t = json_object_get(o, "text");
        if (!t && bytes_to_string(json_object_get(o, "bytes"), o))
            t = json_object_get(o, "text");
        if (!json_is_string(t)) {
            json_decref(o);
            free(line);
            return lineno;
        }
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            *texts = realloc(*texts, alloc * sizeof **texts);
            *lens = realloc(*lens, alloc * sizeof **lens);
            if (!*texts || !*lens)
                abort();
        }
        (*lens)[*n] = json_string_length(t);
        (*texts)[*n] = malloc((*lens)[*n] + 1);
        if (!(*texts)[*n])
            abort();
        memcpy((*texts)[*n], json_string_value(t), (*lens)[*n] + 1);
        (*n)++;
        json_decref(o);
    }
    free(line);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL;
    bool special = true, timing = false;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--tokenizer") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--no-special") == 0)
            special = false;
        else if (strcmp(argv[i], "--time") == 0)
            timing = true;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], &threads) || threads < 1 || threads > 256)
                return cli_usage_error("tokenize", "--threads: expected 1 to 256, got '%s'", argv[i]);
        } else
            return cli_usage_error("tokenize", "unknown option or missing value: %s", argv[i]);
    }
    if (!path)
        return cli_usage_error("tokenize", "--tokenizer PATH is required");
    rmb_error err = {0};
    rmb_tokenizer *tok = NULL;
    if (rmb_checkpoint_open_tokenizer(path, &tok, &err))
        return cli_report(&err);
    char **texts = NULL, **outs;
    size_t *lens = NULL, n = 0, bad = read_texts(&texts, &lens, &n);
    int rc = EXIT_OK;
    if (bad) {
        fprintf(stderr, "rmb: stdin: line %zu: expected a JSON object with a string \"text\"\n", bad);
        rc = EXIT_USAGE;
        goto done;
    }
    outs = calloc(n ? n : 1, sizeof *outs);
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!outs || !jobs || !tids)
        abort();
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){tok, texts, lens, outs, n, (size_t)t, (size_t)threads, special, {0}, 0};
        if (t > 0 && pthread_create(&tids[t], NULL, encode_part, &jobs[t]) != 0)
            abort();
    }
    encode_part(&jobs[0]);
    for (int t = 1; t < threads; t++)
        pthread_join(tids[t], NULL);
    double t1 = now();
    for (int t = 0; t < threads; t++)
        if (jobs[t].err_line && rc == EXIT_OK) {
            fprintf(stderr, "rmb: stdin: line %zu: %s\n", jobs[t].err_line, jobs[t].err.msg);
            rc = EXIT_RUNTIME;
        }
    for (size_t i = 0; i < n; i++) {
        if (rc == EXIT_OK)
            fputs(outs[i], stdout);
        free(outs[i]);
    }
    if (timing)
        fprintf(stderr, "seconds %.6f\n", t1 - t0);
    free(outs);
    free(jobs);
    free(tids);
done:
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(lens);
    rmb_tokenizer_close(tok);
    return rc;
}

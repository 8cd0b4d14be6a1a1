/* The scorer options, each described once.
 *
 * rmb_options_table() lists every field of rmb_scorer_options that a user
 * sets: its name, type, default, allowed values, help text, whether it
 * changes scores and where it lives in the struct.  Everything that handles
 * options is a loop over this table: the command line's parser and --help
 * (cli/scorer_flags.c), summary.json's "options", run.json's
 * config.options, and rmb merge's reading of that record back.  Adding an
 * option is one field in rmb_scorer_options and one entry in the table
 * (src/score/options.c); the scorer that uses it reads the field.
 *
 * max_length, layer by layer (each layer has one meaning for each value):
 *   command line  --max-length N: N tokens; 0 = the model's context length;
 *                 absent = 2048 (RMB's).
 *   library       rmb_scorer_options.max_length: N > 0 tokens;
 *                 0 = unset, the scorer's default (2048 for model scorers);
 *                 RMB_MAX_LENGTH_CONTEXT (negative) = the model's context
 *                 length.  The table maps the command line's 0 to it.
 *   prompt        rmb_prompt_options.max_length (rmb/prompt.h): the resolved
 *                 limit; 0 = no limit. */
#ifndef RMB_OPTIONS_H
#define RMB_OPTIONS_H

#include "rmb/scorer.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* rmb_scorer_options.max_length: the model's context length. */
#define RMB_MAX_LENGTH_CONTEXT (-1)

typedef enum rmb_option_type {
    RMB_OPTION_COUNT,   /* int, a whole number >= min; 0 is unset */
    RMB_OPTION_SECONDS, /* double; a whole number >= min on the command line; 0 is unset */
    RMB_OPTION_TEXT,    /* const char *, kept as given (not copied); NULL is unset */
    RMB_OPTION_CHOICE,  /* an enum: the index of its name in choices; unset unless given */
} rmb_option_type;

enum {
    RMB_OPTION_CHANGES_SCORES = 1 << 0, /* another value may give other scores, so the
                                           scorers that read it put it in their fingerprint */
    RMB_OPTION_IN_SUMMARY = 1 << 1,     /* summary.json's "options" records it when set */
};

typedef struct rmb_option {
    const char *name;  /* the JSON key: "max_length" */
    const char *flag;  /* the command line's --flag: "max-length" */
    const char *alias; /* another --flag for the same option, or NULL */
    rmb_option_type type;
    size_t offset;     /* of the field in rmb_scorer_options */
    int min;           /* COUNT, SECONDS: the smallest value the command line takes */
    int zero;          /* COUNT: what the command line's 0 stands for in the field */
    const char *const *choices; /* CHOICE: the names, NULL-terminated; index = enum value */
    /* Optional: refuses a value the type allows but this build cannot use
     * (RMB_EUSAGE, naming the flag); the field is already written. */
    rmb_status (*check)(const struct rmb_option *opt, const rmb_scorer_options *o,
                        rmb_error *err);
    const char *metavar;    /* "N", "SIDE", ... */
    const char *help;       /* lines for --help, '\n' between them; says the default */
    unsigned flags;         /* RMB_OPTION_* */
} rmb_option;

/* The table; *n receives its length. */
const rmb_option *rmb_options_table(size_t *n);

/* The entry whose name or flag (or alias) is key; NULL when none is. */
const rmb_option *rmb_option_find(const char *key);

/* Sets option opt of o from command-line text: "left", "2048".  A bad value
 * fails with RMB_EUSAGE and a message naming the flag, the value and what
 * was expected ("--truncation up: expected one of left, right, none"). */
rmb_status rmb_option_parse(const rmb_option *opt, const char *text, rmb_scorer_options *o,
                            rmb_error *err);

/* Whether o sets opt (see rmb_option_type for what unset is). */
bool rmb_option_is_set(const rmb_option *opt, const rmb_scorer_options *o);

/* The name of a CHOICE option's value, "exact"; NULL for another type. */
const char *rmb_option_choice_name(const rmb_option *opt, const rmb_scorer_options *o);

/* Checks every option of o against its type and check: what rmb_scorer_open
 * does once, so a scorer reads valid values. */
rmb_status rmb_options_check(const rmb_scorer_options *o, rmb_error *err);

/* JSON (a jansson json_t *, the caller's reference): every option, in table
 * order, as run.json's config.options ("truncation": null when unset). */
struct json_t *rmb_options_json(const rmb_scorer_options *o);
/* Only the IN_SUMMARY options that o sets: summary.json's "options". */
struct json_t *rmb_options_summary_json(const rmb_scorer_options *o);
/* Reads what rmb_options_json wrote back into o (TEXT values point into
 * json); a missing key leaves the option unset, a bad value fails
 * (RMB_EDATA) naming where (e.g. "shards/1/run.json: config.options") and
 * the field. */
rmb_status rmb_options_from_json(const struct json_t *json, const char *where,
                                 rmb_scorer_options *o, rmb_error *err);

/* The name an rmb_kernel_set value has in the table (rmb_compute_name, in
 * rmb/model.h, names the compute modes). */
const char *rmb_kernel_set_name(rmb_kernel_set k); /* NULL for RMB_KERNELS_AUTO */

#ifdef __cplusplus
}
#endif
#endif

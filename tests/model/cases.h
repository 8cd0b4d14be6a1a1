/* cases.json (make_models.py): the models, their token sequences and the
 * PyTorch reference's scores, shared by the forward and batch tests. */
#ifndef RMB_TEST_MODEL_CASES_H
#define RMB_TEST_MODEL_CASES_H

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* |rmb - torch| must be within TOL of max(|torch|, the RMS of the model's
 * reference scores) whatever the weight dtype: the reference runs in
 * float32 on the same rounded weights. */
#define TOL 1e-4

static inline json_t *cases_load(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cases.json", getenv("RMB_MODEL_FIXTURES"));
    json_error_t jerr;
    return json_load_file(path, 0, &jerr);
}

/* A case's ids as a new array; *n gets the length. */
static inline int32_t *case_ids(json_t *c, size_t *n)
{
    json_t *ids = json_object_get(c, "ids");
    *n = json_array_size(ids);
    int32_t *tok = malloc((*n ? *n : 1) * sizeof *tok);
    for (size_t j = 0; j < *n; j++)
        tok[j] = (int32_t)json_integer_value(json_array_get(ids, j));
    return tok;
}

static inline double cases_rms(json_t *model)
{
    double rms = 0, count = 0;
    size_t i, j;
    json_t *c, *v;
    json_array_foreach(json_object_get(model, "cases"), i, c)
        json_array_foreach(json_object_get(c, "scores"), j, v) {
            rms += json_real_value(v) * json_real_value(v);
            count++;
        }
    return sqrt(rms / count);
}

/* Failures of got[] against the case's reference scores (relative
 * tolerance tol, TOL for the exact path), reported with what. */
static inline int case_check(json_t *c, const float *got, double rms, double rel,
                             const char *what)
{
    json_t *want = json_object_get(c, "scores");
    int bad = 0;
    for (size_t j = 0; j < json_array_size(want); j++) {
        double w = json_real_value(json_array_get(want, j));
        double tol = rel * (fabs(w) > rms ? fabs(w) : rms);
        if (!(fabs(got[j] - w) <= tol)) {
            fprintf(stderr, "%s n=%zu out %zu: %.8g, torch %.8g\n", what,
                    json_array_size(json_object_get(c, "ids")), j, got[j], w);
            bad++;
        }
    }
    return bad;
}

#endif

/* The cluster bootstrap's arithmetic: the resampling RNG, one replicate's
 * cluster weights, percentile intervals and paired p-values.
 *
 * Exactly reproducible (docs/report.md; tests/report/bootstrap_oracle.py
 * re-implements it):
 * - the RNG is splitmix64: state += 0x9E3779B97F4A7C15; z = state;
 *   z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) * 0x94D049BB133111EB;
 *   next = z ^ z >> 31 (all mod 2^64), the state starting at the seed;
 * - a replicate of K clusters makes K draws, each adding one to the weight
 *   of cluster next() % K (the modulo bias, under K / 2^64, is immaterial
 *   and keeps the rule easy to reproduce); replicates continue one stream;
 * - a quantile is the linear interpolation between order statistics
 *   ("type 7", numpy's default) of the values that are not NaN. */
#ifndef RMB_EVAL_BOOTSTRAP_H
#define RMB_EVAL_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rmb_rng {
    uint64_t state;
} rmb_rng;

uint64_t rmb_rng_next(rmb_rng *r);

/* Sets w[0..k) to how often each of k clusters is drawn in k draws. */
void rmb_bootstrap_draw(rmb_rng *r, size_t k, uint32_t *w);

/* Moves the non-NaN values of v[0..n) to its front, sorted ascending, and
 * returns how many there are. */
size_t rmb_sort_values(double *v, size_t n);

/* The p-quantile of sorted[0..n) (type 7); NaN when n is 0. */
double rmb_quantile_sorted(const double *sorted, size_t n, double p);

/* Two-sided paired bootstrap p-value for a[b] - b[b] over the replicates
 * where both are numbers: 2 * min(#(d <= 0), #(d >= 0)) / count, at most 1;
 * NaN when no replicate has both. */
double rmb_paired_p(const double *a, const double *b, size_t n);

#endif

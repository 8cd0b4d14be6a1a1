#include "eval/bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t rmb_rng_next(rmb_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void rmb_bootstrap_draw(rmb_rng *r, size_t k, uint32_t *w)
{
    memset(w, 0, k * sizeof *w);
    for (size_t i = 0; i < k; i++)
        w[rmb_rng_next(r) % k]++;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

size_t rmb_sort_values(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    for (size_t i = m; i < n; i++)
        v[i] = NAN;
    qsort(v, m, sizeof *v, compare_doubles);
    return m;
}

double rmb_quantile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : n - 1;
    return sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
}

double rmb_paired_p(const double *a, const double *b, size_t n)
{
    size_t le = 0, ge = 0, valid = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]))
            continue;
        double d = a[i] - b[i];
        valid++;
        le += d <= 0;
        ge += d >= 0;
    }
    if (!valid)
        return NAN;
    double p = 2.0 * (double)(le < ge ? le : ge) / (double)valid;
    return p < 1 ? p : 1;
}

/* The bootstrap's arithmetic against published and hand-computed values. */
#include "eval/bootstrap.h"
#include "test.h"

#include <stdlib.h>

/* splitmix64 from seed 0: the reference implementation's first outputs
 * (Vigna, prng.di.unimi.it/splitmix64.c). */
static void test_rng_reference(void)
{
    rmb_rng r = {0};
    CHECK(rmb_rng_next(&r) == 0xE220A8397B1DCDAFULL);
    CHECK(rmb_rng_next(&r) == 0x6E789E6AA1B965F4ULL);
    CHECK(rmb_rng_next(&r) == 0x06C45D188009454FULL);
}

static void test_draw(void)
{
    /* Weights sum to k; with k = 1 every draw is cluster 0. */
    rmb_rng r = {42};
    uint32_t w[7];
    rmb_bootstrap_draw(&r, 7, w);
    uint32_t sum = 0;
    for (int i = 0; i < 7; i++)
        sum += w[i];
    CHECK_EQ_INT(sum, 7);
    rmb_bootstrap_draw(&r, 1, w);
    CHECK_EQ_INT(w[0], 1);
    /* The draws are next() % k in order: replay them. */
    rmb_rng a = {5}, b = {5};
    uint32_t got[3], want[3] = {0};
    rmb_bootstrap_draw(&a, 3, got);
    for (int i = 0; i < 3; i++)
        want[rmb_rng_next(&b) % 3]++;
    CHECK(!memcmp(got, want, sizeof got));
}

static void test_quantiles(void)
{
    double v[] = {3, NAN, 1, 4, 2, NAN};
    size_t n = rmb_sort_values(v, 6);
    CHECK_EQ_INT(n, 4);
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4 && isnan(v[4]) && isnan(v[5]));
    /* type 7: h = (n - 1) p; 1 + 0.075 (2 - 1) */
    CHECK_NEAR(rmb_quantile_sorted(v, n, 0.025), 1.075, 1e-15);
    CHECK_NEAR(rmb_quantile_sorted(v, n, 0.975), 3.925, 1e-15);
    CHECK(rmb_quantile_sorted(v, n, 0) == 1 && rmb_quantile_sorted(v, n, 1) == 4);
    CHECK(rmb_quantile_sorted(v, 1, 0.5) == 1);
    CHECK(isnan(rmb_quantile_sorted(v, 0, 0.5)));
}

static void test_paired_p(void)
{
    double best[] = {0.6, 0.7, 0.5, 0.8, NAN};
    double other[] = {0.5, 0.7, 0.6, 0.6, 0.1};
    /* d = 0.1, 0, -0.1, 0.2 (the NaN pair skipped): d<=0: 2, d>=0: 3 -> 2*2/4 */
    CHECK_NEAR(rmb_paired_p(best, other, 5), 1.0, 1e-15);
    double a[] = {0.9, 0.8, 0.7, 0.9}, b[] = {0.1, 0.2, 0.3, 0.9};
    CHECK_NEAR(rmb_paired_p(a, b, 4), 0.5, 1e-15); /* d>=0: 4, d<=0: 1 */
    double c[] = {0.9, 0.8}, d[] = {0.1, 0.2};
    CHECK(rmb_paired_p(c, d, 2) == 0);
    double e[] = {NAN};
    CHECK(isnan(rmb_paired_p(e, e, 1)));
}

TEST_MAIN(test_rng_reference, test_draw, test_quantiles, test_paired_p)

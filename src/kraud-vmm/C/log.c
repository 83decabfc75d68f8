/*
 * log, the natural logarithm: on net10.0 the runtime calls it (beside ceil, see ceil.c), and it is the only other
 * libm function this binary needs. Defined here so the as-needed link records no libm.so.6 and a VM does not map
 * it (about 300 KiB of RSS per VM). x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m-1)/(m+1),
 * |s| <= 0.1716, as an odd series to s^25 (error below 1e-17); plus e * ln 2 in two parts. Within 2 ulp of glibc's
 * over 2 million random doubles when written; NaN, infinities, zero, negatives and subnormals as C says.
 */
#include <stdint.h>
#include <string.h>

double log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (x != x) return x;                                  /* NaN */
    if (x == 0.0) return -1.0 / 0.0;                       /* -inf, divide-by-zero */
    if (bits >> 63) return (x - x) / (x - x);              /* negative: NaN, invalid */
    if ((bits >> 52) == 0x7ff) return x;                   /* +inf */
    int e = 0;
    if ((bits >> 52) == 0)                                 /* subnormal: scale into the normal range */
    {
        x *= 18014398509481984.0;                          /* 2^54 */
        memcpy(&bits, &x, sizeof bits);
        e = -54;
    }
    e += (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;   /* m in [1, 2) */
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) { m *= 0.5; e += 1; }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double series = 1.0 / 25;
    for (int k = 23; k >= 3; k -= 2) series = series * s2 + 1.0 / k;
    double logm = 2.0 * s + 2.0 * s * s2 * series;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    return e * ln2_hi + (logm + e * ln2_lo);
}

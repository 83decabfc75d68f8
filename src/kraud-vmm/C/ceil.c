/*
 * ceil, the one libm function this binary calls (the runtime's double formatting, Dragon4): defined here, the
 * link no longer needs libm.so.6, and the VMM does not map it (about 300 KiB of RSS per VM, its IFUNC resolvers
 * run at load). One SSE4.1 instruction, which the managed code's x86-64-v2 baseline already requires; NaN,
 * infinities and -0.0 come out as the C standard says.
 */
#include <smmintrin.h>

double ceil(double x)
{
    return _mm_cvtsd_f64(_mm_round_sd(_mm_setzero_pd(), _mm_set_sd(x), _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC));
}

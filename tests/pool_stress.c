/* fnn_pool under ThreadSanitizer (tests/test_fit_threads.py): every item of every loop
 * runs exactly once, with 2-4 threads and loops of 1-64 items. */
#include <stdio.h>
#include <stdatomic.h>
#include "fnn_pool.h"

typedef struct { _Atomic int hits[64]; long sum; } ctx_t;
static void task(void *c, ptrdiff_t i) { atomic_fetch_add(&((ctx_t *)c)->hits[i], 1); }

int main(void)
{
    int bad = 0;
    for (int round = 0; round < 3; round++) {
        for (int threads = 2; threads <= 4; threads++) {
            fnn_pool *p = fnn_pool_acquire(threads);
            if (!p) { printf("no pool\n"); return 2; }
            for (int loop = 0; loop < 3000; loop++) {
                ctx_t c;
                const ptrdiff_t n = 1 + loop % 64;
                for (int i = 0; i < 64; i++) atomic_init(&c.hits[i], 0);
                fnn_pool_run(p, threads - (loop % 2), task, &c, n);
                for (ptrdiff_t i = 0; i < 64; i++)
                    bad += atomic_load(&c.hits[i]) != (i < n ? 1 : 0);
            }
            fnn_pool_release(p);
        }
    }
    printf("%s %d\n", bad ? "FAIL" : "OK", bad);
    return bad != 0;
}

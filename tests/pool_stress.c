/* fnn_pool under ThreadSanitizer (tests/test_fit_threads.py): every item of every loop
 * runs exactly once, with 2-4 threads and loops of 1-64 items; with fnn_pool_run_w,
 * each call's thread index is below the loop's thread count and never in use by
 * another call at the same time (per-thread scratch relies on it). */
#include <stdio.h>
#include <stdatomic.h>
#include "fnn_pool.h"

typedef struct { _Atomic int hits[64]; _Atomic int busy[8]; _Atomic int wrong; int threads; } ctx_t;
static void task(void *c, ptrdiff_t i) { atomic_fetch_add(&((ctx_t *)c)->hits[i], 1); }
static void task_w(void *v, ptrdiff_t i, int t)
{
    ctx_t *c = (ctx_t *)v;
    if (t < 0 || t >= c->threads || atomic_exchange(&c->busy[t], 1) != 0) {
        atomic_fetch_add(&c->wrong, 1);
        return;
    }
    atomic_fetch_add(&c->hits[i], 1);
    atomic_store(&c->busy[t], 0);
}

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
                for (int i = 0; i < 8; i++) atomic_init(&c.busy[i], 0);
                atomic_init(&c.wrong, 0);
                c.threads = threads - (loop % 2);
                if (loop % 4 < 2) fnn_pool_run(p, c.threads, task, &c, n);
                else fnn_pool_run_w(p, c.threads, task_w, &c, n);
                for (ptrdiff_t i = 0; i < 64; i++)
                    bad += atomic_load(&c.hits[i]) != (i < n ? 1 : 0);
                bad += atomic_load(&c.wrong);
            }
            fnn_pool_release(p);
        }
    }
    printf("%s %d\n", bad ? "FAIL" : "OK", bad);
    return bad != 0;
}

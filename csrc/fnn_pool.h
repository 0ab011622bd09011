/* fnn_pool.h — fastnn's own worker threads: one parallel loop at a time.
 *
 * fnn_pool_run(pool, threads, task, ctx, n) calls task(ctx, i) once for every i in
 * [0, n), on the calling thread and up to threads − 1 workers, and returns when all
 * n calls have returned.  Items are claimed one at a time from a shared counter
 * (dynamic claiming): a thread that the OS deschedules holds back at most the item
 * it is running, never a fixed share of the loop.  Workers sleep on a condition
 * variable between loops (no spinning), so on a busy machine an idle worker costs
 * nothing.  Each claim carries the loop's generation, so a worker that wakes late
 * can never take an item of the next loop.
 *
 * One process-wide pool (fnn_pool_acquire): a caller that finds it busy (another
 * thread's loop) runs its loop alone.  After fork() the child starts without
 * workers.  Each worker, when it starts, calls the BLAS's per-thread thread-count
 * setter with 1 if one was given (OpenBLAS's openblas_set_num_threads_local), so the
 * products a task calls are single-threaded, and it runs each loop's items with the
 * caller's floating-point mode (flush-to-zero while training).
 * Without POSIX threads (FNN_NO_THREADS, Windows) every loop runs on the caller. */
#ifndef FNN_POOL_H
#define FNN_POOL_H
#include <stddef.h>

typedef struct fnn_pool fnn_pool;
typedef void (*fnn_task)(void *ctx, ptrdiff_t item);
/* A task that is also told which thread runs it: 0 the caller, 1 .. threads − 1 the
 * workers; no two items run at once on one index (per-thread scratch). */
typedef void (*fnn_task_w)(void *ctx, ptrdiff_t item, int thread);

/* The process pool with at least `threads` − 1 workers (created or grown here),
 * locked for the caller until fnn_pool_release; NULL when threads < 2, when threads
 * are not available, or when another thread holds the pool. */
fnn_pool *fnn_pool_acquire(int threads);
/* The setter each new worker calls with 1 (NULL: none); set before the first acquire. */
void fnn_pool_set_blas_threads_setter(void (*setter)(int));
void fnn_pool_release(fnn_pool *pool);

/* task(ctx, i) for i in [0, n) on the caller and up to threads − 1 workers of `pool`
 * (pool NULL or threads < 2: on the caller, in order). */
void fnn_pool_run(fnn_pool *pool, int threads, fnn_task task, void *ctx, ptrdiff_t n);
/* The same with the thread index passed to each call (pool NULL or threads < 2: 0). */
void fnn_pool_run_w(fnn_pool *pool, int threads, fnn_task_w task, void *ctx, ptrdiff_t n);

/* Monotonic seconds (for fnn_adapt). */
double fnn_now(void);

/* Choosing between one thread and many by measurement.  On a busy machine a loop
 * split over threads waits at its end for a thread the OS has descheduled, and can
 * be several times slower than one thread; on an idle one it is faster.  fnn_adapt
 * keeps a moving average of the seconds per unit of work in each mode (0: one
 * thread, 1: all), runs the faster one, and every FNN_ADAPT_PERIOD choices runs the
 * other for FNN_ADAPT_PROBE choices, recording all but the first (whose workers wake
 * from a long sleep), so that its figure stays current.  Only the speed depends on
 * the choice: the work is split the same way in both modes. */
#define FNN_ADAPT_PERIOD 64
#define FNN_ADAPT_PROBE 4
typedef struct {
    double seconds[2];  /* per unit of work, by mode; 0: not measured yet */
    long choices;
    int mode;
    int probing;        /* choices left in the current probe of the other mode */
    int skip;           /* 1: do not record the next measurement */
} fnn_adapt;
int fnn_adapt_choose(fnn_adapt *a);
void fnn_adapt_record(fnn_adapt *a, int mode, double seconds_per_unit);

#endif

/* fnn_pool.c — see fnn_pool.h. */
#if !defined(_WIN32) && !defined(FNN_NO_THREADS)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include "fnn_pool.h"

double fnn_now(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

int fnn_adapt_choose(fnn_adapt *a)
{
    if (a->choices++ == 0) a->skip = 1; /* the first step starts the workers */
    if (a->seconds[1] == 0) return 1;   /* measure both: all threads first */
    if (a->seconds[0] == 0) return 0;
    if (!a->probing && a->choices % FNN_ADAPT_PERIOD == 0) {
        a->probing = FNN_ADAPT_PROBE;
        a->skip = 1;
    }
    if (a->probing) {
        a->probing--;
        return !a->mode;
    }
    return a->mode;
}

void fnn_adapt_record(fnn_adapt *a, int mode, double seconds_per_unit)
{
    if (a->skip) {
        a->skip = 0;
        return;
    }
    double *s = &a->seconds[mode != 0];
    *s = *s > 0 ? 0.5 * *s + 0.5 * seconds_per_unit : seconds_per_unit;
    if (a->seconds[0] > 0 && a->seconds[1] > 0 && !a->probing) { /* switch on a 10 % margin */
        if (a->mode && a->seconds[0] < 0.9 * a->seconds[1]) a->mode = 0;
        else if (!a->mode && a->seconds[1] < 0.9 * a->seconds[0]) a->mode = 1;
    }
}

#if defined(_WIN32) || defined(FNN_NO_THREADS)

fnn_pool *fnn_pool_acquire(int threads)
{
    (void)threads;
    return NULL;
}
void fnn_pool_release(fnn_pool *pool) { (void)pool; }
void fnn_pool_set_blas_threads_setter(void (*setter)(int)) { (void)setter; }

#else

#include <pthread.h>
#include <stdatomic.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#define FNN_GET_FPMODE() _mm_getcsr()
#define FNN_SET_FPMODE(m) _mm_setcsr(m)
#else
#define FNN_GET_FPMODE() 0u
#define FNN_SET_FPMODE(m) ((void)(m))
#endif

#define FNN_POOL_MAX 64

struct fnn_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* a new loop, or stop */
    pthread_cond_t finished;   /* the last item of a loop returned */
    pthread_t threads[FNN_POOL_MAX];
    int n_workers;             /* started */
    int stop;
    /* the current loop, written under mu before `generation` moves on */
    uint32_t generation;
    int active;                /* workers 0 .. active−1 take part */
    fnn_task task;             /* one of the two is set */
    fnn_task_w task_w;
    void *ctx;
    ptrdiff_t n;
    unsigned int fpmode;       /* the caller's MXCSR (flush-to-zero while training) */
    /* generation << 32 | next item: a claim is valid only for its own loop */
    _Atomic uint64_t claim;
    _Atomic ptrdiff_t done;
    _Atomic uint32_t posted;   /* `generation`, readable without mu (for the spin) */
};

/* How long a thread that finished its part of a loop polls for the next loop (a
 * worker) or for the loop's last item (the caller) before it sleeps on a condition
 * variable.  A training step issues its loops microseconds apart, while a wake-up
 * from sleep costs a system call and the scheduler's latency (tens of µs on a
 * VM) at every one of them; a poll this short costs little CPU when no loop comes
 * (between fit's chunks of batches, or when the other core is taken and fnn_adapt
 * runs one thread), and nothing else waits on it. */
#define FNN_POOL_SPIN_SECONDS 50e-6 /* FASTNN_SPIN_US in the environment overrides */
static double spin_seconds = FNN_POOL_SPIN_SECONDS; /* set when the pool is made */

/* FASTNN_SPIN_US: microseconds, 0 to 10000; anything else keeps the default. */
static double fnn_spin_setting(void)
{
    const char *text = getenv("FASTNN_SPIN_US");
    if (!text || !*text) return FNN_POOL_SPIN_SECONDS;
    char *end = NULL;
    const double us = strtod(text, &end);
    if (end == text || *end != '\0' || !(us >= 0 && us <= 10000)) return FNN_POOL_SPIN_SECONDS;
    return us * 1e-6;
}

static inline void fnn_cpu_relax(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Polls until *word != value or the spin time is over; 1 if it changed. */
static int fnn_spin_while_u32(_Atomic uint32_t *word, uint32_t value)
{
    const double end = fnn_now() + spin_seconds;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != value) return 1;
            fnn_cpu_relax();
        }
        if (fnn_now() > end) return 0;
    }
}

/* Polls until *count >= n or the spin time is over. */
static void fnn_spin_until_done(_Atomic ptrdiff_t *count, ptrdiff_t n)
{
    const double end = fnn_now() + spin_seconds;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(count, memory_order_acquire) >= n) return;
            fnn_cpu_relax();
        }
        if (fnn_now() > end) return;
    }
}

typedef struct { fnn_pool *pool; int id; } fnn_worker_arg;

static fnn_pool *the_pool;
static pthread_mutex_t the_pool_mu = PTHREAD_MUTEX_INITIALIZER;  /* guards the_pool */
static pthread_mutex_t the_pool_busy = PTHREAD_MUTEX_INITIALIZER; /* one user at a time */
static fnn_worker_arg the_args[FNN_POOL_MAX];
static int atfork_set;
static void (*blas_threads_setter)(int);

void fnn_pool_set_blas_threads_setter(void (*setter)(int)) { blas_threads_setter = setter; }

/* Claims the next item of loop `gen`; 0 when the loop has none left (or is over). */
static int fnn_claim(fnn_pool *p, uint32_t gen, ptrdiff_t n, ptrdiff_t *item)
{
    uint64_t v = atomic_load(&p->claim);
    for (;;) {
        const uint32_t g = (uint32_t)(v >> 32);
        const ptrdiff_t i = (ptrdiff_t)(v & 0xFFFFFFFFu);
        if (g != gen || i >= n) return 0;
        if (atomic_compare_exchange_weak(&p->claim, &v, v + 1)) {
            *item = i;
            return 1;
        }
    }
}

static void fnn_run_items(fnn_pool *p, uint32_t gen, fnn_task task, fnn_task_w task_w,
                          void *ctx, ptrdiff_t n, int thread)
{
    ptrdiff_t i;
    while (fnn_claim(p, gen, n, &i)) {
        if (task) task(ctx, i);
        else task_w(ctx, i, thread);
        if (atomic_fetch_add(&p->done, 1) + 1 == n) { /* the loop's last item */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->finished);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *fnn_worker(void *arg)
{
    fnn_worker_arg *a = (fnn_worker_arg *)arg;
    fnn_pool *p = a->pool;
    uint32_t seen;
    if (blas_threads_setter) blas_threads_setter(1);
    pthread_mutex_lock(&p->mu);
    seen = p->generation;
    for (;;) {
        while (p->generation == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        if (a->id >= p->active) continue;
        const fnn_task task = p->task;
        const fnn_task_w task_w = p->task_w;
        void *ctx = p->ctx;
        const ptrdiff_t n = p->n;
        const unsigned int mode = p->fpmode;
        pthread_mutex_unlock(&p->mu);
        const unsigned int old = FNN_GET_FPMODE();
        FNN_SET_FPMODE(mode);
        fnn_run_items(p, seen, task, task_w, ctx, n, a->id + 1);
        FNN_SET_FPMODE(old);
        fnn_spin_while_u32(&p->posted, seen); /* the step's next loop is usually near */
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* In a forked child the workers do not exist: forget the pool (made anew on next use). */
static void fnn_pool_forget(void)
{
    the_pool = NULL;
    pthread_mutex_init(&the_pool_mu, NULL);
    pthread_mutex_init(&the_pool_busy, NULL);
}

static fnn_pool the_storage; /* static: the kernels allocate nothing (tests/test_memory.py) */

static fnn_pool *fnn_pool_new(void)
{
    fnn_pool *p = &the_storage;
    if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->wake, NULL) ||
        pthread_cond_init(&p->finished, NULL))
        return NULL;
    p->n_workers = 0;
    p->stop = 0;
    p->generation = 0;
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->posted, 0);
    spin_seconds = fnn_spin_setting();
    return p;
}

fnn_pool *fnn_pool_acquire(int threads)
{
    if (threads < 2) return NULL;
    if (threads > FNN_POOL_MAX + 1) threads = FNN_POOL_MAX + 1;
    if (pthread_mutex_trylock(&the_pool_busy)) return NULL; /* another loop runs */
    pthread_mutex_lock(&the_pool_mu);
    if (!atfork_set) {
        pthread_atfork(NULL, NULL, fnn_pool_forget);
        atfork_set = 1;
    }
    if (!the_pool) the_pool = fnn_pool_new();
    fnn_pool *p = the_pool;
    pthread_mutex_unlock(&the_pool_mu);
    if (!p) {
        pthread_mutex_unlock(&the_pool_busy);
        return NULL;
    }
    while (p->n_workers < threads - 1) { /* grow: workers are never stopped */
        fnn_worker_arg *a = &the_args[p->n_workers];
        a->pool = p;
        a->id = p->n_workers;
        if (pthread_create(&p->threads[p->n_workers], NULL, fnn_worker, a)) break;
        pthread_detach(p->threads[p->n_workers]);
        p->n_workers++;
    }
    if (p->n_workers == 0) {
        pthread_mutex_unlock(&the_pool_busy);
        return NULL;
    }
    return p;
}

void fnn_pool_release(fnn_pool *pool)
{
    if (pool) pthread_mutex_unlock(&the_pool_busy);
}

#endif /* threads */

static void fnn_pool_run_any(fnn_pool *pool, int threads, fnn_task task, fnn_task_w task_w,
                             void *ctx, ptrdiff_t n)
{
#if !defined(_WIN32) && !defined(FNN_NO_THREADS)
    if (pool && threads >= 2 && n >= 2) {
        fnn_pool *p = pool;
        pthread_mutex_lock(&p->mu);
        const uint32_t gen = p->generation + 1;
        p->task = task;
        p->task_w = task_w;
        p->ctx = ctx;
        p->n = n;
        p->active = threads - 1 < p->n_workers ? threads - 1 : p->n_workers;
        p->fpmode = FNN_GET_FPMODE();
        atomic_store(&p->done, 0);
        atomic_store(&p->claim, (uint64_t)gen << 32);
        p->generation = gen;
        atomic_store_explicit(&p->posted, gen, memory_order_release);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        fnn_run_items(p, gen, task, task_w, ctx, n, 0);
        fnn_spin_until_done(&p->done, n);
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->done) < n) pthread_cond_wait(&p->finished, &p->mu);
        pthread_mutex_unlock(&p->mu);
        return;
    }
#else
    (void)pool;
    (void)threads;
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        if (task) task(ctx, i);
        else task_w(ctx, i, 0);
    }
}

void fnn_pool_run(fnn_pool *pool, int threads, fnn_task task, void *ctx, ptrdiff_t n)
{
    fnn_pool_run_any(pool, threads, task, NULL, ctx, n);
}

void fnn_pool_run_w(fnn_pool *pool, int threads, fnn_task_w task, void *ctx, ptrdiff_t n)
{
    fnn_pool_run_any(pool, threads, NULL, task, ctx, n);
}

/*
 * kernels: the thread pool. The caller is thread 0 of every task; workers
 * 1..n-1 wait for a generation counter to move, spinning for a while
 * (decode runs hundreds of short tasks per token) and then sleeping on a
 * condition variable. Binding: worker i to the i-th core (first PU),
 * the calling thread to core 0 from kern_pool_new to kern_pool_delete
 * (its former binding is restored).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

#include "kernels/kern_internal.h"

#define SPIN_ITERS 100000  /* pause loops before a worker sleeps: ~ms */

struct kern_pool;

struct pool_worker {
	struct kern_pool *pool;
	int ith;
	hwloc_bitmap_t cpuset;        /* NULL: unbound */
	pthread_t thread;
	int started;
};

struct kern_pool {
	int n;                        /* threads, the caller included */
	int bind, bound;
	hwloc_topology_t topo;        /* NULL when hwloc failed */
	hwloc_bitmap_t caller_set, caller_old;
	struct pool_worker *w;        /* n entries; w[0] is the caller */

	kern_task_fn fn;
	void *arg;
	atomic_uint gen;              /* bumped once per task */
	atomic_int done;              /* workers finished with the task */
	atomic_int stop;
	atomic_int sleepers;
	atomic_int bind_fail;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void *worker_main(void *p)
{
	struct pool_worker *me = p;
	struct kern_pool *pool = me->pool;
	if (me->cpuset && hwloc_set_cpubind(pool->topo, me->cpuset, HWLOC_CPUBIND_THREAD) != 0)
		atomic_fetch_add(&pool->bind_fail, 1);
	unsigned seen = 0;
	for (;;) {
		unsigned g;
		int spins = 0;
		while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen &&
		       !atomic_load_explicit(&pool->stop, memory_order_acquire)) {
			if (++spins < SPIN_ITERS) {
				relax();
				/* more threads than free cores: let the others run */
				if (spins % 1024 == 0)
					sched_yield();
				continue;
			}
			pthread_mutex_lock(&pool->mu);
			atomic_fetch_add(&pool->sleepers, 1);
			while (atomic_load(&pool->gen) == seen && !atomic_load(&pool->stop))
				pthread_cond_wait(&pool->cv, &pool->mu);
			atomic_fetch_sub(&pool->sleepers, 1);
			pthread_mutex_unlock(&pool->mu);
			spins = 0;
		}
		if (atomic_load_explicit(&pool->stop, memory_order_acquire))
			break;
		seen = g;
		pool->fn(pool->arg, me->ith, pool->n);
		atomic_fetch_add_explicit(&pool->done, 1, memory_order_release);
	}
	return NULL;
}

static int n_cores(hwloc_topology_t topo)
{
	int n = topo ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) : 0;
	if (n <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
	}
	return n;
}

int kern_physical_cores(void)
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) != 0)
		return n_cores(NULL);
	int n = hwloc_topology_load(topo) == 0 ? n_cores(topo) : n_cores(NULL);
	hwloc_topology_destroy(topo);
	return n;
}

/* First PU of core i (modulo the core count), or NULL. */
static hwloc_bitmap_t core_set(hwloc_topology_t topo, int i)
{
	if (!topo)
		return NULL;
	int nc = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	if (nc <= 0)
		return NULL;
	hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(i % nc));
	if (!core || !core->cpuset)
		return NULL;
	hwloc_bitmap_t s = hwloc_bitmap_dup(core->cpuset);
	if (s)
		hwloc_bitmap_singlify(s);
	return s;
}

int kern_pool_new(struct kern_pool **out, int n_threads, int bind, char *err, size_t errlen)
{
	struct kern_pool *p = calloc(1, sizeof *p);
	if (!p)
		goto out_nomem;
	if (hwloc_topology_init(&p->topo) != 0) {
		p->topo = NULL;
	} else if (hwloc_topology_load(p->topo) != 0) {
		hwloc_topology_destroy(p->topo);
		p->topo = NULL;
	}
	if (n_threads <= 0)
		n_threads = n_cores(p->topo);
	p->n = n_threads;
	p->bind = bind && p->topo;
	p->w = calloc((size_t)n_threads, sizeof *p->w);
	if (!p->w)
		goto out_nomem;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->gen, 0);
	atomic_init(&p->done, 0);
	atomic_init(&p->stop, 0);
	atomic_init(&p->sleepers, 0);
	atomic_init(&p->bind_fail, 0);
	int fails = 0;
	if (p->bind) {
		p->caller_old = hwloc_bitmap_alloc();
		if (p->caller_old && hwloc_get_cpubind(p->topo, p->caller_old, HWLOC_CPUBIND_THREAD) != 0) {
			hwloc_bitmap_free(p->caller_old);
			p->caller_old = NULL;
		}
		p->caller_set = core_set(p->topo, 0);
		if (!p->caller_set || hwloc_set_cpubind(p->topo, p->caller_set, HWLOC_CPUBIND_THREAD) != 0)
			fails++;
	}
	for (int i = 1; i < n_threads; i++) {
		struct pool_worker *w = &p->w[i];
		w->pool = p;
		w->ith = i;
		w->cpuset = p->bind ? core_set(p->topo, i) : NULL;
		if (p->bind && !w->cpuset)
			fails++;
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			if (err)
				snprintf(err, errlen, "thread pool: cannot start thread %d of %d: %s", i,
					 n_threads, strerror(rc));
			kern_pool_delete(p);
			return -2;
		}
		w->started = 1;
	}
	/* wait for the workers' bindings through one empty task */
	p->bound = p->bind;
	*out = p;
	kern_pool_run(p, NULL, NULL);
	if (fails || atomic_load(&p->bind_fail))
		p->bound = 0;
	return 0;
out_nomem:
	if (err)
		snprintf(err, errlen, "thread pool: out of memory");
	if (p) {
		if (p->topo)
			hwloc_topology_destroy(p->topo);
		free(p);
	}
	return -2;
}

void kern_pool_delete(struct kern_pool *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++) {
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
		if (p->w[i].cpuset)
			hwloc_bitmap_free(p->w[i].cpuset);
	}
	if (p->caller_old) {
		hwloc_set_cpubind(p->topo, p->caller_old, HWLOC_CPUBIND_THREAD);
		hwloc_bitmap_free(p->caller_old);
	}
	if (p->caller_set)
		hwloc_bitmap_free(p->caller_set);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	if (p->topo)
		hwloc_topology_destroy(p->topo);
	free(p->w);
	free(p);
}

void kern_pool_caller_unbind(struct kern_pool *p)
{
	if (p && p->caller_set && p->caller_old)
		hwloc_set_cpubind(p->topo, p->caller_old, HWLOC_CPUBIND_THREAD);
}

void kern_pool_caller_rebind(struct kern_pool *p)
{
	if (p && p->caller_set && p->caller_old)
		hwloc_set_cpubind(p->topo, p->caller_set, HWLOC_CPUBIND_THREAD);
}

int kern_pool_threads(const struct kern_pool *p)
{
	return p ? p->n : 1;
}

int kern_pool_bound(const struct kern_pool *p)
{
	return p ? p->bound : 0;
}

static void noop(void *arg, int ith, int nth)
{
	(void)arg;
	(void)ith;
	(void)nth;
}

void kern_pool_run(struct kern_pool *p, kern_task_fn fn, void *arg)
{
	if (!fn)
		fn = noop;
	if (!p || p->n == 1) {
		fn(arg, 0, 1);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_fetch_add(&p->gen, 1);   /* seq_cst: pairs with sleepers below */
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	fn(arg, 0, p->n);
	int spins = 0;
	while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1) {
		relax();
		if (++spins % 1024 == 0)
			sched_yield();
	}
}

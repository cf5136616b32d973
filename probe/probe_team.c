/*
 * probe: a team of threads bound to cores, the clock, a spin barrier.
 *
 * The team owns one hwloc topology from probe_team_new to
 * probe_team_delete. Thread i binds itself to the first PU of the i-th
 * core in spreading order (cores taken round-robin over NUMA nodes, or
 * packages when there is one NUMA node), then waits for work. Dispatch is
 * a generation counter under a mutex; probe_team_run returns when every
 * thread has finished fn.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>

#include "probe/probe_internal.h"
#include "probe/probe_kern.h"

double probe_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- spin barrier ------------------------------------------------------ */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

void probe_spin_init(struct probe_spin *b, unsigned n)
{
	atomic_init(&b->count, 0);
	atomic_init(&b->gen, 0);
	b->n = n ? n : 1;
}

void probe_spin_wait(struct probe_spin *b)
{
	unsigned g = atomic_load_explicit(&b->gen, memory_order_acquire);
	if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) + 1 == b->n) {
		atomic_store_explicit(&b->count, 0, memory_order_relaxed);
		atomic_store_explicit(&b->gen, g + 1, memory_order_release);
		return;
	}
	unsigned spins = 0;
	while (atomic_load_explicit(&b->gen, memory_order_acquire) == g) {
		cpu_relax();
		/* a shared machine may have descheduled a team member */
		if (++spins >= 20000) {
			spins = 0;
			sched_yield();
		}
	}
}

/* --- team -------------------------------------------------------------- */

struct team_slot {
	struct probe_team *team;
	int tid;
	int bound;                   /* hwloc_set_cpubind succeeded */
	hwloc_bitmap_t cpuset;       /* one PU, or NULL: run unbound */
	pthread_t thread;
	int started;
};

struct probe_team {
	hwloc_topology_t topo;       /* NULL when hwloc failed */
	int n;
	struct team_slot *slots;     /* (n) */
	pthread_mutex_t mu;
	pthread_cond_t go;           /* gen changed or quit set */
	pthread_cond_t done;         /* ndone reached n */
	unsigned long gen;
	int ndone;
	int quit;
	probe_team_fn fn;
	void *arg;
};

static void *team_worker(void *v)
{
	struct team_slot *s = v;
	struct probe_team *t = s->team;
	unsigned long seen = 0;

	if (t->topo && s->cpuset &&
	    hwloc_set_cpubind(t->topo, s->cpuset, HWLOC_CPUBIND_THREAD) == 0)
		s->bound = 1;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->gen == seen && !t->quit)
			pthread_cond_wait(&t->go, &t->mu);
		if (t->quit)
			break;
		seen = t->gen;
		probe_team_fn fn = t->fn;
		void *arg = t->arg;
		pthread_mutex_unlock(&t->mu);
		fn(s->tid, t->n, arg);
		pthread_mutex_lock(&t->mu);
		if (++t->ndone == t->n)
			pthread_cond_signal(&t->done);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct core_key {
	hwloc_obj_t core;
	int group;                   /* NUMA node (or package) index */
	int rank;                    /* position of the core in its group */
};

static int core_key_cmp(const void *a, const void *b)
{
	const struct core_key *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return (x->core->logical_index > y->core->logical_index) -
	       (x->core->logical_index < y->core->logical_index);
}

/* The group a core belongs to: the first NUMA node whose cpuset holds it
 * when there are several, else its package, else 0. */
static int core_group(hwloc_topology_t topo, hwloc_obj_t core)
{
	int nn = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	if (nn > 1) {
		for (int i = 0; i < nn; i++) {
			hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
			if (node && node->cpuset &&
			    hwloc_bitmap_intersects(node->cpuset, core->cpuset))
				return i;
		}
	}
	hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, core);
	return pkg ? (int)pkg->logical_index : 0;
}

/* Fills slots[i].cpuset with one PU of the i-th core in spreading order
 * (cores reused round-robin when n exceeds them). Returns the number of
 * cores found (0: nothing to bind to). */
static int team_plan_binding(struct probe_team *t)
{
	hwloc_obj_type_t type = HWLOC_OBJ_CORE;
	int nc = hwloc_get_nbobjs_by_type(t->topo, type);
	if (nc <= 0) {
		type = HWLOC_OBJ_PU;
		nc = hwloc_get_nbobjs_by_type(t->topo, type);
	}
	if (nc <= 0)
		return 0;
	struct core_key *keys = calloc((size_t)nc, sizeof *keys);
	if (!keys)
		return 0;
	int ngroups = 0, m = 0;
	int *seen = NULL;
	for (int i = 0; i < nc; i++) {
		hwloc_obj_t c = hwloc_get_obj_by_type(t->topo, type, (unsigned)i);
		if (!c || !c->cpuset || hwloc_bitmap_iszero(c->cpuset))
			continue;
		keys[m].core = c;
		keys[m].group = core_group(t->topo, c);
		if (keys[m].group + 1 > ngroups) {
			int *ns = realloc(seen, (size_t)(keys[m].group + 1) * sizeof *seen);
			if (!ns)
				break;
			for (int g = ngroups; g <= keys[m].group; g++)
				ns[g] = 0;
			seen = ns;
			ngroups = keys[m].group + 1;
		}
		keys[m].rank = seen[keys[m].group]++;
		m++;
	}
	free(seen);
	qsort(keys, (size_t)m, sizeof *keys, core_key_cmp);
	for (int i = 0; m > 0 && i < t->n; i++) {
		hwloc_bitmap_t set = hwloc_bitmap_dup(keys[i % m].core->cpuset);
		if (set)
			hwloc_bitmap_singlify(set);
		t->slots[i].cpuset = set;
	}
	free(keys);
	return m;
}

static void team_noop(int tid, int n, void *arg)
{
	(void)tid;
	(void)n;
	(void)arg;
}

struct probe_team *probe_team_new(int nthreads, char *err, size_t errlen)
{
	struct probe_team *t = calloc(1, sizeof *t);
	if (!t) {
		if (err)
			snprintf(err, errlen, "out of memory for the thread team");
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->go, NULL);
	pthread_cond_init(&t->done, NULL);

	if (hwloc_topology_init(&t->topo) != 0) {
		t->topo = NULL;
	} else if (hwloc_topology_load(t->topo) != 0) {
		hwloc_topology_destroy(t->topo);
		t->topo = NULL;
	}
	if (nthreads <= 0)
		nthreads = probe_physical_cores();
	t->n = nthreads;
	t->slots = calloc((size_t)t->n, sizeof *t->slots);
	if (!t->slots) {
		if (err)
			snprintf(err, errlen, "out of memory for %d team threads", t->n);
		t->n = 0;
		probe_team_delete(t);
		return NULL;
	}
	if (t->topo)
		team_plan_binding(t);

	for (int i = 0; i < t->n; i++) {
		struct team_slot *s = &t->slots[i];
		s->team = t;
		s->tid = i;
		int rc = pthread_create(&s->thread, NULL, team_worker, s);
		if (rc != 0) {
			if (err)
				snprintf(err, errlen, "pthread_create for team thread %d: %s",
					 i, strerror(rc));
			probe_team_delete(t);   /* joins the threads already started */
			return NULL;
		}
		s->started = 1;
	}
	/* one empty run: every thread has bound itself when it returns */
	probe_team_run(t, team_noop, NULL);
	return t;
}

int probe_team_threads(const struct probe_team *t)
{
	return t ? t->n : 0;
}

int probe_team_bound(const struct probe_team *t)
{
	if (!t || !t->topo)
		return 0;
	for (int i = 0; i < t->n; i++)
		if (!t->slots[i].bound)
			return 0;
	return 1;
}

void probe_team_run(struct probe_team *t, probe_team_fn fn, void *arg)
{
	pthread_mutex_lock(&t->mu);
	t->fn = fn;
	t->arg = arg;
	t->ndone = 0;
	t->gen++;
	pthread_cond_broadcast(&t->go);
	while (t->ndone < t->n)
		pthread_cond_wait(&t->done, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

void probe_team_delete(struct probe_team *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	pthread_cond_broadcast(&t->go);
	pthread_mutex_unlock(&t->mu);
	for (int i = 0; i < t->n; i++) {
		if (t->slots[i].started)
			pthread_join(t->slots[i].thread, NULL);
		if (t->slots[i].cpuset)
			hwloc_bitmap_free(t->slots[i].cpuset);
	}
	free(t->slots);
	if (t->topo)
		hwloc_topology_destroy(t->topo);
	pthread_cond_destroy(&t->done);
	pthread_cond_destroy(&t->go);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int probe_team_numa_span(const struct probe_team *t)
{
	if (!t || !t->topo)
		return 1;
	int nn = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	if (nn <= 1)
		return 1;
	int span = 0;
	for (int i = 0; i < nn; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		if (!node || !node->cpuset)
			continue;
		for (int j = 0; j < t->n; j++) {
			if (t->slots[j].cpuset &&
			    hwloc_bitmap_intersects(node->cpuset, t->slots[j].cpuset)) {
				span++;
				break;
			}
		}
	}
	return span > 0 ? span : 1;
}

int probe_physical_cores(void)
{
	int n = 0;
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) == 0) {
		if (hwloc_topology_load(topo) == 0)
			n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
		hwloc_topology_destroy(topo);
	}
	/* never more threads than CPUs this process may run on (taskset,
	 * container cpusets, a topology read from somewhere else) */
	cpu_set_t set;
	int allowed = 0;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		allowed = CPU_COUNT(&set);
	if (allowed <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		allowed = c > 0 ? (int)c : 1;
	}
	if (n <= 0 || n > allowed)
		n = allowed;
	return n;
}

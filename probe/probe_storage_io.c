/*
 * probe: read engines of the storage probe. Each runs one pattern (a
 * struct probe_sio_job) on an open file and times it.
 *
 * io_uring (liburing): one ring of `depth` entries; `depth` requests stay
 * in flight, each with its own 4 KiB-aligned buffer. Each request is
 * submitted as soon as its slot is free (one io_uring_enter per request,
 * fio's default iodepth_batch_submit=1: submitting in bursts measured 15%
 * fewer 4 KiB IOPS on virtio here); then the loop waits for one
 * completion, reaps every completion ready, times each (that clock
 * reading minus the request's issue time) and issues a new request in
 * its slot unless the job is done.
 *
 * pread threads: `depth` threads, each doing one blocking pread at a time;
 * sequential offsets come from one shared atomic counter, random ones
 * from each thread's own generator.
 *
 * Both stop issuing when the job's time or byte limit is reached and wait
 * for what is in flight; the duration runs from the first issue to the
 * last completion. With stamp_seed set, the first 8 bytes of each block
 * read are compared with the temporary file's page stamp, so a pattern
 * that read the wrong place (or nothing) fails instead of looking fast.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>

#include "probe/probe_internal.h"
#include "probe/probe_storage.h"

#define LAT_MAX_SAMPLES (1u << 22)   /* 16 MiB of floats; later ones are dropped */

/* --- per-request latencies --------------------------------------------- */

struct lat_buf {
	float *v;                    /* microseconds */
	size_t n, cap;
};

static void lat_add(struct lat_buf *l, double us)
{
	if (l->n == l->cap) {
		if (l->cap >= LAT_MAX_SAMPLES)
			return;
		size_t cap = l->cap ? l->cap * 2 : 4096;
		float *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (float)us;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentiles into res; NAN when there are no samples. */
static void lat_percentiles(struct lat_buf *l, struct probe_sio_result *res)
{
	if (l->n == 0) {
		res->lat_p50_us = res->lat_p99_us = NAN;
		return;
	}
	qsort(l->v, l->n, sizeof *l->v, cmp_float);
	size_t i50 = (l->n * 50 + 99) / 100, i99 = (l->n * 99 + 99) / 100;
	res->lat_p50_us = l->v[(i50 ? i50 : 1) - 1];
	res->lat_p99_us = l->v[(i99 ? i99 : 1) - 1];
}

/* --- offsets ------------------------------------------------------------ */

static uint64_t seq_offset(const struct probe_sio_job *job, uint64_t i)
{
	uint64_t nblocks = job->span / job->block;
	return (i % nblocks) * job->block;
}

static uint64_t rand_offset(const struct probe_sio_job *job, uint64_t *rng)
{
	uint64_t slots = (job->span - job->block) / PROBE_STORAGE_ALIGN + 1;
	return (probe_sio_rand(rng) % slots) * PROBE_STORAGE_ALIGN;
}

static int stamp_ok(const struct probe_sio_job *job, const void *buf, uint64_t off)
{
	uint64_t v;
	memcpy(&v, buf, sizeof v);
	return v == probe_sio_stamp(job->stamp_seed, off / PROBE_STORAGE_ALIGN);
}

/* Whether to issue another request, from what is done so far. */
static int keep_issuing(const struct probe_sio_job *job, double elapsed,
			uint64_t issued_bytes, uint64_t completed)
{
	if (job->max_bytes && issued_bytes >= job->max_bytes)
		return 0;
	if (elapsed >= job->hard_seconds)
		return 0;
	return elapsed < job->seconds || completed < job->min_requests;
}

static int job_valid(const struct probe_sio_job *job, char *err, size_t errlen)
{
	if (job->depth < 1 || job->block == 0 || job->block % PROBE_STORAGE_ALIGN ||
	    job->span < job->block || job->span % PROBE_STORAGE_ALIGN) {
		snprintf(err, errlen, "bad read pattern: block %llu, span %llu, depth %d",
			 (unsigned long long)job->block, (unsigned long long)job->span,
			 job->depth);
		return -1;
	}
	return 0;
}

static void *buffers_new(const struct probe_sio_job *job)
{
	void *b = NULL;
	size_t bytes = (size_t)job->block * (size_t)job->depth;
	if (posix_memalign(&b, PROBE_STORAGE_ALIGN, bytes) != 0)
		return NULL;
	memset(b, 0, bytes);       /* fault the pages in before timing */
	return b;
}

/* --- io_uring ------------------------------------------------------------ */

int probe_sio_uring_usable(char *why, size_t whylen)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(32, &ring, 0);
	if (rc < 0) {
		if (why)
			snprintf(why, whylen, "io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	io_uring_queue_exit(&ring);
	return 0;
}

/* A ring for one issuing thread: completions are run when it waits
 * (COOP_TASKRUN, DEFER_TASKRUN: no interrupts to post them, as fio sets
 * up its rings); kernels before 6.1 refuse those flags and get a plain
 * ring. */
static int ring_init(struct io_uring *ring, unsigned entries)
{
	int rc = io_uring_queue_init(entries, ring, IORING_SETUP_COOP_TASKRUN |
				     IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(entries, ring, 0);
	return rc;
}

struct uring_slot {
	uint64_t offset;
	double issued;               /* probe_now() when prepared */
};

static int uring_run(const struct probe_sio_job *job, struct probe_sio_result *res,
		     char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	res->lat_p50_us = res->lat_p99_us = NAN;
	if (job_valid(job, err, errlen) != 0)
		return -1;

	int rc = -1, depth = job->depth;
	struct io_uring ring;
	struct lat_buf lat = {0};
	uint8_t *bufs = NULL;
	struct uring_slot *slots = calloc((size_t)depth, sizeof *slots);
	int *free_slots = calloc((size_t)depth, sizeof *free_slots);
	int ring_rc = ring_init(&ring, (unsigned)depth);
	if (ring_rc < 0) {
		snprintf(err, errlen, "io_uring_queue_init(%d): %s", depth, strerror(-ring_rc));
		goto out;
	}
	bufs = buffers_new(job);
	if (!slots || !free_slots || !bufs) {
		snprintf(err, errlen, "out of memory for %d read buffers of %llu bytes",
			 depth, (unsigned long long)job->block);
		goto out;
	}

	int n_free = depth, inflight = 0, failed = 0, stuck = 0;
	for (int i = 0; i < depth; i++)
		free_slots[i] = depth - 1 - i;
	uint64_t rng = job->seed, next_seq = 0, issued_bytes = 0;
	double t0 = probe_now(), now = t0, t_last = t0;

	for (;;) {
		/* prepare a request for every free slot */
		while (!failed && n_free > 0 &&
		       keep_issuing(job, now - t0, issued_bytes, res->requests)) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				break;
			int s = free_slots[--n_free];
			uint64_t off = job->order == PROBE_SIO_SEQ ? seq_offset(job, next_seq++)
								   : rand_offset(job, &rng);
			slots[s].offset = off;
			slots[s].issued = now;
			io_uring_prep_read(sqe, job->fd, bufs + (size_t)s * job->block,
					   (unsigned)job->block, off);
			io_uring_sqe_set_data64(sqe, (uint64_t)s);
			issued_bytes += job->block;
			inflight++;
			io_uring_submit(&ring);    /* one at a time, as fio does */
		}
		if (inflight == 0)
			break;
		int w = io_uring_submit_and_wait(&ring, 1);
		if (w < 0 && w != -EINTR && w != -EAGAIN && w != -EBUSY) {
			if (!failed)
				snprintf(err, errlen, "io_uring_submit_and_wait: %s", strerror(-w));
			failed = 1;
			if (++stuck > 100)
				break;
		}
		now = probe_now();
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			int s = (int)io_uring_cqe_get_data64(cqe);
			inflight--;
			free_slots[n_free++] = s;
			if (cqe->res == -EAGAIN || cqe->res == -EINTR) {
				issued_bytes -= job->block;   /* issue it again */
				continue;
			}
			if (cqe->res < 0) {
				if (!failed)
					snprintf(err, errlen, "read of %llu bytes at offset %llu: %s",
						 (unsigned long long)job->block,
						 (unsigned long long)slots[s].offset,
						 strerror(-cqe->res));
				failed = 1;
				continue;
			}
			res->bytes += (uint64_t)cqe->res;
			res->requests++;
			t_last = now;
			if (job->keep_latency)
				lat_add(&lat, (now - slots[s].issued) * 1e6);
			if (job->stamp_seed && (uint64_t)cqe->res >= sizeof(uint64_t) &&
			    !stamp_ok(job, bufs + (size_t)s * job->block, slots[s].offset))
				res->bad++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	res->seconds = t_last - t0;
	if (job->keep_latency)
		lat_percentiles(&lat, res);
	rc = failed ? -1 : 0;
	if (inflight > 0) {
		/* the kernel may still write into the buffers: keep them */
		snprintf(err, errlen, "io_uring: %d reads never completed", inflight);
		bufs = NULL;
	}
out:
	if (ring_rc >= 0)
		io_uring_queue_exit(&ring);
	free(bufs);
	free(slots);
	free(free_slots);
	free(lat.v);
	return rc;
}

const struct probe_sio_engine probe_sio_uring = {
	.name = "io_uring (liburing)",
	.tag = "io_uring",
	.run = uring_run,
};

/* --- pread threads ------------------------------------------------------- */

struct pread_shared {
	const struct probe_sio_job *job;
	uint8_t *bufs;
	pthread_mutex_t lock;        /* guards go and t0 */
	pthread_cond_t cond;
	int go;                      /* 1: start reading at t0; -1: give up */
	double t0;
	atomic_uint_fast64_t next_seq;
	atomic_uint_fast64_t issued_bytes;
	atomic_uint_fast64_t completed;
	atomic_int stop;
};

struct pread_worker {
	struct pread_shared *sh;
	int index;
	pthread_t thread;
	uint64_t bytes, requests, bad;
	double t_last;
	int err;                     /* errno of a failed read, 0 */
	uint64_t err_offset;
	struct lat_buf lat;
};

static void *pread_main(void *arg)
{
	struct pread_worker *w = arg;
	struct pread_shared *sh = w->sh;
	const struct probe_sio_job *job = sh->job;
	uint8_t *buf = sh->bufs + (size_t)w->index * job->block;
	uint64_t rng = job->seed + 0x632be59bd9b4e019ull * (uint64_t)(w->index + 1);

	pthread_mutex_lock(&sh->lock);
	while (sh->go == 0)
		pthread_cond_wait(&sh->cond, &sh->lock);
	int go = sh->go;
	double t0 = sh->t0;
	pthread_mutex_unlock(&sh->lock);
	if (go < 0)
		return NULL;
	w->t_last = t0;
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		double now = probe_now();
		uint64_t issued = atomic_fetch_add(&sh->issued_bytes, job->block);
		if (!keep_issuing(job, now - t0, issued,
				  atomic_load_explicit(&sh->completed, memory_order_relaxed))) {
			atomic_store(&sh->stop, 1);
			break;
		}
		uint64_t off = job->order == PROBE_SIO_SEQ
			? seq_offset(job, atomic_fetch_add(&sh->next_seq, 1))
			: rand_offset(job, &rng);
		size_t done = 0;
		while (done < job->block) {
			ssize_t r = pread(job->fd, buf + done, job->block - done, (off_t)(off + done));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				w->err = errno;
				w->err_offset = off;
				break;
			}
			if (r == 0)
				break;
			done += (size_t)r;
		}
		if (w->err) {
			atomic_store(&sh->stop, 1);
			break;
		}
		double end = probe_now();
		w->bytes += done;
		w->requests++;
		w->t_last = end;
		atomic_fetch_add_explicit(&sh->completed, 1, memory_order_relaxed);
		if (job->keep_latency)
			lat_add(&w->lat, (end - now) * 1e6);
		if (job->stamp_seed && done >= sizeof(uint64_t) && !stamp_ok(job, buf, off))
			w->bad++;
	}
	return NULL;
}

static int pread_run(const struct probe_sio_job *job, struct probe_sio_result *res,
		     char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	res->lat_p50_us = res->lat_p99_us = NAN;
	if (job_valid(job, err, errlen) != 0)
		return -1;

	int rc = -1, depth = job->depth, sync = 0;
	struct pread_shared sh = { .job = job };
	atomic_init(&sh.next_seq, 0);
	atomic_init(&sh.issued_bytes, 0);
	atomic_init(&sh.completed, 0);
	atomic_init(&sh.stop, 0);
	struct pread_worker *w = calloc((size_t)depth, sizeof *w);
	sh.bufs = buffers_new(job);
	if (!w || !sh.bufs) {
		snprintf(err, errlen, "out of memory for %d read buffers of %llu bytes",
			 depth, (unsigned long long)job->block);
		goto out;
	}
	if (pthread_mutex_init(&sh.lock, NULL) != 0 || pthread_cond_init(&sh.cond, NULL) != 0) {
		snprintf(err, errlen, "pthread_mutex_init/pthread_cond_init failed");
		goto out;
	}
	sync = 1;
	int started = 0;
	for (int i = 0; i < depth; i++) {
		w[i].sh = &sh;
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, pread_main, &w[i]) != 0)
			break;
		started++;
	}
	pthread_mutex_lock(&sh.lock);
	sh.go = started == depth ? 1 : -1;
	sh.t0 = probe_now();
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	if (started < depth) {
		snprintf(err, errlen, "could only start %d of %d reader threads", started, depth);
		for (int i = 0; i < started; i++)
			pthread_join(w[i].thread, NULL);
		goto out;
	}
	for (int i = 0; i < depth; i++)
		pthread_join(w[i].thread, NULL);

	struct lat_buf all = {0};
	double t_last = sh.t0;
	int failed = 0;
	for (int i = 0; i < depth; i++) {
		res->bytes += w[i].bytes;
		res->requests += w[i].requests;
		res->bad += w[i].bad;
		if (w[i].t_last > t_last)
			t_last = w[i].t_last;
		if (w[i].err && !failed) {
			snprintf(err, errlen, "pread of %llu bytes at offset %llu: %s",
				 (unsigned long long)job->block,
				 (unsigned long long)w[i].err_offset, strerror(w[i].err));
			failed = 1;
		}
		for (size_t k = 0; k < w[i].lat.n; k++)
			lat_add(&all, w[i].lat.v[k]);
	}
	res->seconds = t_last - sh.t0;
	if (job->keep_latency)
		lat_percentiles(&all, res);
	free(all.v);
	rc = failed ? -1 : 0;
out:
	if (sync) {
		pthread_cond_destroy(&sh.cond);
		pthread_mutex_destroy(&sh.lock);
	}
	if (w)
		for (int i = 0; i < depth; i++)
			free(w[i].lat.v);
	free(w);
	free(sh.bufs);
	return rc;
}

const struct probe_sio_engine probe_sio_pread = {
	.name = "pread threads",
	.tag = "pread",
	.run = pread_run,
};

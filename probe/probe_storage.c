/*
 * probe: how fast model weights come off the disk.
 *
 * Where. --file FILE: that file, opened read-only (O_NOATIME when
 * permitted), nothing written. Otherwise a directory (--path, else
 * probe_storage_default_dir) where a temporary file is written:
 * ".llmcap-storage-XXXXXX" (mkostemp), clamp(free / 10, 256 MiB, 1 GiB)
 * bytes, refused unless 256 MiB more stay free. It is filled with
 * pseudo-random pages, each starting with a stamp of its index (nothing
 * for compression or dedup to fake; every read is checked against it),
 * with 8 MiB O_DIRECT writes (buffered writes plus fdatasync every 64 MiB
 * where O_DIRECT is refused), and cut short when writing takes more than
 * 30% of the time budget. SIGINT, SIGTERM and SIGHUP handlers are
 * installed before the file is created; they unlink it and re-raise the
 * signal with the default action. Every return path unlinks it and puts
 * the previous handlers back.
 *
 * What. Each pattern is a struct probe_io:
 *   seq     1 MiB and 4 MiB blocks at depth 1 and 32, next block each time,
 *           wrapping around the file;
 *   rand4k  4 KiB at depth 1 and 32, uniform 4 KiB-aligned offsets;
 *   expert  one MoE expert per request (opt->expert_bytes, default below)
 *           at random 4 KiB-aligned offsets, 1, 4 and 16 in flight: the
 *           reads SSD streaming of MoE weights makes;
 *   mmap    the file mapped PROT_READ, MAP_PRIVATE, one read per page in
 *           order, no madvise: how llama.cpp's default mmap load faults
 *           pages in;
 *   warm    buffered 1 MiB reads, depth 1, after the file was read once
 *           into the page cache (only when it fits in half the available
 *           memory).
 * The first nine are cold: O_DIRECT (4 KiB-aligned buffers, offsets and
 * sizes); where O_DIRECT is refused, buffered reads after
 * posix_fadvise(DONTNEED) on the whole file, at most one file's worth per
 * pattern, said in cold_method. mmap drops the cache the same way first.
 * Reads go through io_uring (liburing) when a ring can be set up, else
 * through pread threads (probe_storage_io.c); depth N is N requests in
 * flight or N threads. Per-request latency (p50, p99) is timed for every
 * pattern but mmap.
 *
 * Time. opt->storage_seconds (default 15 s) covers everything, writing
 * the file included. After writing, each pattern gets the time left over
 * the patterns left (warm counts 1.5: it loads the file first, for up to
 * 1 s more when its share is shorter); rand4k runs past its share until
 * 300 requests are done, expert until 32, never past twice the share.
 *
 * Headlines: seq_read_gbps = seq 4 MiB depth 32, rand4k_read_iops =
 * rand4k depth 32, expert_read_gbps = the best expert parallelism,
 * warm_read_gbps, mmap_read_gbps; NAN when not measured.
 *
 * Checks, in this order, each refused with -2 and a message that names
 * the path and the fix (probe_storage_check makes the same ones, creating
 * and removing the temporary file, without writing or reading): the
 * directory exists, is a directory, is not on a read-only filesystem
 * (statvfs), a file can be created in it (EROFS, EACCES, ...), and its
 * filesystem has the file's size + 256 MiB free. --file: exists, is a
 * regular file of at least 64 MiB, can be opened for reading.
 *
 * One measurement at a time per process: the signal handler's path is
 * the module's one global.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "probe/probe_internal.h"
#include "probe/probe_storage.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)
#define DEFAULT_SECONDS 15.0
#define TEMP_MIN (256ull * MIB)          /* automatic size: clamp(free / 10, ...) */
#define TEMP_MAX (1ull * GIB)
#define TEMP_QUANTUM (4ull * MIB)        /* sizes are whole 4 MiB blocks */
#define TEMP_FLOOR (64ull * MIB)         /* never cut shorter by the time limit */
#define WRITE_CHUNK (8ull * MIB)
#define WRITE_SHARE 0.30                 /* of the budget, at most, for writing */
#define SYNC_EVERY (64ull * MIB)         /* buffered writes: fdatasync this often */
#define RESERVE_SECONDS 0.25             /* kept for closing and unlinking */
#define MIN_RANDOM_REQUESTS 300         /* rand4k: enough for a p99 */
#define MIN_EXPERT_REQUESTS 32
#define LOAD_SECONDS_MIN 1.0             /* warm: loading may overrun its slice */

/*
 * Default expert chunk: one expert of Qwen3-30B-A3B at Q4_K_M. An expert
 * is three matrices (gate, up: 2048 -> 768; down: 768 -> 2048), so
 * 3 x 2048 x 768 = 4,718,592 weights; at Q4_K's 4.5 bits per weight that
 * is 2,654,208 bytes (2.53 MiB, 2.65 MB), exactly 648 pages of 4 KiB.
 */
#define EXPERT_DEFAULT_BYTES (3ull * 2048ull * 768ull * 9ull / 16ull)
#define EXPERT_DEFAULT_DESC "Qwen3-30B-A3B Q4_K_M 3x2048x768x4.5b"

/* ---- the module's one global: the temporary file, for signals -------- */

static char temp_path[PATH_MAX + 64];
static volatile sig_atomic_t temp_armed;

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define N_GUARDED ((int)(sizeof guarded_signals / sizeof guarded_signals[0]))

/* Async-signal-safe: unlink, sigaction, raise. */
static void on_signal(int sig)
{
	int saved = errno;
	if (temp_armed)
		unlink(temp_path);
	temp_armed = 0;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);                        /* delivered when the handler returns */
	errno = saved;
}

struct sig_guard {
	struct sigaction old[N_GUARDED];
	int installed[N_GUARDED];
};

/* Installs the handlers; a signal the process ignores stays ignored. */
static void guard_install(struct sig_guard *g)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < N_GUARDED; i++)
		sigaddset(&sa.sa_mask, guarded_signals[i]);
	for (int i = 0; i < N_GUARDED; i++) {
		g->installed[i] = 0;
		if (sigaction(guarded_signals[i], NULL, &g->old[i]) != 0)
			continue;
		if (!(g->old[i].sa_flags & SA_SIGINFO) && g->old[i].sa_handler == SIG_IGN)
			continue;
		g->installed[i] = sigaction(guarded_signals[i], &sa, NULL) == 0;
	}
}

static void guard_restore(struct sig_guard *g)
{
	for (int i = 0; i < N_GUARDED; i++)
		if (g->installed[i])
			sigaction(guarded_signals[i], &g->old[i], NULL);
}

static void block_guarded(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < N_GUARDED; i++)
		sigaddset(&set, guarded_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Creates the unique temporary file in dir with the guarded signals
 * blocked, so that the handler never sees a half-made name. Returns the
 * descriptor, or -1 with errno set. */
static int temp_create(const char *dir)
{
	char name[sizeof temp_path];
	int n = snprintf(name, sizeof name, "%s%s%sXXXXXX", dir,
			 dir[strlen(dir) - 1] == '/' ? "" : "/", PROBE_STORAGE_TEMP_PREFIX);
	if (n < 0 || (size_t)n >= sizeof name) {
		errno = ENAMETOOLONG;
		return -1;
	}
	sigset_t old;
	block_guarded(&old);
	int fd = mkostemp(name, O_CLOEXEC);
	int saved = errno;
	if (fd >= 0) {
		memcpy(temp_path, name, sizeof name);
		temp_armed = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return fd;
}

static void temp_remove(void)
{
	sigset_t old;
	block_guarded(&old);
	if (temp_armed)
		unlink(temp_path);
	temp_armed = 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- where ------------------------------------------------------------ */

static int is_dir(const char *p)
{
	struct stat sb;
	return p && *p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

void probe_storage_default_dir(char *dir, size_t n, char *why, size_t whylen)
{
	const char *home = getenv("HOME");
	const char *xdg = getenv("XDG_CACHE_HOME");
	struct { const char *base, *sub, *why; } places[] = {
		{ getenv("HF_HUB_CACHE"), "", "Hugging Face cache ($HF_HUB_CACHE)" },
		{ getenv("HF_HOME"), "/hub", "Hugging Face cache ($HF_HOME/hub)" },
		{ xdg, "/huggingface/hub", "Hugging Face cache" },
		{ home, "/.cache/huggingface/hub", "Hugging Face cache" },
		{ getenv("OLLAMA_MODELS"), "", "Ollama models ($OLLAMA_MODELS)" },
		{ home, "/.ollama/models", "Ollama models" },
		{ home, "/.lmstudio/models", "LM Studio models" },
		{ home, "/.cache/lm-studio/models", "LM Studio models" },
		{ getenv("LLAMA_CACHE"), "", "llama.cpp cache ($LLAMA_CACHE)" },
		{ home, "/.cache/llama.cpp", "llama.cpp cache" },
		{ getenv("TMPDIR"), "", "$TMPDIR (no model folder found)" },
		{ home, "", "$HOME (no model folder found)" },
	};
	char cand[PATH_MAX];
	for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
		if (!places[i].base || !*places[i].base)
			continue;
		int len = snprintf(cand, sizeof cand, "%s%s", places[i].base, places[i].sub);
		if (len < 0 || (size_t)len >= sizeof cand || !is_dir(cand))
			continue;
		if (dir && n)
			snprintf(dir, n, "%s", cand);
		if (why && whylen)
			snprintf(why, whylen, "%s", places[i].why);
		return;
	}
	if (dir && n)
		snprintf(dir, n, "/tmp");
	if (why && whylen)
		snprintf(why, whylen, "/tmp (no model folder, $TMPDIR or $HOME found)");
}

/* ---- one run ------------------------------------------------------------ */

struct run {
	struct probe_storage *st;
	const struct probe_options *opt;
	struct probe_profile *warn_to;
	char *err;
	size_t errlen;
	const struct probe_sio_engine *engine;
	int fd_buf;                  /* buffered: warm, mmap, fallback cold */
	int fd_direct;               /* O_DIRECT, or -1 */
	uint64_t span;               /* bytes read: whole 4 KiB pages */
	uint64_t stamp_seed;         /* temp file: page stamps; --file: 0 */
	uint64_t expert_bytes;
	int expert_default;
	double t_start, deadline;    /* probe_now() */
};

static void progress(const struct run *r, const char *step, double fraction)
{
	if (r->opt->progress)
		r->opt->progress(step, fraction < 0 ? 0 : fraction > 1 ? 1 : fraction,
				 r->opt->progress_user);
}

static void human_bytes(uint64_t b, char *out, size_t n)
{
	if (b >= GIB)
		snprintf(out, n, "%.1f GiB", (double)b / (double)GIB);
	else
		snprintf(out, n, "%.0f MiB", (double)b / (double)MIB);
}

int probe_storage_drop_cache(int fd)
{
	return posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 ? 0 : -1;
}

static void drop_cache(const struct run *r)
{
	probe_storage_drop_cache(r->fd_buf);
}

enum kind { K_COLD, K_MMAP, K_WARM };

struct pattern {
	const char *name;
	enum kind kind;
	uint64_t block;              /* 0: the expert size */
	int depth;
	enum probe_sio_order order;
	double weight;               /* share of the time left */
};

static const struct pattern patterns[] = {
	{ "seq", K_COLD, 1 * MIB, 1, PROBE_SIO_SEQ, 1.0 },
	{ "seq", K_COLD, 1 * MIB, 32, PROBE_SIO_SEQ, 1.0 },
	{ "seq", K_COLD, 4 * MIB, 1, PROBE_SIO_SEQ, 1.0 },
	{ "seq", K_COLD, 4 * MIB, 32, PROBE_SIO_SEQ, 1.0 },
	{ "rand4k", K_COLD, 4096, 1, PROBE_SIO_RAND, 1.0 },
	{ "rand4k", K_COLD, 4096, 32, PROBE_SIO_RAND, 1.0 },
	{ "expert", K_COLD, 0, 1, PROBE_SIO_RAND, 1.0 },
	{ "expert", K_COLD, 0, 4, PROBE_SIO_RAND, 1.0 },
	{ "expert", K_COLD, 0, 16, PROBE_SIO_RAND, 1.0 },
	{ "mmap", K_MMAP, 0, 1, PROBE_SIO_SEQ, 1.0 },
	{ "warm", K_WARM, 1 * MIB, 1, PROBE_SIO_SEQ, 1.5 },
};
#define N_PATTERNS ((int)(sizeof patterns / sizeof patterns[0]))

/* Seconds for pattern i: its share of what is left before the deadline. */
static double slice_for(const struct run *r, int i)
{
	double weights = 0;
	for (int k = i; k < N_PATTERNS; k++)
		weights += patterns[k].weight;
	double left = r->deadline - probe_now();
	double s = left * patterns[i].weight / weights;
	return s > 0.02 ? s : 0.02;
}

/* Runs job with r's engine; when io_uring cannot set a ring up for it,
 * switches to pread threads for this job and the rest. */
static int run_job(struct run *r, const struct probe_sio_job *job, struct probe_sio_result *res)
{
	char e[200] = "";
	int rc = r->engine->run(job, res, e, sizeof e);
	if (rc != 0 && r->engine == &probe_sio_uring && res->requests == 0 &&
	    strncmp(e, "io_uring_queue_init", 19) == 0) {
		probe_warn(r->warn_to, "storage: %s; reads use pread threads from here on", e);
		r->engine = &probe_sio_pread;
		snprintf(r->st->engine, sizeof r->st->engine, "%s", r->engine->name);
		rc = r->engine->run(job, res, e, sizeof e);
	}
	if (rc != 0)
		snprintf(r->err, r->errlen, "reading %s: %s", r->st->path, e);
	return rc;
}

static void io_fill(struct probe_io *io, const struct pattern *p, uint64_t block,
		    const struct probe_sio_result *res, int cold)
{
	io->src = PROBE_SRC_MEASURED;
	snprintf(io->pattern, sizeof io->pattern, "%s", p->name);
	io->block_bytes = block;
	io->depth = p->depth;
	io->cold = cold;
	io->seconds = res->seconds;
	io->bytes = res->bytes;
	io->gbps = res->seconds > 0 ? (double)res->bytes / res->seconds / 1e9 : NAN;
	io->iops = res->seconds > 0 ? (double)res->requests / res->seconds : NAN;
	io->lat_p50_us = res->lat_p50_us;
	io->lat_p99_us = res->lat_p99_us;
}

/* How the reads went, for io->method: "io_uring O_DIRECT",
 * "pread x32, cache dropped", ... */
static void method_prefix(const struct run *r, int depth, int direct, char *out, size_t n)
{
	char eng[24];
	if (r->engine == &probe_sio_pread)
		snprintf(eng, sizeof eng, "pread x%d", depth);
	else
		snprintf(eng, sizeof eng, "%s", r->engine->tag);
	snprintf(out, n, "%s%s", eng, direct ? " O_DIRECT" : ", cache dropped");
}

static int bad_data(struct run *r, const char *what, uint64_t bad)
{
	snprintf(r->err, r->errlen, "reading %s (%s): %llu blocks came back different from "
		 "what was written; the filesystem or device returns wrong data",
		 r->st->path, what, (unsigned long long)bad);
	return -1;
}

static int pattern_cold(struct run *r, const struct pattern *p, double slice, struct probe_io *io)
{
	uint64_t block = p->block ? p->block : r->expert_bytes;
	int direct = r->fd_direct >= 0;
	int random = p->order == PROBE_SIO_RAND;
	struct probe_sio_job job = {
		.fd = direct ? r->fd_direct : r->fd_buf,
		.span = r->span,
		.block = block,
		.depth = p->depth,
		.order = p->order,
		.seconds = slice,
		.hard_seconds = random ? 2 * slice : slice,
		/* buffered: a second pass would come from the cache */
		.max_bytes = direct ? 0 : r->span,
		.min_requests = !random ? 0 : p->block ? MIN_RANDOM_REQUESTS : MIN_EXPERT_REQUESTS,
		.seed = 0x5eed0000ull + block * 131 + (uint64_t)p->depth,
		.stamp_seed = r->stamp_seed,
		.keep_latency = 1,
	};
	if (!direct) {
		drop_cache(r);
		/* no readahead: a random read brings in its own pages only */
		posix_fadvise(r->fd_buf, 0, 0, random ? POSIX_FADV_RANDOM : POSIX_FADV_NORMAL);
	}
	struct probe_sio_result res;
	int rc = run_job(r, &job, &res);
	if (!direct)
		posix_fadvise(r->fd_buf, 0, 0, POSIX_FADV_NORMAL);
	if (rc != 0)
		return -1;
	if (res.bad)
		return bad_data(r, p->name, res.bad);
	io_fill(io, p, block, &res, 1);
	char method[128];
	method_prefix(r, p->depth, direct, method, 48);
	if (p->block == 0) {
		size_t len = strlen(method);
		snprintf(method + len, sizeof method - len, ", %s",
			 r->expert_default ? EXPERT_DEFAULT_DESC : "expert size from options");
	}
	probe_storage_copy(io->method, sizeof io->method, method);
	return 0;
}

/* mmap PROT_READ MAP_PRIVATE, one read per page in order, no madvise. */
static int pattern_mmap(struct run *r, const struct pattern *p, double slice, struct probe_io *io)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
	drop_cache(r);
	uint8_t *map = mmap(NULL, r->span, PROT_READ, MAP_PRIVATE, r->fd_buf, 0);
	if (map == MAP_FAILED) {
		snprintf(r->err, r->errlen, "mmap of %s: %s", r->st->path, strerror(errno));
		return -1;
	}
	uint64_t pages = 0, bad = 0;
	volatile uint64_t sink = 0;        /* the reads must happen */
	double t0 = probe_now(), t1 = t0;
	for (uint64_t off = 0; off < r->span; off += page) {
		uint64_t v;
		memcpy(&v, map + off, sizeof v);       /* the page fault */
		sink += v;
		if (r->stamp_seed && v != probe_sio_stamp(r->stamp_seed, off / PROBE_STORAGE_ALIGN))
			bad++;
		pages++;
		if ((pages & 63) == 0) {
			t1 = probe_now();
			if (t1 - t0 >= slice)
				break;
		}
	}
	t1 = probe_now();
	munmap(map, r->span);
	if (bad)
		return bad_data(r, "mmap", bad);
	struct probe_sio_result res = {
		.bytes = pages * page, .requests = pages, .seconds = t1 - t0,
		.lat_p50_us = NAN, .lat_p99_us = NAN,
	};
	io_fill(io, p, page, &res, 1);
	snprintf(io->method, sizeof io->method, "mmap MAP_PRIVATE, page faults, cache dropped");
	return 0;
}

/* Loads the file into the page cache, then buffered 1 MiB reads. Returns
 * 1 when not measured (said in a warning), 0, or -1. */
static int pattern_warm(struct run *r, const struct pattern *p, double slice, struct probe_io *io)
{
	struct probe_memory mem;
	memset(&mem, 0, sizeof mem);
	probe_memory_size(&mem, NULL);
	char size[32], avail[32];
	human_bytes(r->span, size, sizeof size);
	human_bytes(mem.available_bytes, avail, sizeof avail);
	if (mem.available_bytes == 0 || r->span > mem.available_bytes / 2) {
		probe_warn(r->warn_to, "storage: warm (page cache) reads not measured: the %s "
			   "file does not fit comfortably in %s of available memory", size, avail);
		return 1;
	}
	double t0 = probe_now();
	double load_limit = slice > LOAD_SECONDS_MIN ? slice : LOAD_SECONDS_MIN;
	struct probe_sio_job load = {
		.fd = r->fd_buf, .span = r->span, .block = 4 * MIB <= r->span ? 4 * MIB : r->span,
		.depth = 4, .order = PROBE_SIO_SEQ,
		.seconds = load_limit, .hard_seconds = load_limit, .max_bytes = r->span,
		.stamp_seed = r->stamp_seed,
	};
	struct probe_sio_result res;
	if (run_job(r, &load, &res) != 0)
		return -1;
	if (res.bad)
		return bad_data(r, "loading into the page cache", res.bad);
	if (res.bytes < r->span) {
		probe_warn(r->warn_to, "storage: warm (page cache) reads not measured: loading "
			   "the %s file into the page cache took longer than the time budget", size);
		return 1;
	}
	double left = slice - (probe_now() - t0);
	struct probe_sio_job job = {
		.fd = r->fd_buf, .span = r->span, .block = p->block, .depth = p->depth,
		.order = PROBE_SIO_SEQ,
		.seconds = left > 0.05 ? left : 0.05, .hard_seconds = left > 0.05 ? left : 0.05,
		.stamp_seed = r->stamp_seed, .keep_latency = 1,
	};
	if (run_job(r, &job, &res) != 0)
		return -1;
	if (res.bad)
		return bad_data(r, p->name, res.bad);
	io_fill(io, p, p->block, &res, 0);
	snprintf(io->method, sizeof io->method, "%s buffered, page cache (file read once first)",
		 r->engine->tag);
	return 0;
}

static int run_patterns(struct run *r, double frac0)
{
	struct probe_storage *st = r->st;
	for (int i = 0; i < N_PATTERNS; i++) {
		const struct pattern *p = &patterns[i];
		char step[64];
		uint64_t block = p->block ? p->block : r->expert_bytes;
		if (p->kind == K_MMAP)
			snprintf(step, sizeof step, "storage: mmap page faults");
		else if (block >= MIB && block % MIB == 0)
			snprintf(step, sizeof step, "storage: %s %llu MiB x%d", p->name,
				 (unsigned long long)(block / MIB), p->depth);
		else
			snprintf(step, sizeof step, "storage: %s %llu KiB x%d", p->name,
				 (unsigned long long)(block / 1024), p->depth);
		progress(r, step, frac0 + (1 - frac0) * i / N_PATTERNS);

		double slice = slice_for(r, i);
		struct probe_io *io = &st->io[st->n_io];
		int rc = p->kind == K_COLD ? pattern_cold(r, p, slice, io)
			: p->kind == K_MMAP ? pattern_mmap(r, p, slice, io)
			: pattern_warm(r, p, slice, io);
		if (rc < 0)
			return -1;
		if (rc == 0)
			st->n_io++;
	}

	for (int i = 0; i < st->n_io; i++) {
		const struct probe_io *io = &st->io[i];
		if (strcmp(io->pattern, "seq") == 0 && io->block_bytes == 4 * MIB && io->depth == 32)
			st->seq_read_gbps = io->gbps;
		else if (strcmp(io->pattern, "rand4k") == 0 && io->depth == 32)
			st->rand4k_read_iops = io->iops;
		else if (strcmp(io->pattern, "expert") == 0 &&
			 (isnan(st->expert_read_gbps) || io->gbps > st->expert_read_gbps))
			st->expert_read_gbps = io->gbps;
		else if (strcmp(io->pattern, "warm") == 0)
			st->warm_read_gbps = io->gbps;
		else if (strcmp(io->pattern, "mmap") == 0)
			st->mmap_read_gbps = io->gbps;
	}
	st->src = PROBE_SRC_MEASURED;
	return 0;
}

/* After identity: cold_method, and the tmpfs warning. */
static void describe_cold(struct run *r, int direct_refused)
{
	struct probe_storage *st = r->st;
	st->direct = r->fd_direct >= 0;
	int in_memory = strcmp(st->fs_type, "tmpfs") == 0 || strcmp(st->fs_type, "ramfs") == 0;
	if (in_memory) {
		snprintf(st->cold_method, sizeof st->cold_method,
			 "none: on %s the file lives in memory, so 'cold' reads are memory speed",
			 st->fs_type);
		probe_warn(r->warn_to, "storage: %s is on %s: the file lives in memory, so 'cold' "
			   "reads are memory speed, not a disk's; use --path on a disk", st->path,
			   st->fs_type);
	} else if (st->direct) {
		snprintf(st->cold_method, sizeof st->cold_method,
			 "O_DIRECT (the page cache is bypassed)");
	} else {
		snprintf(st->cold_method, sizeof st->cold_method,
			 "no O_DIRECT here: buffered reads after posix_fadvise(DONTNEED)");
		if (direct_refused)
			probe_warn(r->warn_to, "storage: %s (%s) refuses O_DIRECT; cold reads are "
				   "buffered after dropping the file from the page cache "
				   "(posix_fadvise DONTNEED, best effort)", st->path, st->fs_type);
	}
}

/* ---- temporary file ------------------------------------------------------ */

static int check_dir(const char *dir, char *err, size_t errlen)
{
	if (!dir || !*dir) {
		snprintf(err, errlen, "no directory given for the storage probe; give one with "
			 "--path DIR");
		return -2;
	}
	if (strlen(dir) > PATH_MAX - 64) {
		snprintf(err, errlen, "%.80s...: path too long; give a shorter one with --path DIR",
			 dir);
		return -2;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "%s does not exist; create it, or give an existing "
				 "directory with --path DIR", dir);
		else if (e == ENOTDIR)
			snprintf(err, errlen, "%s: not a directory (a part of the path is a file); "
				 "give a directory with --path DIR", dir);
		else
			snprintf(err, errlen, "%s: %s; give a directory you can use with --path DIR",
				 dir, strerror(e));
		return -2;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is a file, not a directory: --path wants a directory; to "
			 "read a file use --file %s", dir, dir);
		return -2;
	}
	struct statvfs sv;
	if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY)) {
		snprintf(err, errlen, "%s is on a read-only filesystem: the storage probe writes a "
			 "temporary test file there; give a writable directory on the same disk with "
			 "--path DIR, or read an existing model file with --file FILE", dir);
		return -2;
	}
	return 0;
}

static int create_failed(const char *dir, int e, char *err, size_t errlen)
{
	if (e == ENOSPC || e == EDQUOT) {
		snprintf(err, errlen, "%s: the filesystem is full (%s); free some space, give "
			 "another directory with --path DIR, or read an existing model file with "
			 "--file FILE", dir, strerror(e));
		return -2;
	}
	if (e == EROFS || e == EACCES || e == EPERM || e == ENOENT || e == ENOTDIR ||
	    e == EINVAL || e == ENAMETOOLONG) {
		snprintf(err, errlen, "cannot create a file in %s: %s: the directory is read-only "
			 "or not writable; give a writable directory with --path DIR, or read an "
			 "existing model file with --file FILE", dir, strerror(e));
		return -2;
	}
	snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(e));
	return -1;
}

/* Size of the temporary file, or 0 with err filled when it does not fit. */
static uint64_t temp_size(const struct probe_storage *st, const struct probe_storage_tune *tune,
			  const char *dir, char *err, size_t errlen)
{
	uint64_t free_b = st->fs_free_bytes, size;
	if (tune->file_bytes) {
		size = tune->file_bytes / TEMP_QUANTUM * TEMP_QUANTUM;
		if (size < TEMP_QUANTUM)
			size = TEMP_QUANTUM;
	} else {
		size = free_b / 10;
		size = size < TEMP_MIN ? TEMP_MIN : size > TEMP_MAX ? TEMP_MAX : size;
		size = size / TEMP_QUANTUM * TEMP_QUANTUM;
	}
	if (free_b < size + PROBE_STORAGE_MARGIN) {
		char need[32], have[32], file[32];
		human_bytes(size + PROBE_STORAGE_MARGIN, need, sizeof need);
		human_bytes(free_b, have, sizeof have);
		human_bytes(size, file, sizeof file);
		snprintf(err, errlen, "not enough free space in %s: the storage probe needs %s (a "
			 "%s test file and 256 MiB left free), %s is free; free some space, give "
			 "another directory on the same disk with --path DIR, or read an existing "
			 "model file with --file FILE", dir, need, file, have);
		return 0;
	}
	return size;
}

static int write_failed(struct run *r, const char *what, int e)
{
	if (e == ENOSPC || e == EDQUOT) {
		snprintf(r->err, r->errlen, "%s: the filesystem filled up while writing the test "
			 "file (%s); free some space, give another directory with --path DIR, or "
			 "read an existing model file with --file FILE", r->st->path, strerror(e));
		return -2;
	}
	if (e == EROFS) {
		snprintf(r->err, r->errlen, "%s: the filesystem is read-only (%s); give a writable "
			 "directory with --path DIR, or read an existing model file with --file "
			 "FILE", r->st->path, strerror(e));
		return -2;
	}
	snprintf(r->err, r->errlen, "writing the test file in %s: %s: %s", r->st->path, what,
		 strerror(e));
	return -1;
}

/* Fills the file with stamped pseudo-random pages; shortens it (never below
 * TEMP_FLOOR) when writing takes more than its share of the budget.
 * Sets r->span. Returns 0, -1 or -2. */
static int temp_fill(struct run *r, int fd_write, int direct, uint64_t size, double budget)
{
	int rc = fallocate(fd_write, 0, 0, (off_t)size);
	if (rc != 0 && (errno == ENOSPC || errno == EDQUOT))
		return write_failed(r, "fallocate", errno);

	uint64_t chunk = WRITE_CHUNK < size ? WRITE_CHUNK : size;
	uint8_t *buf = NULL;
	if (posix_memalign((void **)&buf, PROBE_STORAGE_ALIGN, chunk) != 0) {
		snprintf(r->err, r->errlen, "out of memory for an %llu-byte write buffer",
			 (unsigned long long)chunk);
		return -1;
	}
	uint64_t rng = r->stamp_seed ^ 0xa0761d6478bd642full;
	for (uint64_t i = 0; i < chunk / 8; i++) {
		uint64_t v = probe_sio_rand(&rng);
		memcpy(buf + i * 8, &v, 8);
	}
	double t0 = probe_now(), limit = budget * WRITE_SHARE;
	uint64_t written = 0, since_sync = 0;
	rc = 0;
	while (written < size) {
		uint64_t n = size - written < chunk ? size - written : chunk;
		for (uint64_t off = 0; off < n; off += PROBE_STORAGE_ALIGN) {
			uint64_t s = probe_sio_stamp(r->stamp_seed, (written + off) / PROBE_STORAGE_ALIGN);
			memcpy(buf + off, &s, sizeof s);
		}
		uint64_t done = 0;
		while (done < n) {
			ssize_t w = pwrite(fd_write, buf + done, n - done, (off_t)(written + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = write_failed(r, "pwrite", w < 0 ? errno : ENOSPC);
				goto out;
			}
			done += (uint64_t)w;
		}
		written += n;
		since_sync += n;
		if (!direct && since_sync >= SYNC_EVERY) {
			if (fdatasync(fd_write) != 0) {
				rc = write_failed(r, "fdatasync", errno);
				goto out;
			}
			since_sync = 0;
		}
		if (written % (64 * MIB) == 0)
			progress(r, "storage: writing the test file",
				 0.1 * (double)written / (double)size);
		if (written < size && written >= TEMP_FLOOR && probe_now() - t0 > limit) {
			char got[32], want[32];
			human_bytes(written, got, sizeof got);
			human_bytes(size, want, sizeof want);
			probe_warn(r->warn_to, "storage: writing the test file was slow (%s in %.1f s); "
				   "it was cut to %s instead of %s to keep to the time budget", got,
				   probe_now() - t0, got, want);
			if (ftruncate(fd_write, (off_t)written) != 0) {
				rc = write_failed(r, "ftruncate", errno);
				goto out;
			}
			break;
		}
	}
	if (fdatasync(fd_write) != 0) {
		rc = write_failed(r, "fdatasync", errno);
		goto out;
	}
	r->span = written;
	r->st->file_bytes = written;
out:
	free(buf);
	return rc;
}

/* The checks before writing: dir usable, identity read (free space),
 * guard installed, temporary file created and its size chosen. On 0 the
 * caller owns *fd, the armed temporary file and the guard: temp_end. */
static int temp_begin(struct run *r, const char *dir, const struct probe_storage_tune *tune,
		      struct sig_guard *guard, int *fd, uint64_t *size)
{
	struct probe_storage *st = r->st;
	int rc = check_dir(dir, r->err, r->errlen);
	if (rc != 0)
		return rc;
	char real[PATH_MAX];
	probe_storage_copy(st->path, sizeof st->path, realpath(dir, real) ? real : dir);
	if (probe_storage_identify(st, dir, r->warn_to) != 0) {
		snprintf(r->err, r->errlen, "%s: cannot read the filesystem (statfs: %s); give "
			 "another directory with --path DIR", dir, strerror(errno));
		return -2;
	}
	guard_install(guard);
	*fd = temp_create(dir);
	if (*fd < 0) {
		rc = create_failed(dir, errno, r->err, r->errlen);
		guard_restore(guard);
		return rc;
	}
	*size = temp_size(st, tune, dir, r->err, r->errlen);
	if (*size == 0) {
		close(*fd);
		temp_remove();
		guard_restore(guard);
		return -2;
	}
	return 0;
}

static void temp_end(struct sig_guard *guard, int fd)
{
	close(fd);
	temp_remove();
	guard_restore(guard);
}

static int measure_dir(struct run *r, const char *dir, const struct probe_storage_tune *tune,
		       double budget)
{
	struct sig_guard guard;
	int fd = -1, fd_direct = -1, direct_refused = 0;
	uint64_t size = 0;
	int rc = temp_begin(r, dir, tune, &guard, &fd, &size);
	if (rc != 0)
		return rc;
	r->st->temp_file = 1;
	if (!tune->no_direct)
		fd_direct = open(temp_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd_direct < 0) {
		if (!tune->no_direct && errno != EINVAL) {
			rc = create_failed(dir, errno, r->err, r->errlen);
			goto out;
		}
		direct_refused = 1;         /* EINVAL: the filesystem has no O_DIRECT */
	}
	r->fd_buf = fd;
	r->fd_direct = fd_direct;
	describe_cold(r, direct_refused);

	rc = temp_fill(r, fd_direct >= 0 ? fd_direct : fd, fd_direct >= 0, size, budget);
	if (rc != 0)
		goto out;
	drop_cache(r);
	rc = run_patterns(r, 0.1);
out:
	if (fd_direct >= 0)
		close(fd_direct);
	r->fd_buf = r->fd_direct = -1;
	temp_end(&guard, fd);
	return rc;
}

/* ---- --file -------------------------------------------------------------- */

/* open(2) with O_NOATIME when the file is ours to ask it for. */
static int open_noatime(const char *path, int flags)
{
	int fd = open(path, flags | O_NOATIME | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		fd = open(path, flags | O_CLOEXEC);
	return fd;
}

/* Checks file and opens it read-only (buffered); 0 with *fd and *sb set,
 * or -2 / -1 with err filled. */
static int file_open_checked(const char *file, int *fd, struct stat *sb, char *err, size_t errlen)
{
	if (!*file) {
		snprintf(err, errlen, "no file given; give a model file with --file FILE");
		return -2;
	}
	if (stat(file, sb) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "%s does not exist; give an existing model file with "
				 "--file FILE", file);
		else
			snprintf(err, errlen, "%s: %s; give a model file you can read with "
				 "--file FILE", file, strerror(e));
		return -2;
	}
	if (S_ISDIR(sb->st_mode)) {
		snprintf(err, errlen, "%s is a directory, not a regular file: --file wants a model "
			 "file; to measure a directory use --path %s", file, file);
		return -2;
	}
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s is not a regular file (a device, pipe or socket); give a "
			 "model file with --file FILE", file);
		return -2;
	}
	if ((uint64_t)sb->st_size < PROBE_STORAGE_MIN_FILE) {
		snprintf(err, errlen, "%s is %.1f MiB; --file needs a file of at least 64 MiB (a "
			 "model file) to time reads; give a bigger file, or measure its directory "
			 "with --path DIR", file, (double)sb->st_size / (double)MIB);
		return -2;
	}
	*fd = open_noatime(file, O_RDONLY);
	if (*fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open it for reading: %s; give a file you can "
			 "read with --file FILE", file, strerror(e));
		return e == EACCES || e == EPERM || e == ENOENT || e == ELOOP ? -2 : -1;
	}
	return 0;
}

static int measure_file(struct run *r, const char *file, const struct probe_storage_tune *tune)
{
	struct probe_storage *st = r->st;
	struct stat sb;
	int fd = -1;
	probe_storage_copy(st->path, sizeof st->path, file);
	int rc = file_open_checked(file, &fd, &sb, r->err, r->errlen);
	if (rc != 0)
		return rc;
	int fd_direct = -1, direct_refused = 0;
	if (!tune->no_direct)
		fd_direct = open_noatime(file, O_RDONLY | O_DIRECT);
	if (fd_direct < 0)
		direct_refused = 1;         /* EINVAL: the filesystem has no O_DIRECT */
	r->fd_buf = fd;
	r->fd_direct = fd_direct;
	r->span = (uint64_t)sb.st_size / PROBE_STORAGE_ALIGN * PROBE_STORAGE_ALIGN;
	r->stamp_seed = 0;               /* not our data: nothing to check */
	st->file_bytes = (uint64_t)sb.st_size;
	st->temp_file = 0;
	if (probe_storage_identify(st, file, r->warn_to) != 0)
		probe_warn(r->warn_to, "storage: cannot read the filesystem of %s", file);
	describe_cold(r, direct_refused);
	rc = run_patterns(r, 0.0);
	if (fd_direct >= 0)
		close(fd_direct);
	close(fd);
	r->fd_buf = r->fd_direct = -1;
	return rc;
}

/* ---- entry points -------------------------------------------------------- */

void probe_storage_unknown(struct probe_storage *st)
{
	memset(st, 0, sizeof *st);
	st->src = PROBE_SRC_UNKNOWN;
	st->rotational = -1;
	st->seconds = NAN;
	st->seq_read_gbps = st->rand4k_read_iops = st->expert_read_gbps = NAN;
	st->warm_read_gbps = st->mmap_read_gbps = NAN;
	for (int i = 0; i < PROBE_MAX_IO; i++) {
		struct probe_io *io = &st->io[i];
		io->gbps = io->iops = io->lat_p50_us = io->lat_p99_us = io->seconds = NAN;
	}
}

/* The directory to use: opt->storage_path, else the default (why set). */
static const char *pick_dir(const struct probe_options *opt, char *dir, size_t n,
			    char *why, size_t whylen)
{
	if (opt->storage_path) {
		probe_storage_copy(why, whylen, "--path");
		return opt->storage_path;     /* as given: check_dir judges it */
	}
	probe_storage_default_dir(dir, n, why, whylen);
	return dir;
}

int probe_storage_check(const struct probe_options *opt, char *err, size_t errlen)
{
	char scratch[8];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof scratch;
	}
	err[0] = 0;
	struct probe_options none;
	memset(&none, 0, sizeof none);
	if (!opt)
		opt = &none;
	if (opt->storage_file) {
		struct stat sb;
		int fd = -1;
		int rc = file_open_checked(opt->storage_file, &fd, &sb, err, errlen);
		if (fd >= 0)
			close(fd);
		return rc == 0 ? 0 : -2;
	}
	struct probe_storage *st = malloc(sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	probe_storage_unknown(st);
	struct probe_storage_tune tune;
	memset(&tune, 0, sizeof tune);
	struct run r;
	memset(&r, 0, sizeof r);
	r.st = st;
	r.opt = opt;
	r.err = err;
	r.errlen = errlen;
	char dir[PATH_MAX];
	const char *d = pick_dir(opt, dir, sizeof dir, st->why, sizeof st->why);
	struct sig_guard guard;
	int fd = -1;
	uint64_t size = 0;
	int rc = temp_begin(&r, d, &tune, &guard, &fd, &size);
	if (rc == 0)
		temp_end(&guard, fd);
	free(st);
	return rc == 0 ? 0 : -2;
}

int probe_storage_measure_tuned(struct probe_storage *st, const struct probe_options *opt,
				const struct probe_storage_tune *tune,
				struct probe_profile *warn_to, char *err, size_t errlen)
{
	char scratch[8];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof scratch;
	}
	err[0] = 0;
	probe_storage_unknown(st);
	struct probe_options none;
	memset(&none, 0, sizeof none);
	struct probe_storage_tune defaults;
	memset(&defaults, 0, sizeof defaults);
	if (!opt)
		opt = &none;
	if (!tune)
		tune = &defaults;

	double budget = tune->seconds > 0 ? tune->seconds
		: opt->storage_seconds > 0 ? opt->storage_seconds : DEFAULT_SECONDS;
	if (!(budget < 3600))
		budget = 3600;

	struct run r;
	memset(&r, 0, sizeof r);
	r.st = st;
	r.opt = opt;
	r.warn_to = warn_to;
	r.err = err;
	r.errlen = errlen;
	r.fd_buf = r.fd_direct = -1;
	r.t_start = probe_now();
	r.deadline = r.t_start + budget - RESERVE_SECONDS;
	r.stamp_seed = 0x11cab5ull ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(r.t_start * 1e6);
	r.expert_default = opt->expert_bytes == 0;
	r.expert_bytes = opt->expert_bytes ? opt->expert_bytes : EXPERT_DEFAULT_BYTES;
	if (r.expert_bytes > 64 * MIB)
		r.expert_bytes = 64 * MIB;
	r.expert_bytes = (r.expert_bytes + PROBE_STORAGE_ALIGN - 1) / PROBE_STORAGE_ALIGN *
			 PROBE_STORAGE_ALIGN;

	char why[200] = "";
	if (tune->no_uring || probe_sio_uring_usable(why, sizeof why) != 0) {
		r.engine = &probe_sio_pread;
		if (!tune->no_uring)
			probe_warn(warn_to, "storage: io_uring unavailable (%s); reads use pread "
				   "threads", why);
	} else {
		r.engine = &probe_sio_uring;
	}
	probe_storage_copy(st->engine, sizeof st->engine, r.engine->name);

	int rc;
	if (opt->storage_file) {
		probe_storage_copy(st->why, sizeof st->why, "--file");
		rc = measure_file(&r, opt->storage_file, tune);
	} else {
		char dir[PATH_MAX];
		const char *d = pick_dir(opt, dir, sizeof dir, st->why, sizeof st->why);
		rc = measure_dir(&r, d, tune, budget);
	}
	progress(&r, "storage: done", 1.0);
	st->seconds = probe_now() - r.t_start;
	if (rc != 0)
		st->src = PROBE_SRC_UNKNOWN;
	return rc;
}

int probe_storage_measure(struct probe_storage *st, const struct probe_options *opt,
			  struct probe_profile *warn_to, char *err, size_t errlen)
{
	return probe_storage_measure_tuned(st, opt, NULL, warn_to, err, errlen);
}

/*
 * probe: accelerators — runs every backend (accel.h), ties what they find
 * to hwloc's PCI devices, and says plainly when there is no GPU.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe/accel.h"
#include "probe/probe_internal.h"

static const struct accel_ops *const backends[] = {
	&accel_cuda_ops, &accel_opencl_ops, &accel_sysfs_ops, &accel_null_ops, NULL,
};

const struct accel_ops *const *probe_accel_backends(void)
{
	return backends;
}

void accel_fig_unknown(struct probe_accel_fig *fig)
{
	memset(fig, 0, sizeof *fig);
	fig->src = PROBE_SRC_UNKNOWN;
	fig->value = NAN;
	fig->stat.median = fig->stat.best = fig->stat.worst = NAN;
	fig->stat.mean = fig->stat.stddev = NAN;
}

void accel_fig_finish(struct probe_accel_fig *fig, int higher_is_better)
{
	if (fig->stat.n <= 0) {
		fig->src = PROBE_SRC_UNKNOWN;
		fig->value = NAN;
		return;
	}
	probe_stat_compute(&fig->stat, higher_is_better);
	fig->value = fig->stat.best;
	fig->src = PROBE_SRC_MEASURED;
}

void probe_accel_init(struct probe_accel *a)
{
	memset(a, 0, sizeof *a);
	a->numa_node = -1;
	a->pci_link_gbps = a->core_mhz = a->memory_mhz = NAN;
	a->power_limit_w = a->spec_bandwidth_gbps = NAN;
	accel_fig_unknown(&a->copy);
	accel_fig_unknown(&a->read);
	accel_fig_unknown(&a->h2d);
	accel_fig_unknown(&a->d2h);
	accel_fig_unknown(&a->h2d_pageable);
	accel_fig_unknown(&a->d2h_pageable);
	accel_fig_unknown(&a->fp16);
	accel_fig_unknown(&a->launch);
}

/* Bus ids compared without case ("0000:3B:00.0" from CUDA, hwloc's lower
 * case); an 8-digit domain ("00000000:3B:00.0", NVML) reads as 4. */
static void norm_bus(const char *in, char *out, size_t n)
{
	const char *s = in;
	size_t len = strlen(s);
	if (len > 12 && strchr(s, ':') - s == 8)
		s += 4;
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = 0;
}

static void tie_to_pci(struct probe_accel *a, const struct probe_topo *t)
{
	char want[24], have[24];
	if (!a->bus_id[0])
		return;
	norm_bus(a->bus_id, want, sizeof want);
	snprintf(a->bus_id, sizeof a->bus_id, "%.15s", want);
	for (int i = 0; i < t->n_pci && i < PROBE_MAX_PCI; i++) {
		norm_bus(t->pci[i].bus_id, have, sizeof have);
		if (strcmp(want, have) != 0)
			continue;
		a->numa_node = t->pci[i].numa_node;
		a->pci_link_gbps = t->pci[i].link_gbps;
		if (!a->vendor[0])
			snprintf(a->vendor, sizeof a->vendor, "%s", t->pci[i].vendor);
		return;
	}
}

/* An OpenCL device another backend already reported (NVIDIA's OpenCL
 * platform lists the CUDA GPUs again): same bus id, or same name. */
static int duplicate(const struct probe_profile *p, int upto, const struct probe_accel *a)
{
	for (int i = 0; i < upto; i++) {
		const struct probe_accel *b = &p->accel[i];
		if (strcmp(b->backend, a->backend) == 0)
			continue;
		if (a->bus_id[0] && strcmp(a->bus_id, b->bus_id) == 0)
			return 1;
		if (strcmp(a->name, b->name) == 0)
			return 1;
	}
	return 0;
}

static void cat_note(char *buf, size_t n, const char *name, const char *note)
{
	size_t len = strlen(buf);
	snprintf(buf + len, n - len, "%s%s: %s", len ? "; " : "", name, note);
}

/* What one backend found, as it travels from the child process. */
struct backend_result {
	int n;                        /* devices kept (after duplicates) */
	int failed;                   /* discover returned -1 */
	char note[160];               /* why nothing was found, or the failure */
	char warn[PROBE_MAX_ACCEL][PROBE_WARNING_LEN];   /* per device, "" none */
	struct probe_accel accel[PROBE_MAX_ACCEL];
};

/* Discovers (and measures) with one backend; the devices already in p
 * are there to drop duplicates. Runs in the child process. */
static void run_backend(const struct probe_profile *p, const struct accel_ops *ops,
			const struct accel_ctx *ctx, int measure, struct backend_result *r)
{
	int first = p->n_accel;
	void *priv = NULL;
	int n = ops->discover(ctx, &priv, r->accel, PROBE_MAX_ACCEL - first, r->note,
			      sizeof r->note);
	if (n < 0) {
		r->failed = 1;
		n = 0;
	}
	int kept = 0;
	for (int i = 0; i < n; i++) {
		struct probe_accel *a = &r->accel[i];
		tie_to_pci(a, &p->topo);
		if (duplicate(p, first, a))
			continue;
		if (kept != i)
			r->accel[kept] = *a;
		kept++;
	}
	r->n = kept;
	for (int i = 0; i < kept && measure; i++) {
		struct probe_accel *a = &r->accel[i];
		if (!(ops->caps & ACCEL_CAP_MEASURE) || !ops->measure) {
			if (!a->status[0])
				snprintf(a->status, sizeof a->status,
					 "present: no compute runtime to measure");
			continue;
		}
		if (ops->measure(ctx, priv, a) != 0)
			snprintf(r->warn[i], sizeof r->warn[i], "accelerator %.60s (%s) not fully "
				 "measured: %.100s", a->name, ops->name, a->status);
	}
	if (ops->cleanup)
		ops->cleanup(priv);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *c = buf;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Runs the backend in a child process, so that a vendor library that
 * aborts or hangs (seen: PoCL aborts when hwloc reports no memory) takes
 * only the child down. 0 with r filled, or -1 with r->note saying what
 * happened to the child. */
static int run_isolated(const struct probe_profile *p, const struct accel_ops *ops,
			const struct accel_ctx *ctx, int measure, struct backend_result *r,
			double timeout_s)
{
	int fds[2];
	memset(r, 0, sizeof *r);
	fflush(NULL);
	if (pipe(fds) != 0) {
		run_backend(p, ops, ctx, measure, r);   /* no pipe: in this process */
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		run_backend(p, ops, ctx, measure, r);
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		struct backend_result *mine = calloc(1, sizeof *mine);
		int rc = 1;
		if (mine) {
			run_backend(p, ops, ctx, measure, mine);
			rc = write_all(fds[1], mine, sizeof *mine) == 0 ? 0 : 1;
		}
		close(fds[1]);
		_exit(rc);
	}
	close(fds[1]);
	size_t got = 0;
	double deadline = probe_now() + timeout_s;
	int timed_out = 0;
	while (got < sizeof *r) {
		double left = deadline - probe_now();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		ssize_t k = read(fds[0], (char *)r + got, sizeof *r - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == sizeof *r && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	memset(r, 0, sizeof *r);
	if (timed_out)
		snprintf(r->note, sizeof r->note, "no answer in %.0f s (driver hung?); stopped",
			 timeout_s);
	else if (WIFSIGNALED(status))
		snprintf(r->note, sizeof r->note, "its driver crashed (signal %d%s); llmcap went "
			 "on without it", WTERMSIG(status),
			 WTERMSIG(status) == SIGABRT ? ", abort" : "");
	else
		snprintf(r->note, sizeof r->note, "its probe process failed (exit %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return -1;
}

int probe_accel_run(struct probe_profile *p, const struct accel_ops *const *list,
		    const struct accel_ctx *ctx, int measure)
{
	char notes[512] = "";
	int gpus = 0;
	struct backend_result *r = malloc(sizeof *r);
	p->n_accel = 0;
	if (!r) {
		probe_warn(p, "accelerators not probed: out of memory");
		return 0;
	}
	for (int b = 0; list && list[b] && p->n_accel < PROBE_MAX_ACCEL; b++) {
		const struct accel_ops *ops = list[b];
		if (ops->version != ACCEL_OPS_VERSION || !ops->discover) {
			probe_warn(p, "accelerator backend %s skipped: interface version %d, "
				   "expected %d", ops->name, ops->version, ACCEL_OPS_VERSION);
			continue;
		}
		double timeout = ctx && ctx->quick ? 60 : 240;
		if (run_isolated(p, ops, ctx, measure, r, timeout) != 0) {
			probe_warn(p, "accelerators: %s backend: %s", ops->name, r->note);
			cat_note(notes, sizeof notes, ops->name, r->note);
			continue;
		}
		if (r->failed) {
			probe_warn(p, "accelerators: %s backend failed: %s", ops->name,
				   r->note[0] ? r->note : "unknown error");
			cat_note(notes, sizeof notes, ops->name, r->note[0] ? r->note : "failed");
		} else if (r->n == 0 && r->note[0]) {
			cat_note(notes, sizeof notes, ops->name, r->note);
		}
		int first = p->n_accel, these = 0;
		for (int i = 0; i < r->n && p->n_accel < PROBE_MAX_ACCEL; i++) {
			p->accel[p->n_accel++] = r->accel[i];
			these += strcmp(r->accel[i].kind, "gpu") == 0;
			if (r->warn[i][0])
				probe_warn(p, "%s", r->warn[i]);
		}
		if (p->n_accel > first && these == 0) {
			char what[64];
			snprintf(what, sizeof what, "%d device%s, no GPU (%s)", p->n_accel - first,
				 p->n_accel - first == 1 ? "" : "s", p->accel[first].kind);
			cat_note(notes, sizeof notes, ops->name, what);
		}
		gpus += these;
	}
	free(r);
	if (gpus == 0) {
		snprintf(p->accel_note, sizeof p->accel_note,
			 "no GPU found (no libcuda.so.1 / no OpenCL device)%s%.190s%s",
			 notes[0] ? " [" : "", notes, notes[0] ? "]" : "");
		probe_warn(p, "%s", p->accel_note);
	} else {
		snprintf(p->accel_note, sizeof p->accel_note, "%d GPU%s found", gpus,
			 gpus == 1 ? "" : "s");
	}
	return p->n_accel;
}

int probe_measure_accel(struct probe_profile *p, const struct probe_options *opt)
{
	struct accel_ctx ctx = {.quick = opt ? opt->quick : 0, .warn_to = p};
	return probe_accel_run(p, probe_accel_backends(), &ctx, 1);
}

/* ---- the null backend: finds nothing ----------------------------------- */

static int null_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			 int max, char *note, size_t notelen)
{
	(void)ctx; (void)out; (void)max;
	*priv = NULL;
	if (note && notelen)
		note[0] = 0;
	return 0;
}

const struct accel_ops accel_null_ops = {
	.version = ACCEL_OPS_VERSION,
	.name = "null",
	.caps = 0,
	.discover = null_discover,
};

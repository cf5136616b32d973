/* probe: names, statistics, profile initialisation, warnings. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"

static const char *const src_names[] = {
	[PROBE_SRC_UNKNOWN] = "unknown",
	[PROBE_SRC_MEASURED] = "measured",
	[PROBE_SRC_REPORTED] = "reported",
	[PROBE_SRC_SPEC] = "spec",
	[PROBE_SRC_ASSUMED] = "assumed",
};

const char *probe_src_name(enum probe_src src)
{
	if ((unsigned)src >= sizeof src_names / sizeof src_names[0])
		return "unknown";
	return src_names[src];
}

static const char *const isa_names[PROBE_ISA_COUNT] = {
	[PROBE_ISA_SSE42] = "sse4_2",
	[PROBE_ISA_AVX] = "avx",
	[PROBE_ISA_AVX2] = "avx2",
	[PROBE_ISA_FMA] = "fma",
	[PROBE_ISA_F16C] = "f16c",
	[PROBE_ISA_AVX_VNNI] = "avx_vnni",
	[PROBE_ISA_AVX512F] = "avx512f",
	[PROBE_ISA_AVX512BW] = "avx512bw",
	[PROBE_ISA_AVX512VL] = "avx512vl",
	[PROBE_ISA_AVX512VNNI] = "avx512_vnni",
	[PROBE_ISA_AVX512BF16] = "avx512_bf16",
	[PROBE_ISA_AVX512FP16] = "avx512_fp16",
	[PROBE_ISA_AMX_TILE] = "amx_tile",
	[PROBE_ISA_AMX_INT8] = "amx_int8",
	[PROBE_ISA_AMX_BF16] = "amx_bf16",
	[PROBE_ISA_NEON] = "neon",
	[PROBE_ISA_DOTPROD] = "dotprod",
	[PROBE_ISA_I8MM] = "i8mm",
	[PROBE_ISA_SVE] = "sve",
	[PROBE_ISA_SVE2] = "sve2",
};

const char *probe_isa_name(enum probe_isa isa)
{
	if ((unsigned)isa >= PROBE_ISA_COUNT)
		return NULL;
	return isa_names[isa];
}

int probe_isa_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < PROBE_ISA_COUNT; i++)
		if (strcmp(isa_names[i], name) == 0)
			return i;
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void probe_stat_compute(struct probe_stat *st, int higher_is_better)
{
	int n = st->n;
	if (n <= 0 || n > PROBE_MAX_SAMPLES) {
		st->n = n < 0 ? 0 : (n > PROBE_MAX_SAMPLES ? PROBE_MAX_SAMPLES : n);
		if (st->n == 0) {
			st->median = st->best = st->worst = st->mean = st->stddev = NAN;
			return;
		}
		n = st->n;
	}
	double sorted[PROBE_MAX_SAMPLES];
	memcpy(sorted, st->samples, (size_t)n * sizeof(double));
	qsort(sorted, (size_t)n, sizeof(double), cmp_double);
	st->median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
	st->best = higher_is_better ? sorted[n - 1] : sorted[0];
	st->worst = higher_is_better ? sorted[0] : sorted[n - 1];
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += sorted[i];
	st->mean = sum / n;
	double var = 0;
	for (int i = 0; i < n; i++)
		var += (sorted[i] - st->mean) * (sorted[i] - st->mean);
	st->stddev = n > 1 ? sqrt(var / (n - 1)) : 0.0;
}

static void stat_unknown(struct probe_stat *st)
{
	st->n = 0;
	st->median = st->best = st->worst = st->mean = st->stddev = NAN;
}

void probe_bw_unknown(struct probe_bw *b)
{
	memset(b, 0, sizeof *b);
	b->src = PROBE_SRC_UNKNOWN;
	b->gbps = NAN;
	stat_unknown(&b->stat);
}

void probe_peak_unknown(struct probe_peak *k)
{
	memset(k, 0, sizeof *k);
	k->src = PROBE_SRC_UNKNOWN;
	k->gops = NAN;
	stat_unknown(&k->stat);
}

void probe_latency_unknown(struct probe_latency *l)
{
	memset(l, 0, sizeof *l);
	l->src = PROBE_SRC_UNKNOWN;
	l->ns = NAN;
	stat_unknown(&l->stat);
}

void probe_profile_init(struct probe_profile *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->schema, sizeof p->schema, "%s", PROBE_SCHEMA);
#ifdef LLMCAP_VERSION
	snprintf(p->tool_version, sizeof p->tool_version, "%s", LLMCAP_VERSION);
#endif
	p->seconds = NAN;
	p->cpu.base_mhz = NAN;
	p->cpu.max_mhz = NAN;
	p->cpu.family = p->cpu.model = p->cpu.stepping = -1;
	for (int i = 0; i < PROBE_MAX_PCI; i++) {
		p->topo.pci[i].numa_node = -1;
		p->topo.pci[i].link_gbps = NAN;
	}
	probe_bw_unknown(&p->mem.read1);
	probe_bw_unknown(&p->mem.copy1);
	probe_bw_unknown(&p->mem.triad1);
	probe_bw_unknown(&p->mem.read);
	probe_bw_unknown(&p->mem.copy);
	probe_bw_unknown(&p->mem.triad);
	probe_latency_unknown(&p->mem.latency);
	probe_peak_unknown(&p->compute.fp32_1);
	probe_peak_unknown(&p->compute.fp32);
	probe_peak_unknown(&p->compute.int8_1);
	probe_peak_unknown(&p->compute.int8);
}

void probe_warn(struct probe_profile *p, const char *fmt, ...)
{
	if (!p || p->n_warnings >= PROBE_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->warnings[p->n_warnings], PROBE_WARNING_LEN, fmt, ap);
	va_end(ap);
	p->n_warnings++;
}

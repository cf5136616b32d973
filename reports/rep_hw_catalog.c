/* reports: the hardware catalog as a text table (`llmcap hardware`). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/report.h"

/* Memory for people: "128 GiB unified", "24 GiB GPU + 64 GiB host",
 * "64 GiB host". */
static void fmt_memory(char *b, size_t n, const struct hw_spec *h)
{
	double gpu = 0;
	int unified = 0, any = 0;
	for (int i = 0; i < h->n_accel && i < HW_MAX_ACCEL; i++) {
		const struct hw_accel *a = &h->accel[i];
		if (strcmp(a->kind, "gpu"))
			continue;
		if (a->unified_memory)
			unified = 1;
		else if (isfinite(a->memory_gb)) {
			gpu += a->memory_gb;
			any = 1;
		}
	}
	if (unified)
		snprintf(b, n, "%g GiB unified", h->host.memory_gb);
	else if (any)
		snprintf(b, n, "%g GiB GPU + %g GiB host", gpu, h->host.memory_gb);
	else
		snprintf(b, n, "%g GiB host", h->host.memory_gb);
}

/* The first GPU's bandwidth (else any accelerator's), else the host's. */
static double bandwidth(const struct hw_spec *h)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < h->n_accel && i < HW_MAX_ACCEL; i++)
			if ((pass || !strcmp(h->accel[i].kind, "gpu")) &&
			    isfinite(h->accel[i].memory_bandwidth_gbps))
				return h->accel[i].memory_bandwidth_gbps;
	return h->host.memory_bandwidth_gbps;
}

/* Sum over GPUs; NAN when there is none or one is unknown. */
static double fp16(const struct hw_spec *h)
{
	double s = 0;
	int n = 0;
	for (int i = 0; i < h->n_accel && i < HW_MAX_ACCEL; i++) {
		if (strcmp(h->accel[i].kind, "gpu"))
			continue;
		if (!isfinite(h->accel[i].fp16_tflops))
			return NAN;
		s += h->accel[i].fp16_tflops;
		n++;
	}
	return n ? s : NAN;
}

void rep_hw_catalog_text(const struct hw_spec *const *list, int n, FILE *out)
{
	static const char *const th[] = {"id", "name", "memory", "bandwidth GB/s",
		"FP16 TFLOPS", "price USD", "price date"};
	fprintf(out, "Hardware catalog: %d machines, sorted by price (figures: spec, from each "
		"entry's source;\nFP16 TFLOPS dense, no sparsity; bandwidth of the accelerator, else "
		"of the host;\nprices are list/launch prices; 'unknown' where none was published).\n\n", n);
	struct rep_table *t = rep_table_new(7, th);
	if (!t)
		return;
	for (int c = 3; c < 7; c++)
		rep_table_align(t, c, REP_RIGHT);
	for (int i = 0; i < n; i++) {
		const struct hw_spec *h = list[i];
		char mem[64], bw[32], f16[32], price[32];
		fmt_memory(mem, sizeof mem, h);
		rep_fmt_num(bw, sizeof bw, bandwidth(h), 0);
		rep_fmt_num(f16, sizeof f16, fp16(h), 1);
		rep_fmt_num(price, sizeof price, h->price_usd, 0);
		rep_table_addf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s", h->id, h->name, mem, bw, f16, price,
			       h->price_date[0] ? h->price_date : "unknown");
	}
	rep_table_print(t, out);
	rep_table_delete(t);
	fprintf(out, "\nEach entry's source: llmcap hardware --json. Add your own machines as "
		"llmcap.hardware/1 files\nin $XDG_CONFIG_HOME/llmcap/hardware/ (default "
		"~/.config/llmcap/hardware/).\n");
}

/*
 * Fuzz target: mdb_hw_parse on any bytes (not NUL-terminated). When a text
 * parses, the description is written back with rep_hw_json, and that JSON
 * must parse to the same description (writing and reading are inverse on
 * what the reader accepts,
 * where the writer's rounding of host figures is exact).
 *
 *   make fuzz && build/fuzz/fuzz_hardware_json tests/fuzz/corpus/hardware
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_spec *p = malloc(sizeof *p), *q = malloc(sizeof *q);
	char err[512];
	if (!p || !q)
		goto out;
	if (mdb_hw_parse((const char *)data, size, "fuzz", p, err, sizeof err) != 0) {
		if (!memchr(err, 0, sizeof err) || !strstr(err, "fuzz")) {
			fprintf(stderr, "error message does not name the input\n");
			abort();
		}
		goto out;
	}
	/* the writer rounds host GiB to 0.01 and GB/s to 0.1: compare only
	 * descriptions it writes exactly */
	if (round(p->host.memory_gb * 100) / 100 != p->host.memory_gb ||
	    round(p->host.memory_bandwidth_gbps * 10) / 10 != p->host.memory_bandwidth_gbps ||
	    (isfinite(p->host.fp32_gflops) && round(p->host.fp32_gflops * 10) / 10 != p->host.fp32_gflops) ||
	    (isfinite(p->host.int8_gops) && round(p->host.int8_gops * 10) / 10 != p->host.int8_gops))
		goto out;
	char *json = rep_hw_json(p, (int)(size & 1));
	if (!json)
		goto out;
	if (mdb_hw_parse(json, strlen(json), "fuzz", q, err, sizeof err) != 0 ||
	    strcmp(p->id, q->id) || strcmp(p->name, q->name) || p->n_accel != q->n_accel ||
	    p->host.cores != q->host.cores) {
		fprintf(stderr, "description changed through write and read: %s\n%s\n", err, json);
		abort();
	}
	for (int i = 0; i < p->n_accel; i++)
		if (memcmp(&p->accel[i], &q->accel[i], sizeof p->accel[i]) != 0 &&
		    !(isnan(p->accel[i].fp16_tflops) && isnan(q->accel[i].fp16_tflops))) {
			fprintf(stderr, "accelerator %d changed through write and read\n%s\n", i, json);
			abort();
		}
	free(json);
out:
	free(p);
	free(q);
	return 0;
}

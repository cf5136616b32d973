/*
 * Fuzz target: the outside input of engine calibration on any bytes — a
 * run record (sim_bench_parse, llmcap.enginebench/1) and llama-bench's
 * -o json output (sim_bench_add_llama_bench). Neither may crash; errors
 * name the input. A record that parses is fitted when it is small.
 *
 *   make fuzz && build/fuzz/fuzz_enginebench_json tests/fuzz/corpus/enginebench
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_bench *b = calloc(1, sizeof *b);
	struct mdb_models cat = {0};
	char err[512];
	if (!b)
		return 0;
	if (sim_bench_parse((const char *)data, size, "fuzz", b, err, sizeof err) != 0) {
		if (!memchr(err, 0, sizeof err) || !strstr(err, "fuzz")) {
			fprintf(stderr, "error message does not name the input\n");
			abort();
		}
	} else if (b->n <= 4) {
		struct sim_profile p;
		sim_profile_fit(b, &p, err, sizeof err);
	}
	memset(b, 0, sizeof *b);
	if (mdb_models_load_builtin(&cat, err, sizeof err) == 0 && cat.n > 0) {
		const struct mdb_model *m = mdb_models_find(&cat, "smollm2-135m");
		if (m && sim_bench_add_llama_bench(b, (const char *)data, size, "fuzz", m, QT_Q4_0, err,
						   sizeof err) != 0 && !strstr(err, "fuzz")) {
			fprintf(stderr, "error message does not name the input\n");
			abort();
		}
	}
	mdb_models_free(&cat);
	free(b);
	return 0;
}

/*
 * Fuzz target: the Hugging Face config.json importer
 * (mdb_model_from_hf_config) on any bytes. The input is copied to a buffer
 * of exactly its size so AddressSanitizer catches any read past the end.
 * The error contract is checked (-2 with a message naming the origin); an
 * imported model must be consistent (layer kinds for every layer, counts
 * finite and positive) and is printed as text and JSON.
 *
 *   make fuzz && cp -r tests/fuzz/corpus/hf_config /tmp/hf && \
 *       build/fuzz/fuzz_hf_config_json /tmp/hf
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "broken promise: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	static struct mdb_model m;
	char err[1024];
	err[0] = 0;
	int rc = mdb_model_from_hf_config(buf, size, "fuzz/config.json", &m, err, sizeof err);
	free(buf);
	if (rc != 0) {
		check(rc == -2 || rc == -1, "error code");
		check(strstr(err, "fuzz/config.json") != NULL, "error names the file");
		return 0;
	}
	check(m.n_layer >= 1 && m.n_layer <= MDB_MAX_LAYERS, "layers");
	check((int)strlen(m.layer_kinds) == m.n_layer, "a kind per layer");
	check(m.n_head_kv >= 1 && m.n_head % m.n_head_kv == 0, "kv heads divide heads");
	check(!mdb_model_is_moe(&m) || m.moe.experts_per_token <= m.moe.n_experts, "top-k");
	struct mdb_params p;
	mdb_model_params(&m, &p);
	check(isfinite(p.total) && p.total > 0 && p.active > 0 && p.active <= p.total, "counts");
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		rep_models_text(&m, &p, 1, devnull);
		fclose(devnull);
	}
	free(rep_models_json(&m, &p, 1, (int)(size & 1)));
	return 0;
}

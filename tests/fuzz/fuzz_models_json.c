/*
 * Fuzz target: mdb_model_parse (one model object) and mdb_models_parse (a
 * catalog) on any bytes. A model that parses must have its layer kinds
 * filled for every layer and parameter counts that are finite and
 * non-negative, with active <= total.
 *
 *   make fuzz && build/fuzz/fuzz_models_json tests/fuzz/corpus/models
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct mdb_model *m)
{
	struct mdb_params p;
	struct mdb_qshape s;
	if ((int)strlen(m->layer_kinds) != m->n_layer)
		abort();
	mdb_model_params(m, &p);
	mdb_model_qshape(m, &s);
	if (!isfinite(p.total) || p.total < 0 || p.active < 0 || p.active > p.total * (1 + 1e-12))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct mdb_model *m = malloc(sizeof *m);
	if (!m)
		return 0;
	if (mdb_model_parse((const char *)data, size, "fuzz", m, err, sizeof err) == 0)
		check(m);
	free(m);
	struct mdb_models c = {0, NULL};
	if (mdb_models_parse(&c, (const char *)data, size, "fuzz", err, sizeof err) == 0)
		for (int i = 0; i < c.n; i++)
			check(&c.v[i]);
	mdb_models_free(&c);
	return 0;
}

/*
 * Fuzz target: the GGUF reader (mdb_gguf_open_mem) on any bytes. The
 * input is copied to a buffer of exactly its size so AddressSanitizer
 * catches any read past the end. When a file opens, every accessor is
 * exercised and the result printed as text and JSON; the reader's promises
 * are checked (tensor data inside the file, totals adding up). The model
 * is derived from every file that opens (mdb_model_from_gguf): 0 with a
 * model the catalog's checks pass, or -2 with a message naming the file.
 *
 *   make fuzz && build/fuzz/fuzz_gguf <copy of tests/fuzz/corpus/gguf>
 */
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
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct mdb_gguf *g = NULL;
	char err[1024];
	int rc = mdb_gguf_open_mem(&g, buf, size, "fuzz", err, sizeof err);
	if (rc != 0) {
		check(rc == -2 && g == NULL && strstr(err, "byte ") != NULL, "error contract");
		free(buf);
		return 0;
	}
	uint64_t params = 0, bytes = 0;
	for (int64_t i = 0; i < mdb_gguf_tensor_count(g); i++) {
		const struct mdb_gguf_tensor *t = mdb_gguf_tensor(g, i);
		check(t->n_dims >= 1 && t->n_dims <= 4 && mdb_gguf_type_name(t->type), "tensor info");
		check(mdb_gguf_data_offset(g) + t->offset + t->bytes <= size, "tensor inside file");
		params += t->n_elements;
		bytes += t->bytes;
	}
	check(params == mdb_gguf_total_params(g) && bytes == mdb_gguf_total_bytes(g), "totals");
	for (int64_t i = 0; i < mdb_gguf_kv_count(g); i++) {
		int64_t iv;
		uint64_t uv, count;
		double dv;
		int b;
		size_t len;
		enum mdb_gguf_vtype et;
		(void)mdb_gguf_kv_key(g, i);
		(void)mdb_gguf_kv_int(g, i, &iv);
		(void)mdb_gguf_kv_uint(g, i, &uv);
		(void)mdb_gguf_kv_float(g, i, &dv);
		(void)mdb_gguf_kv_bool(g, i, &b);
		const char *s = mdb_gguf_kv_str(g, i, &len);
		if (s)
			check((const uint8_t *)s + len <= buf + size, "string inside file");
		if (mdb_gguf_kv_arr(g, i, &et, &count) == 0 && count > 0) {
			(void)mdb_gguf_arr_int(g, i, count - 1, &iv);
			(void)mdb_gguf_arr_float(g, i, 0, &dv);
			s = mdb_gguf_arr_str(g, i, count - 1, &len);
			if (s)
				check((const uint8_t *)s + len <= buf + size, "array string inside file");
		}
	}
	struct mdb_gguf_summary sum;
	mdb_gguf_summary(g, &sum);
	struct mdb_gguf_type_total tt[8];
	(void)mdb_gguf_type_totals(g, tt, 8);
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		rep_gguf_text(g, "fuzz.gguf", devnull);
		fclose(devnull);
	}
	free(rep_gguf_json(g, "fuzz.gguf", (int)(size & 1)));

	struct mdb_model *m = malloc(sizeof *m);
	if (m) {
		char merr[1024] = "";
		rc = mdb_model_from_gguf(g, "fuzz.gguf", m, merr, sizeof merr);
		check(rc == 0 || rc == -1 || (rc == -2 && strstr(merr, "fuzz.gguf") != NULL),
		      "model error contract");
		struct mdb_params p;
		if (rc == 0) {
			check(m->n_layer >= 1 && m->n_layer <= MDB_MAX_LAYERS && m->hidden >= 1
			      && m->n_head >= 1 && m->n_head_kv >= 1 && m->vocab >= 1
			      && strlen(m->layer_kinds) == (size_t)m->n_layer, "model fields");
			mdb_model_params(m, &p);
			check(p.total > 0 && p.active > 0 && p.active <= p.total, "model params");
		}
		free(rep_gguf_model_json(g, "fuzz.gguf", rc == 0 ? m : NULL, rc == 0 ? &p : NULL,
					 merr, (int)(size & 2)));
		free(m);
	}
	mdb_gguf_close(g);
	free(buf);
	return 0;
}

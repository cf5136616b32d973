/* model_db/quant: block layouts against the traits table, exact bits per
 * weight, byte counts, name lookup, llama.cpp mix rules, the Llama-3-8B
 * average bits per weight against llama-quantize's published file sizes,
 * sources on every entry, and `llmcap quants` (text and --json). */
#include "test_util.h"

#include <math.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"

static void test_block_sizes_match_traits(void **state)
{
	(void)state;
	static const struct { int id; size_t size; int blck; } b[] = {
		{QT_Q4_0, sizeof(struct block_q4_0), 32},
		{QT_Q4_1, sizeof(struct block_q4_1), 32},
		{QT_Q5_0, sizeof(struct block_q5_0), 32},
		{QT_Q5_1, sizeof(struct block_q5_1), 32},
		{QT_Q8_0, sizeof(struct block_q8_0), 32},
		{QT_Q8_1, sizeof(struct block_q8_1), 32},
		{QT_Q2_K, sizeof(struct block_q2_K), 256},
		{QT_Q3_K, sizeof(struct block_q3_K), 256},
		{QT_Q4_K, sizeof(struct block_q4_K), 256},
		{QT_Q5_K, sizeof(struct block_q5_K), 256},
		{QT_Q6_K, sizeof(struct block_q6_K), 256},
		{QT_Q8_K, sizeof(struct block_q8_K), 256},
		{QT_IQ2_XXS, sizeof(struct block_iq2_xxs), 256},
		{QT_IQ2_XS, sizeof(struct block_iq2_xs), 256},
		{QT_IQ2_S, sizeof(struct block_iq2_s), 256},
		{QT_IQ3_XXS, sizeof(struct block_iq3_xxs), 256},
		{QT_IQ3_S, sizeof(struct block_iq3_s), 256},
		{QT_IQ1_S, sizeof(struct block_iq1_s), 256},
		{QT_IQ1_M, sizeof(struct block_iq1_m), 256},
		{QT_IQ4_NL, sizeof(struct block_iq4_nl), 32},
		{QT_IQ4_XS, sizeof(struct block_iq4_xs), 256},
		{QT_TQ1_0, sizeof(struct block_tq1_0), 256},
		{QT_TQ2_0, sizeof(struct block_tq2_0), 256},
		{QT_MXFP4, sizeof(struct block_mxfp4), 32},
		{QT_NVFP4, sizeof(struct block_nvfp4), 64},
	};
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		const struct mdb_qtraits *t = mdb_qtype(b[i].id);
		assert_non_null(t);
		if ((size_t)t->bytes != b[i].size || t->blck != b[i].blck)
			fail_msg("%s: struct %zu bytes / %d weights, traits %d / %d", t->name,
				 b[i].size, b[i].blck, t->bytes, t->blck);
		assert_true(t->quantized);
	}
}

/* Bits per weight as ggml-common.h's comments state them ("Effectively
 * 2.625 bits per weight", "2.3125 bpw quants", ...) and 8*size/QK. */
static void test_bpw_exact(void **state)
{
	(void)state;
	static const struct { int id; double bpw; } e[] = {
		{QT_F32, 32}, {QT_F16, 16}, {QT_BF16, 16},
		{QT_Q4_0, 4.5}, {QT_Q4_1, 5.0}, {QT_Q5_0, 5.5}, {QT_Q5_1, 6.0},
		{QT_Q8_0, 8.5}, {QT_Q8_1, 9.0},
		{QT_Q2_K, 2.625}, {QT_Q3_K, 3.4375}, {QT_Q4_K, 4.5}, {QT_Q5_K, 5.5},
		{QT_Q6_K, 6.5625}, {QT_Q8_K, 9.125},
		{QT_IQ2_XXS, 2.0625}, {QT_IQ2_XS, 2.3125}, {QT_IQ2_S, 2.5625},
		{QT_IQ3_XXS, 3.0625}, {QT_IQ3_S, 3.4375}, {QT_IQ1_S, 1.5625}, {QT_IQ1_M, 1.75},
		{QT_IQ4_NL, 4.5}, {QT_IQ4_XS, 4.25},
		{QT_TQ1_0, 1.6875}, {QT_TQ2_0, 2.0625}, {QT_MXFP4, 4.25}, {QT_NVFP4, 4.5},
	};
	for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
		double got = mdb_qtype_bpw(e[i].id);
		if (got != e[i].bpw)
			fail_msg("%s: %.6f bpw, expected %.6f", mdb_qtype(e[i].id)->name, got, e[i].bpw);
	}
	assert_true(isnan(mdb_qtype_bpw(4)));
	assert_true(isnan(mdb_qtype_bpw(QT_COUNT)));
	assert_true(isnan(mdb_qtype_bpw(-1)));
}

static void test_bytes_for_n(void **state)
{
	(void)state;
	uint64_t bytes = 0;
	char err[200] = "";
	assert_int_equal(mdb_qtype_bytes(QT_Q4_K, 3 * 256, &bytes, err, sizeof err), 0);
	assert_int_equal(bytes, 3 * 144);
	assert_int_equal(mdb_qtype_bytes(QT_Q4_0, 4096, &bytes, err, sizeof err), 0);
	assert_int_equal(bytes, 4096 / 32 * 18);
	assert_int_equal(mdb_qtype_bytes(QT_F32, 7, &bytes, err, sizeof err), 0);
	assert_int_equal(bytes, 28);
	assert_int_equal(mdb_qtype_bytes(QT_Q4_K, 4096 + 32, &bytes, err, sizeof err), -2);
	assert_non_null(strstr(err, "multiple"));
	assert_int_equal(mdb_qtype_bytes(QT_Q8_0, 33, &bytes, NULL, 0), -2);
	assert_int_equal(mdb_qtype_bytes(5, 32, &bytes, err, sizeof err), -1);
	assert_int_equal(mdb_qtype_bytes(QT_COUNT, 32, &bytes, err, sizeof err), -1);
}

static void test_name_lookup(void **state)
{
	(void)state;
	int n = 0;
	for (int id = 0; id < QT_COUNT; id++) {
		const struct mdb_qtraits *t = mdb_qtype(id);
		if (!t)
			continue;
		n++;
		assert_int_equal(t->id, id);
		assert_ptr_equal(mdb_qtype_by_name(t->name), t);
		char up[32];
		size_t k;
		for (k = 0; t->name[k] && k < sizeof up - 1; k++)
			up[k] = (char)(t->name[k] >= 'a' && t->name[k] <= 'z' ? t->name[k] - 32 : t->name[k]);
		up[k] = 0;
		assert_ptr_equal(mdb_qtype_by_name(up), t);
	}
	assert_int_equal(n, 33);
	for (int id = 31; id <= 33; id++)
		assert_null(mdb_qtype(id));
	assert_null(mdb_qtype_by_name("q4_2"));
	assert_null(mdb_qtype_by_name(""));
	assert_null(mdb_qtype_by_name(NULL));
	assert_int_equal(mdb_qtype_by_name("Q4_K")->id, 12);
	assert_int_equal(mdb_qtype_by_name("MXFP4")->id, 39);
	assert_ptr_equal(mdb_qmix_by_name("q4_k_m"), mdb_qmix_by_name("Q4_K"));
	assert_ptr_equal(mdb_qmix_by_name("Q3_K"), mdb_qmix_by_name("Q3_K_M"));
	assert_null(mdb_qmix_by_name("Q4_K_X"));
}

static void test_use_more_bits(void **state)
{
	(void)state;
	int n = 0;
	for (int i = 0; i < 32; i++)
		n += mdb_use_more_bits(i, 32);
	assert_int_equal(n, 16);
	assert_true(mdb_use_more_bits(0, 32) && mdb_use_more_bits(3, 32));
	assert_false(mdb_use_more_bits(4, 32) || mdb_use_more_bits(5, 32));
	assert_true(mdb_use_more_bits(6, 32) && mdb_use_more_bits(28, 32) && mdb_use_more_bits(31, 32));
}

static int type_of(const char *mix, enum mdb_role r, int layer, const struct mdb_qshape *s)
{
	const struct mdb_qmix *m = mdb_qmix_by_name(mix);
	assert_non_null(m);
	return mdb_qmix_tensor_type(m, r, layer, s);
}

static void test_mix_rules_q4_k_m(void **state)
{
	(void)state;
	struct mdb_qshape s;
	mdb_qshape_llama3_8b(&s);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_OUTPUT, 0, &s), QT_Q6_K);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_TOKEN_EMBD, 0, &s), QT_Q4_K);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_NORM, 3, &s), QT_F32);
	int v6 = 0, d6 = 0;
	for (int i = 0; i < s.n_layer; i++) {
		int v = type_of("Q4_K_M", MDB_ROLE_ATTN_V, i, &s);
		int d = type_of("Q4_K_M", MDB_ROLE_FFN_DOWN, i, &s);
		assert_true(v == QT_Q6_K || v == QT_Q4_K);
		assert_true(d == QT_Q6_K || d == QT_Q4_K);
		v6 += v == QT_Q6_K;
		d6 += d == QT_Q6_K;
		assert_int_equal(type_of("Q4_K_M", MDB_ROLE_ATTN_Q, i, &s), QT_Q4_K);
		assert_int_equal(type_of("Q4_K_M", MDB_ROLE_FFN_UP, i, &s), QT_Q4_K);
	}
	assert_int_equal(v6, 16);
	assert_int_equal(d6, 16);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_ATTN_V, 0, &s), QT_Q6_K);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_ATTN_V, 4, &s), QT_Q4_K);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_FFN_DOWN, 31, &s), QT_Q6_K);
}

static void test_mix_rules_others(void **state)
{
	(void)state;
	struct mdb_qshape s;
	mdb_qshape_llama3_8b(&s);
	for (int r = 0; r < MDB_ROLE_COUNT; r++)
		for (int i = 0; i < s.n_layer; i++) {
			int want = r == MDB_ROLE_NORM ? QT_F32 : QT_Q8_0;
			assert_int_equal(type_of("Q8_0", (enum mdb_role)r, i, &s), want);
			want = r == MDB_ROLE_NORM ? QT_F32 : QT_F16;
			assert_int_equal(type_of("F16", (enum mdb_role)r, i, &s), want);
		}
	assert_int_equal(type_of("Q4_0", MDB_ROLE_OUTPUT, 0, &s), QT_Q6_K);
	assert_int_equal(type_of("Q4_0", MDB_ROLE_FFN_DOWN, 0, &s), QT_Q4_0);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_ATTN_V, 1, &s), QT_Q5_K);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_ATTN_V, 2, &s), QT_Q4_K);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_FFN_DOWN, 1, &s), QT_Q5_K);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_FFN_DOWN, 2, &s), QT_Q4_K);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_ATTN_OUTPUT, 9, &s), QT_Q4_K);
	assert_int_equal(type_of("Q3_K_M", MDB_ROLE_FFN_GATE, 9, &s), QT_Q3_K);
	assert_int_equal(type_of("Q2_K", MDB_ROLE_ATTN_V, 9, &s), QT_Q4_K);  /* n_gqa 4 */
	assert_int_equal(type_of("IQ2_XXS", MDB_ROLE_OUTPUT, 0, &s), QT_Q5_K);
	assert_int_equal(type_of("IQ2_XXS", MDB_ROLE_TOKEN_EMBD, 0, &s), QT_Q2_K);
	assert_int_equal(type_of("IQ3_XS", MDB_ROLE_FFN_UP, 16, &s), QT_IQ3_XXS);
	assert_int_equal(type_of("IQ3_XS", MDB_ROLE_FFN_UP, 0, &s), QT_IQ3_S);
	s.n_head_kv = s.n_head;    /* no GQA */
	assert_int_equal(type_of("Q2_K", MDB_ROLE_ATTN_V, 9, &s), QT_Q3_K);
	assert_int_equal(type_of("IQ4_XS", MDB_ROLE_ATTN_V, 9, &s), QT_IQ4_XS);
	s.n_expert = 8;
	assert_int_equal(type_of("MXFP4_MOE", MDB_ROLE_FFN_DOWN_EXPS, 3, &s), QT_MXFP4);
	assert_int_equal(type_of("MXFP4_MOE", MDB_ROLE_ATTN_Q, 3, &s), QT_Q8_0);
	assert_int_equal(type_of("MXFP4_MOE", MDB_ROLE_OUTPUT, 0, &s), QT_Q8_0);
	assert_int_equal(type_of("Q4_K_M", MDB_ROLE_ATTN_V, 4, &s), QT_Q8_0);
}

/* llama-quantize --help (tools/quantize/quantize.cpp QUANT_OPTIONS) prints
 * each k-/legacy-quant's file size on Llama-3-8B in GiB, e.g. Q4_K_M
 * "4.58G": 4.58 GiB * 8 / 8.03e9 weights = 4.90 bpw. The rules over the
 * 8B shape must land within 1.5 % of every one of them. Q2_K_S is left
 * out: quantize.cpp prints Q2_K's 2.96G for it as well. */
static void test_llama3_8b_sizes_match_published(void **state)
{
	(void)state;
	struct mdb_qshape s;
	mdb_qshape_llama3_8b(&s);
	const struct mdb_qmix *q = mdb_qmix_by_name("Q4_K_M");
	double bpw = mdb_qmix_avg_bpw(q, &s);
	assert_true(bpw > 4.85 && bpw < 4.93);
	double gib = mdb_qmix_bytes(q, &s) / 1073741824.0;
	assert_true(fabs(gib / 4.58 - 1) < 0.01);
	int n, checked = 0;
	const struct mdb_qmix *m = mdb_qmixes(&n);
	for (int i = 0; i < n; i++) {
		if (!m[i].ref_model || strcmp(m[i].ref_model, "Llama-3-8B") || !strcmp(m[i].name, "Q2_K_S"))
			continue;
		double g = mdb_qmix_bytes(&m[i], &s) / 1073741824.0;
		if (fabs(g / m[i].ref_size_gib - 1) > 0.015)
			fail_msg("%s: %.3f GiB from the rules, %.2f published", m[i].name, g,
				 m[i].ref_size_gib);
		checked++;
	}
	assert_int_equal(checked, 14);
	/* tools/perplexity/README.md's Llama-3-8B scoreboard gives the file
	 * size of each mix it measured (the i-quants with an imatrix). */
	checked = 0;
	for (int i = 0; i < n; i++) {
		if (!isfinite(m[i].kld_size_gib))
			continue;
		s.imatrix = m[i].kld_imatrix;
		double g = mdb_qmix_bytes(&m[i], &s) / 1073741824.0;
		if (fabs(g / m[i].kld_size_gib - 1) > 0.015)
			fail_msg("%s: %.3f GiB from the rules, %.2f in the scoreboard", m[i].name, g,
				 m[i].kld_size_gib);
		checked++;
	}
	assert_int_equal(checked, 26);
	s.imatrix = 0;
	/* F16: every 2-D tensor at 16 bits, norms at 32 */
	double f16 = mdb_qmix_avg_bpw(mdb_qmix_by_name("F16"), &s);
	assert_true(f16 > 16 && f16 < 16.01);
}

static void test_every_entry_names_its_source(void **state)
{
	(void)state;
	for (int id = 0; id < QT_COUNT; id++) {
		const struct mdb_qtraits *t = mdb_qtype(id);
		if (t) {
			assert_non_null(strstr(t->source, "ggml-common.h"));
			assert_true(t->layout && *t->layout);
		}
	}
	int n;
	const struct mdb_qmix *m = mdb_qmixes(&n);
	assert_true(n >= 30);
	static const char *const want[] = {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1",
		"Q4_K_S", "Q4_K_M", "Q5_0", "Q5_1", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ2_XXS",
		"IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ1_S", "IQ1_M",
		"IQ4_NL", "IQ4_XS", "MXFP4_MOE", "F16", "BF16", "F32"};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!mdb_qmix_by_name(want[i]))
			fail_msg("mix %s missing", want[i]);
	for (int i = 0; i < n; i++) {
		assert_non_null(strstr(m[i].source, "llama-quant.cpp"));
		assert_true(m[i].rules && *m[i].rules);
		assert_non_null(mdb_qtype(m[i].base));
		assert_non_null(m[i].quality_source);
		if (isfinite(m[i].ppl_delta)) {
			assert_non_null(m[i].ref_model);
			assert_non_null(strstr(m[i].quality_source, "quantize.cpp"));
		} else if (!m[i].ref_model) {
			assert_string_equal(m[i].quality_source, "no published figure found");
		}
	}
	for (int i = 0; i < n; i++) {
		assert_non_null(m[i].kld_source);
		if (isfinite(m[i].kld))
			assert_non_null(strstr(m[i].kld_source, "perplexity/README.md"));
		else
			assert_string_equal(m[i].kld_source, "no published figure found");
	}
	/* KLD orders the k-quants as their size does */
	assert_true(mdb_qmix_by_name("Q8_0")->kld < mdb_qmix_by_name("Q6_K")->kld);
	assert_true(mdb_qmix_by_name("Q4_K_M")->kld < mdb_qmix_by_name("Q4_K_S")->kld);
	assert_true(fabs(mdb_qmix_by_name("IQ4_XS")->kld - 0.037087) < 1e-9);
	/* published: Q4_K_M +0.1754 ppl on Llama-3-8B */
	assert_true(fabs(mdb_qmix_by_name("Q4_K_M")->ppl_delta - 0.1754) < 1e-9);
	assert_string_equal(mdb_qmix_by_name("Q4_K_M")->ref_model, "Llama-3-8B");
	assert_true(isnan(mdb_qmix_by_name("IQ4_XS")->ppl_delta));
}

static void test_formats_and_kv(void **state)
{
	(void)state;
	int n;
	const struct mdb_qformat *f = mdb_qformats(&n);
	for (int i = 0; i < n; i++) {
		double b = f[i].bits + (f[i].group ? (double)(f[i].scale_bits + f[i].zero_bits) / f[i].group : 0);
		if (b != f[i].bpw)
			fail_msg("%s: %.5f != %.5f", f[i].name, b, f[i].bpw);
		assert_true(f[i].source && *f[i].source);
	}
	assert_true(f[0].bpw == 4.5 && f[0].group == 64);   /* mlx 4-bit g64 */
	assert_int_equal(mdb_kvtypes(&n)[0].type, QT_F16);
	assert_true(mdb_kv_bytes_per_elem("f16") == 2.0);
	assert_true(mdb_kv_bytes_per_elem("Q8_0") == 34.0 / 32);
	assert_true(mdb_kv_bytes_per_elem("q4_0") == 18.0 / 32);
	assert_true(isnan(mdb_kv_bytes_per_elem("q3_k")));
}

static void test_cli_quants(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "quants --json");
	assert_int_equal(r.status, 0);
	cJSON *j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "llmcap.quants/1");
	static const char *const arrays[] = {"tensor_types", "file_mixes", "other_formats",
					     "kv_cache_types"};
	for (size_t a = 0; a < 4; a++) {
		cJSON *arr = cJSON_GetObjectItem(j, arrays[a]);
		assert_true(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) > 0);
		cJSON *it;
		cJSON_ArrayForEach(it, arr) {
			cJSON *src = cJSON_GetObjectItem(it, "source");
			if (!cJSON_IsString(src) || !*src->valuestring)
				fail_msg("%s entry without source", arrays[a]);
		}
	}
	int found = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "tensor_types")) {
		if (!strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "q6_K")) {
			assert_true(cJSON_GetObjectItem(it, "bits_per_weight")->valuedouble == 6.5625);
			assert_int_equal(cJSON_GetObjectItem(it, "block_bytes")->valueint, 210);
			found++;
		}
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "file_mixes")) {
		const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
		cJSON *q = cJSON_GetObjectItem(it, "quality");
		assert_true(cJSON_IsString(cJSON_GetObjectItem(q, "source")));
		if (!strcmp(name, "Q4_K_M")) {
			double b = cJSON_GetObjectItem(it, "typical_bpw")->valuedouble;
			assert_true(b > 4.85 && b < 4.93);
			assert_true(cJSON_GetObjectItem(q, "perplexity_increase")->valuedouble > 0.17);
			assert_true(cJSON_GetObjectItem(q, "kl_divergence")->valuedouble > 0.03);
			found++;
		}
		if (!strcmp(name, "IQ4_XS")) {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(q, "perplexity_increase")));
			found++;
		}
	}
	assert_int_equal(found, 3);
	cJSON_Delete(j);
	tu_run_free(&r);

	r = tu_llmcap("", "quants");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "q4_K"));
	assert_non_null(strstr(r.out, "Q4_K_M"));
	assert_non_null(strstr(r.out, "mlx-4bit-g64"));
	assert_non_null(strstr(r.out, "KV-cache"));
	assert_non_null(strstr(r.out, "Sources"));
	assert_non_null(strstr(r.out, "quantize.cpp"));
	tu_run_free(&r);

	r = tu_llmcap("", "quants --bogus");
	assert_int_equal(r.status, 2);
	tu_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_sizes_match_traits),
		cmocka_unit_test(test_bpw_exact),
		cmocka_unit_test(test_bytes_for_n),
		cmocka_unit_test(test_name_lookup),
		cmocka_unit_test(test_use_more_bits),
		cmocka_unit_test(test_mix_rules_q4_k_m),
		cmocka_unit_test(test_mix_rules_others),
		cmocka_unit_test(test_llama3_8b_sizes_match_published),
		cmocka_unit_test(test_every_entry_names_its_source),
		cmocka_unit_test(test_formats_and_kv),
		cmocka_unit_test(test_cli_quants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Synthetic GGUF files: written atomically, read back by the GGUF reader
 * as the same architecture, and run by the forward pass.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "model_db/model_db.h"
#include "tests/test_util.h"

static void test_synth_roundtrip(void **state)
{
	(void)state;
	struct mdb_models c;
	char err[512] = "", dir[256], path[400];
	assert_int_equal(mdb_models_load_builtin(&c, err, sizeof err), 0);
	const struct mdb_model *m = mdb_models_find(&c, "smollm2-135m");
	assert_non_null(m);
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/s.gguf", dir);
	assert_int_equal(kern_write_synth_gguf(path, m, QT_Q8_0, 3, 7, err, sizeof err), 0);
	assert_int_equal(tu_count_entries(dir), 1); /* no temporary file left */

	struct mdb_gguf *g;
	assert_int_equal(mdb_gguf_open(&g, path, err, sizeof err), 0);
	struct mdb_model d;
	if (mdb_model_from_gguf(g, path, &d, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(d.n_layer, 3);
	assert_int_equal(d.hidden, m->hidden);
	assert_int_equal(d.n_head, m->n_head);
	assert_int_equal(d.n_head_kv, m->n_head_kv);
	assert_int_equal(d.ffn, m->ffn);
	assert_int_equal(d.vocab, m->vocab);
	assert_int_equal(d.tied_embd, m->tied_embd);
	struct mdb_params p;
	mdb_model_params(&d, &p);
	assert_true(fabs(p.total - (double)mdb_gguf_total_params(g)) < 1);
	mdb_gguf_close(g);

	struct kern_table t;
	kern_table_init(&t, kern_cpu_features());
	struct kern_model *km;
	assert_int_equal(kern_model_open(&km, path, &t, 128, QT_F16, err, sizeof err), 0);
	int32_t toks[8] = {5, 300, 301, 302, 303, 304, 305, 306};
	float *lg = malloc(sizeof(float) * (size_t)m->vocab);
	assert_int_equal(kern_model_eval(km, NULL, toks, 8, 0, lg, err, sizeof err), 0);
	for (int i = 0; i < m->vocab; i += 97)
		assert_true(isfinite(lg[i]));
	assert_int_equal(kern_model_eval(km, NULL, toks, 1, 0, lg, err, sizeof err), 0);
	assert_int_equal(kern_model_n_past(km), 9);
	free(lg);
	kern_model_close(km);
	tu_rmrf(dir);
	mdb_models_free(&c);
}

static void test_synth_refuses(void **state)
{
	(void)state;
	struct mdb_models c;
	char err[512] = "", dir[256], path[400];
	assert_int_equal(mdb_models_load_builtin(&c, err, sizeof err), 0);
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/x.gguf", dir);
	/* shared experts (Llama 4) and latent attention (DeepSeek-V3) have no
	 * llama / qwen layout */
	assert_int_equal(kern_write_synth_gguf(path, mdb_models_find(&c, "llama-4-scout"), QT_Q4_0, 2, 1,
					       err, sizeof err), -2);
	assert_non_null(strstr(err, "llama-4-scout"));
	assert_non_null(strstr(err, "shared experts"));
	assert_int_equal(kern_write_synth_gguf(path, mdb_models_find(&c, "deepseek-v3"), QT_Q4_0, 2, 1,
					       err, sizeof err), -2);
	assert_non_null(strstr(err, "mla"));
	/* an unwritable place: -1, nothing left behind */
	snprintf(path, sizeof path, "%s/no/such/dir/x.gguf", dir);
	assert_int_equal(kern_write_synth_gguf(path, mdb_models_find(&c, "llama-3.2-1b"), QT_Q4_0, 1, 1,
					       err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot write"));
	assert_int_equal(tu_count_entries(dir), 0);
	tu_rmrf(dir);
	mdb_models_free(&c);
}

/* MoE shapes (tests/fixtures/kernels/tiny-*.config.json): written as
 * qwen3moe and as llama with experts (Mixtral), read back as the same
 * model, run by the forward pass. */
static void test_synth_moe(void **state)
{
	(void)state;
	static const char *const cfgs[2] = {"tests/fixtures/kernels/tiny-qwen3moe.config.json",
					    "tests/fixtures/kernels/tiny-mixtral.config.json"};
	static const char *const archs[2] = {"qwen3moe", "llama"};
	char err[512] = "", dir[256], path[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/m.gguf", dir);
	for (int k = 0; k < 2; k++) {
		char *text = tu_slurp(cfgs[k]);
		assert_non_null(text);
		struct mdb_model m;
		if (mdb_model_from_hf_config(text, strlen(text), cfgs[k], &m, err, sizeof err) != 0)
			fail_msg("%s: %s", cfgs[k], err);
		free(text);
		assert_true(mdb_model_is_moe(&m));
		assert_int_equal(kern_write_synth_gguf(path, &m, QT_Q4_0, 0, 5, err, sizeof err), 0);
		struct mdb_gguf *g;
		assert_int_equal(mdb_gguf_open(&g, path, err, sizeof err), 0);
		struct mdb_model d;
		if (mdb_model_from_gguf(g, path, &d, err, sizeof err) != 0)
			fail_msg("%s", err);
		assert_int_equal(d.n_layer, m.n_layer);
		assert_int_equal(d.moe.n_experts, m.moe.n_experts);
		assert_int_equal(d.moe.experts_per_token, m.moe.experts_per_token);
		assert_int_equal(d.moe.expert_ffn, m.moe.expert_ffn);
		assert_int_equal(d.qk_norm, m.qk_norm);
		assert_int_equal(d.ffn, m.ffn);
		struct mdb_params p, pd;
		mdb_model_params(&m, &p);
		mdb_model_params(&d, &pd);
		assert_true(fabs(p.total - (double)mdb_gguf_total_params(g)) < 1);
		assert_true(fabs(p.active - pd.active) < 1);
		mdb_gguf_close(g);

		struct kern_table t;
		kern_table_init(&t, kern_cpu_features());
		struct kern_model *km;
		if (kern_model_open(&km, path, &t, 64, QT_F16, err, sizeof err) != 0)
			fail_msg("%s", err);
		const struct kern_model_cfg *kc = kern_model_config(km);
		assert_string_equal(kc->arch, archs[k]);
		assert_int_equal(kc->n_expert, m.moe.n_experts);
		assert_int_equal(kc->n_expert_used, m.moe.experts_per_token);
		assert_int_equal(kc->n_ff_exp, m.moe.expert_ffn);
		int32_t toks[8] = {5, 300, 301, 302, 303, 304, 305, 306};
		float *lg = malloc(sizeof(float) * (size_t)m.vocab);
		assert_int_equal(kern_model_eval(km, NULL, toks, 8, 0, lg, err, sizeof err), 0);
		for (int i = 0; i < m.vocab; i++)
			assert_true(isfinite(lg[i]));
		assert_int_equal(kern_model_eval(km, NULL, toks, 1, 0, lg, err, sizeof err), 0);
		free(lg);
		kern_model_close(km);
	}
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synth_roundtrip),
		cmocka_unit_test(test_synth_moe),
		cmocka_unit_test(test_synth_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

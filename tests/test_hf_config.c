/* tests: the Hugging Face config.json importer (model_db/hf_config.c) and
 * `llmcap inspect config.json`. Real configs (tests/fixtures/hf/) are
 * imported and their parameter counts checked against the built-in catalog
 * entry of the same model, which cross-checks both. */
#include <math.h>

#include "test_util.h"
#include "model_db/model_db.h"

#define FIX "tests/fixtures/hf/"

static int import_text(const char *text, struct mdb_model *m, char *err, size_t n)
{
	return mdb_model_from_hf_config(text, strlen(text), "t/config.json", m, err, n);
}

static void import_file(const char *path, struct mdb_model *m)
{
	char *text = tu_slurp(path);
	char err[1024] = "";
	assert_true(text[0] != 0);
	int rc = mdb_model_from_hf_config(text, strlen(text), path, m, err, sizeof err);
	if (rc)
		fail_msg("%s: %s", path, err);
	free(text);
}

static void test_fixtures_match_catalog(void **state)
{
	(void)state;
	static const char *const ids[] = {"llama-3.1-8b", "qwen3-30b-a3b", "mixtral-8x7b",
		"deepseek-v3", "gemma-2-9b", "gpt-oss-20b", "gemma-3-12b", "phi-3.5-mini"};
	struct mdb_models c;
	char err[512] = "";
	assert_int_equal(mdb_models_load_builtin(&c, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, FIX "%s.json", ids[i]);
		struct mdb_model m;
		import_file(path, &m);
		assert_string_equal(m.id, ids[i]);
		const struct mdb_model *ref = mdb_models_find(&c, ids[i]);
		assert_non_null(ref);
		struct mdb_params p, q;
		mdb_model_params(&m, &p);
		mdb_model_params(ref, &q);
		double d = fabs(p.total / q.total - 1), da = fabs(p.active / q.active - 1);
		if (d > 0.001 || da > 0.001)
			fail_msg("%s: imported %.6gB total / %.6gB active, catalog %.6gB / %.6gB",
				 ids[i], p.total / 1e9, p.active / 1e9, q.total / 1e9, q.active / 1e9);
		assert_int_equal(m.n_layer, ref->n_layer);
		assert_int_equal(m.attn, ref->attn);
		assert_string_equal(m.layer_kinds, ref->layer_kinds);
		assert_int_equal(m.sliding_window, ref->sliding_window);
		assert_int_equal(m.moe.n_experts, ref->moe.n_experts);
		assert_int_equal((int)m.context, (int)ref->context);
		assert_string_equal(m.arch, ref->arch);
		assert_true(isnan(m.published_params));
	}
	mdb_models_free(&c);
}

static void test_mapping_details(void **state)
{
	(void)state;
	struct mdb_model m;
	import_file(FIX "gpt-oss-20b.json", &m);
	assert_true(m.qkv_bias && m.o_bias && m.moe.expert_bias);
	assert_int_equal(m.moe.experts_per_token, 4);
	assert_int_equal(m.moe.expert_ffn, 2880);
	assert_string_equal(m.family, "gpt-oss");
	import_file(FIX "gemma-2-9b.json", &m);
	assert_true(m.tied_embd);               /* default of gemma2 */
	assert_int_equal(m.norms_per_layer, 4);
	assert_int_equal(m.layer_kinds[0], 'S');
	assert_int_equal(m.layer_kinds[1], 'G');
	import_file(FIX "gemma-3-12b.json", &m);
	assert_string_equal(m.layer_kinds + 42, "SSSSSG");
	assert_int_equal(m.vocab, 262208);      /* Gemma3TextConfig default */
	import_file(FIX "deepseek-v3.json", &m);
	assert_int_equal(m.attn, MDB_ATTN_MLA);
	assert_int_equal(m.moe.first_k_dense, 3);
	assert_int_equal(m.moe.n_shared_experts, 1);
	assert_int_equal(m.mla.q_lora_rank, 1536);
	import_file(FIX "phi-3.5-mini.json", &m);   /* window 262144 > context: global */
	assert_int_equal(m.attn, MDB_ATTN_MHA);
	assert_int_equal(m.sliding_window, 0);
	import_file(FIX "mixtral-8x7b.json", &m);   /* sliding_window null: none */
	assert_int_equal(m.attn, MDB_ATTN_GQA);

	char err[1024];
	/* mistral with a window: every layer slides */
	const char *mis = "{\"model_type\":\"mistral\",\"num_hidden_layers\":4,\"hidden_size\":256,"
		"\"num_attention_heads\":8,\"num_key_value_heads\":2,\"intermediate_size\":512,"
		"\"vocab_size\":1000,\"max_position_embeddings\":32768,\"sliding_window\":4096}";
	assert_int_equal(import_text(mis, &m, err, sizeof err), 0);
	assert_string_equal(m.layer_kinds, "SSSS");
	assert_int_equal(m.attn, MDB_ATTN_SLIDING);
	assert_string_equal(m.id, "t");
	/* qwen2: q/k/v biases; qwen2_moe shared expert; mlp_only_layers */
	const char *q2 = "{\"model_type\":\"qwen2_moe\",\"num_hidden_layers\":4,\"hidden_size\":256,"
		"\"num_attention_heads\":8,\"intermediate_size\":512,\"vocab_size\":1000,"
		"\"max_position_embeddings\":4096,\"num_experts\":8,\"num_experts_per_tok\":2,"
		"\"moe_intermediate_size\":64,\"shared_expert_intermediate_size\":256,"
		"\"mlp_only_layers\":[0],\"decoder_sparse_step\":1,\"sliding_window\":4096,"
		"\"use_sliding_window\":false}";
	assert_int_equal(import_text(q2, &m, err, sizeof err), 0);
	assert_true(m.qkv_bias && !m.o_bias);
	assert_int_equal(m.moe.n_shared_experts, 1);
	assert_int_equal(m.moe.shared_ffn, 256);
	assert_false(mdb_model_layer_is_moe(&m, 0));
	assert_true(mdb_model_layer_is_moe(&m, 1));
	assert_int_equal(m.attn, MDB_ATTN_MHA);
	/* rope_theta under rope_parameters (newer transformers) */
	const char *rp = "{\"model_type\":\"llama\",\"num_hidden_layers\":2,\"hidden_size\":128,"
		"\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":100,"
		"\"max_position_embeddings\":2048,\"rope_parameters\":{\"rope_theta\":123456}}";
	assert_int_equal(import_text(rp, &m, err, sizeof err), 0);
	assert_true(m.rope_theta == 123456);
}

struct bad {
	const char *text;
	const char *want;  /* in the error */
};

static void test_malformed(void **state)
{
	(void)state;
#define BASE "\"num_hidden_layers\":2,\"hidden_size\":128,\"num_attention_heads\":4," \
	"\"intermediate_size\":256,\"vocab_size\":100,\"max_position_embeddings\":2048"
	static const struct bad bad[] = {
		{"not json at all", "not valid JSON"},
		{"", "not valid JSON"},
		{"[1,2,3]", "must be a JSON object"},
		{"{\"model_type\":\"xyz\"," BASE "}", "model_type 'xyz' is not supported; supported: llama"},
		{"{\"model_type\":\"bert\",\"architectures\":[\"BertModel\"]}", "BertModel"},
		{"{" BASE "}", "'model_type': missing"},
		{"{\"model_type\":7," BASE "}", "'model_type': must be a string"},
		{"{\"model_type\":\"llama\",\"hidden_size\":128,\"num_attention_heads\":4,"
		 "\"intermediate_size\":256,\"vocab_size\":100,\"max_position_embeddings\":2048}",
		 "'num_hidden_layers': missing"},
		{"{\"model_type\":\"llama\",\"num_hidden_layers\":\"32\",\"hidden_size\":128}",
		 "'num_hidden_layers': must be a number, not a string"},
		{"{\"model_type\":\"llama\",\"num_hidden_layers\":2.5," BASE "}", "num_hidden_layers"},
		{"{\"model_type\":\"llama\",\"num_key_value_heads\":3," BASE "}",
		 "'num_key_value_heads': 3 must divide num_attention_heads (4)"},
		{"{\"model_type\":\"llama\",\"num_hidden_layers\":1e300,\"hidden_size\":128}",
		 "'num_hidden_layers'"},
		{"{\"model_type\":\"llama\",\"vocab_size\":1e18,\"num_hidden_layers\":2,"
		 "\"hidden_size\":128,\"num_attention_heads\":4,\"intermediate_size\":256}",
		 "'vocab_size'"},
		{"{\"model_type\":\"llama\",\"num_hidden_layers\":100000," BASE "}", "num_hidden_layers"},
		{"{\"model_type\":\"llama\",\"tie_word_embeddings\":\"yes\"," BASE "}",
		 "'tie_word_embeddings': must be true or false"},
		{"{\"model_type\":\"llama\",\"hidden_size\":130,\"num_hidden_layers\":2,"
		 "\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":100,"
		 "\"max_position_embeddings\":2048}", "'head_dim': missing"},
		{"{\"model_type\":\"mixtral\",\"num_local_experts\":4,\"num_experts_per_tok\":8," BASE "}",
		 "'num_experts_per_tok': 8 is more than num_local_experts (4)"},
		{"{\"model_type\":\"qwen3_moe\",\"num_experts\":8,\"num_experts_per_tok\":2," BASE "}",
		 "'moe_intermediate_size': missing"},
		{"{\"model_type\":\"gpt_oss\",\"num_local_experts\":4,\"num_experts_per_tok\":2,"
		 "\"layer_types\":[\"full_attention\"],\"sliding_window\":128," BASE "}",
		 "'layer_types': has 1 entries"},
		{"{\"model_type\":\"gpt_oss\",\"num_local_experts\":4,\"num_experts_per_tok\":2,"
		 "\"layer_types\":[\"linear_attention\",\"x\"],\"sliding_window\":128," BASE "}",
		 "\"linear_attention\" is not supported"},
		{"{\"model_type\":\"gemma3\"," BASE "}", "'text_config': missing"},
		{"{\"model_type\":\"gemma3\",\"text_config\":{\"hidden_size\":128}}",
		 "'text_config.num_hidden_layers': missing"},
		{"{\"model_type\":\"deepseek_v3\",\"n_routed_experts\":8,\"num_experts_per_tok\":2,"
		 "\"moe_intermediate_size\":64,\"kv_lora_rank\":32,\"qk_nope_head_dim\":16,"
		 "\"qk_rope_head_dim\":8,\"v_head_dim\":16,\"first_k_dense_replace\":2," BASE "}",
		 "'first_k_dense_replace': 2 leaves no MoE layer"},
		{"{\"model_type\":\"deepseek_v3\",\"n_routed_experts\":8,\"num_experts_per_tok\":2,"
		 "\"moe_intermediate_size\":64," BASE "}", "'kv_lora_rank': missing"},
		{"{\"model_type\":\"qwen2\",\"use_sliding_window\":true,\"max_window_layers\":0,"
		 "\"sliding_window\":null," BASE "}", "'sliding_window': missing or null"},
		{"{\"model_type\":\"llama\",\"rope_theta\":\"big\"," BASE "}", "'rope_theta': must be a number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mdb_model m;
		char err[1024] = "";
		int rc = mdb_model_from_hf_config(bad[i].text, strlen(bad[i].text), "bad/config.json",
						  &m, err, sizeof err);
		if (rc != -2 || !strstr(err, bad[i].want) || !strstr(err, "bad/config.json"))
			fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err, bad[i].want);
	}
	/* no err buffer: still -2, no crash */
	struct mdb_model m;
	assert_int_equal(mdb_model_from_hf_config("{}", 2, NULL, &m, NULL, 0), -2);
}

static void test_cli_inspect_config(void **state)
{
	(void)state;
	struct tu_run r = tu_llmcap("", "inspect " FIX "llama-3.1-8b.json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "LlamaForCausalLM"));
	assert_non_null(strstr(r.out, "8.03B"));
	assert_non_null(strstr(r.out, "llama-3.1-8b"));
	assert_string_equal(r.err, "");
	tu_run_free(&r);

	r = tu_llmcap("", "inspect --json " FIX "llama-3.1-8b.json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"schema\":\t\"llmcap.models/1\""));
	assert_non_null(strstr(r.out, "\"arch\":\t\"LlamaForCausalLM\""));
	assert_non_null(strstr(r.out, "\"total_params\":\t8030261248"));
	assert_string_equal(r.err, "");
	tu_run_free(&r);

	char dir[256], path[300], args[400];
	assert_int_equal(tu_tmpdir(dir, sizeof dir), 0);
	/* decided by content: a config.json without the .json name still reads */
	snprintf(path, sizeof path, "%s/cfg", dir);
	char *text = tu_slurp(FIX "gemma-2-9b.json");
	tu_write_file(path, text);
	free(text);
	snprintf(args, sizeof args, "inspect '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Gemma2ForCausalLM"));
	tu_run_free(&r);

	snprintf(path, sizeof path, "%s/config.json", dir);
	tu_write_file(path, "{\"model_type\":\"llama\",\"num_hidden_layers\":\"x\"}");
	snprintf(args, sizeof args, "inspect '%s'", path);
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "num_hidden_layers"));
	assert_non_null(strstr(r.err, path));
	tu_run_free(&r);

	tu_write_file(path, "{\"model_type\":\"xyz\"}");
	r = tu_llmcap("", args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "model_type 'xyz' is not supported"));
	tu_run_free(&r);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_match_catalog),
		cmocka_unit_test(test_mapping_details),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cli_inspect_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

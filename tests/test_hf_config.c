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
		"deepseek-v3", "gemma-2-9b", "gpt-oss-20b", "gemma-3-12b", "phi-3.5-mini",
		"granite-4.0-h-tiny", "qwen3-next-80b-a3b"};
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
		assert_int_equal(m.vocab, ref->vocab);
		assert_int_equal(m.tied_embd, ref->tied_embd);
		assert_int_equal(m.n_head_kv, ref->n_head_kv);
		assert_int_equal(m.qk_norm, ref->qk_norm);
		assert_int_equal(m.attn_gate, ref->attn_gate);
		assert_true(isnan(m.rope_theta) ? isnan(ref->rope_theta)
			    : m.rope_theta == ref->rope_theta);
		assert_int_equal(m.moe.n_shared_experts, ref->moe.n_shared_experts);
		assert_int_equal(m.moe.shared_ffn, ref->moe.shared_ffn);
		assert_int_equal(m.lin.kind, ref->lin.kind);
		assert_int_equal(m.lin.k_heads, ref->lin.k_heads);
		assert_int_equal(m.lin.v_heads, ref->lin.v_heads);
		assert_int_equal(m.lin.v_head_dim, ref->lin.v_head_dim);
		assert_int_equal(m.lin.state_size, ref->lin.state_size);
		assert_int_equal(m.lin.groups, ref->lin.groups);
		assert_int_equal(m.lin.conv_kernel, ref->lin.conv_kernel);
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

	/* Granite 4.0-H: Mamba-2 layers with attention every tenth, NoPE,
	 * routed experts beside a shared expert in every layer */
	import_file(FIX "granite-4.0-h-tiny.json", &m);
	assert_int_equal(m.attn, MDB_ATTN_HYBRID);
	assert_string_equal(m.layer_kinds, "MMMMMGMMMMMMMMMGMMMMMMMMMGMMMMMMMMMGMMMM");
	assert_int_equal(mdb_model_count_layers(&m, MDB_LAYER_MAMBA2), 36);
	assert_int_equal(m.lin.kind, MDB_LINEAR_MAMBA2);
	assert_int_equal(m.lin.v_heads, 48);
	assert_int_equal(m.lin.v_head_dim, 64);   /* 48 x 64 = mamba_expand 2 x 1536 */
	assert_int_equal(m.lin.state_size, 128);
	assert_true(isnan(m.rope_theta));
	assert_int_equal(m.head_dim, 128);
	assert_int_equal(m.moe.expert_ffn, 512);
	assert_int_equal(m.moe.n_shared_experts, 1);
	assert_int_equal(m.moe.shared_ffn, 1024);
	assert_int_equal(m.ffn, 0);
	assert_true(mdb_model_layer_is_moe(&m, 5) && mdb_model_layer_is_moe(&m, 0));
	assert_string_equal(m.family, "granitehybrid");
	/* Qwen3-Next: Gated DeltaNet 3 : 1 gated attention from full_attention_interval */
	import_file(FIX "qwen3-next-80b-a3b.json", &m);
	assert_int_equal(m.attn, MDB_ATTN_HYBRID);
	assert_int_equal(mdb_model_count_layers(&m, MDB_LAYER_DELTANET), 36);
	assert_int_equal(m.layer_kinds[3], 'G');
	assert_int_equal(m.layer_kinds[4], 'D');
	assert_true(m.attn_gate && m.qk_norm && !m.qkv_bias);
	assert_int_equal(m.lin.kind, MDB_LINEAR_GATED_DELTANET);
	assert_int_equal(m.lin.k_heads, 16);
	assert_int_equal(m.lin.v_heads, 32);
	assert_int_equal(m.moe.n_experts, 512);
	assert_int_equal(m.moe.shared_ffn, 512);
	assert_true(m.rope_theta == 1e7);

	/* Qwen3-Next with layer_types: the tiny test model on the Hub,
	 * huggingface.co/ngxson/qwen3_next_tiny_test/blob/main/config.json
	 * (its keys that bear on the architecture, verbatim) */
	const char *nt = "{\"architectures\":[\"Qwen3NextForCausalLM\"],\"attention_bias\":false,"
		"\"decoder_sparse_step\":1,\"full_attention_interval\":4,\"head_dim\":128,"
		"\"hidden_size\":1024,\"intermediate_size\":2048,\"layer_types\":[\"linear_attention\","
		"\"linear_attention\",\"linear_attention\",\"full_attention\",\"linear_attention\","
		"\"linear_attention\",\"linear_attention\",\"full_attention\",\"linear_attention\","
		"\"linear_attention\"],\"linear_conv_kernel_dim\":4,\"linear_key_head_dim\":128,"
		"\"linear_num_key_heads\":8,\"linear_num_value_heads\":16,\"linear_value_head_dim\":128,"
		"\"max_position_embeddings\":8192,\"mlp_only_layers\":[],\"model_type\":\"qwen3_next\","
		"\"moe_intermediate_size\":256,\"num_attention_heads\":8,\"num_experts\":4,"
		"\"num_experts_per_tok\":2,\"num_hidden_layers\":10,\"num_key_value_heads\":2,"
		"\"rope_theta\":10000.0,\"shared_expert_intermediate_size\":256,"
		"\"tie_word_embeddings\":false,\"vocab_size\":151936}";
	assert_int_equal(import_text(nt, &m, err, sizeof err), 0);
	assert_string_equal(m.layer_kinds, "DDDGDDDGDD");
	assert_int_equal(m.lin.k_heads, 8);
	assert_int_equal(m.lin.v_heads, 16);
	assert_int_equal(m.moe.n_experts, 4);
	/* its parameters by hand: DeltaNet, attention, experts, embeddings */
	struct mdb_params p;
	mdb_model_params(&m, &p);
	double h = 1024, kd = 8 * 128, vd = 16 * 128;
	double dn = h * kd * 2 + h * vd * 2 + h * 2 * 16 + vd * h + (2 * kd + vd) * 4 + 2 * 16 + 128;
	double at = h * 8 * 128 * 2 + 2 * h * 2 * 128 + 8 * 128 * h + 2 * 128;
	double moe = 4 * 3 * h * 256 + 3 * h * 256 + 4 * h;
	double want = 8 * dn + 2 * at + 10 * (moe + 2 * h) + 2 * 151936 * h + h;
	if (fabs(p.total - want) > 0.5)
		fail_msg("qwen3_next tiny: %.0f parameters, by hand %.0f", p.total, want);

	/* a dense Granite 4.0-H (num_local_experts 0: the shared MLP is the
	 * FFN), shaped after granite-4.0-h-micro as a Hub fine-tune's
	 * config.json gives it (huggingface.co/anuj6316/granite), 10 layers */
	const char *gd = "{\"architectures\":[\"GraniteMoeHybridForCausalLM\"],\"hidden_size\":2048,"
		"\"intermediate_size\":8192,\"layer_types\":[\"mamba\",\"mamba\",\"mamba\",\"mamba\","
		"\"mamba\",\"attention\",\"mamba\",\"mamba\",\"mamba\",\"mamba\"],\"mamba_d_conv\":4,"
		"\"mamba_d_head\":64,\"mamba_d_state\":128,\"mamba_expand\":2,\"mamba_n_groups\":1,"
		"\"mamba_n_heads\":64,\"max_position_embeddings\":131072,\"model_type\":\"granitemoehybrid\","
		"\"num_attention_heads\":32,\"num_experts_per_tok\":0,\"num_hidden_layers\":10,"
		"\"num_key_value_heads\":8,\"num_local_experts\":0,\"position_embedding_type\":\"nope\","
		"\"shared_intermediate_size\":8192,\"tie_word_embeddings\":true,\"vocab_size\":100352}";
	assert_int_equal(import_text(gd, &m, err, sizeof err), 0);
	assert_false(mdb_model_is_moe(&m));
	assert_int_equal(m.ffn, 8192);
	assert_int_equal(m.lin.v_head_dim, 64);
	mdb_model_params(&m, &p);
	h = 2048;
	double di = 4096, bc = 2 * 128, H = 64;
	double mb = h * (2 * di + bc + H) + di * h + (di + bc) * 5 + 3 * H + di;
	at = h * (2048 + 512 + 512 + 2048);
	want = 9 * mb + at + 10 * (3 * h * 8192 + 2 * h) + 100352 * h + h;
	if (fabs(p.total - want) > 0.5)
		fail_msg("granite dense: %.0f parameters, by hand %.0f", p.total, want);
	/* RoPE only when position_embedding_type says "rope" (value here ours) */
	const char *gr = "{\"model_type\":\"granitemoehybrid\",\"num_hidden_layers\":2,\"hidden_size\":128,"
		"\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":100,"
		"\"max_position_embeddings\":2048,\"num_local_experts\":0,\"shared_intermediate_size\":256,"
		"\"layer_types\":[\"attention\",\"attention\"],\"position_embedding_type\":\"rope\","
		"\"rope_theta\":10000000}";
	assert_int_equal(import_text(gr, &m, err, sizeof err), 0);
	assert_true(m.rope_theta == 1e7);
	assert_int_equal(m.attn, MDB_ATTN_MHA);
	assert_int_equal(m.lin.kind, MDB_LINEAR_NONE);
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
		{"{\"model_type\":\"qwen3_next\",\"num_experts\":8,\"num_experts_per_tok\":2,"
		 "\"moe_intermediate_size\":64,\"layer_types\":[\"mamba\",\"full_attention\"]," BASE "}",
		 "\"mamba\" is not supported; supported: full_attention, linear_attention"},
		{"{\"model_type\":\"qwen3_next\",\"num_experts\":8,\"num_experts_per_tok\":2,"
		 "\"moe_intermediate_size\":64,\"full_attention_interval\":2,\"linear_num_key_heads\":3,"
		 "\"linear_num_value_heads\":4," BASE "}",
		 "'linear_num_value_heads': 4 is not a multiple of linear_num_key_heads (3)"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":1," BASE "}",
		 "'num_local_experts': 1 is not supported"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":0,\"mamba_n_heads\":4,"
		 "\"mamba_d_head\":32," BASE "}",
		 "'mamba_d_head': 32 x mamba_n_heads (4) is not mamba_expand x hidden_size (256)"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":0,\"mamba_n_heads\":3," BASE "}",
		 "'mamba_n_heads': 3 does not divide mamba_expand x hidden_size (256)"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":0,\"mamba_n_heads\":4,"
		 "\"mamba_proj_bias\":true," BASE "}", "'mamba_proj_bias': true is not supported"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":0,\"mamba_n_heads\":4,"
		 "\"layer_types\":[\"mamba\",\"linear_attention\"]," BASE "}",
		 "supported: attention, mamba"},
		{"{\"model_type\":\"granitemoehybrid\",\"num_local_experts\":0,\"mamba_n_heads\":4,"
		 "\"position_embedding_type\":7," BASE "}", "'position_embedding_type': must be a string"},
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

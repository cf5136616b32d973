/* cli: `llmcap verify` — the simulator predicts, llmcap's kernels run the
 * model (a real GGUF file, or a synthetic file of a catalog model's shape
 * with random weights), and both are printed with the error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/resolve.h"
#include "kernels/kern_cuda.h"
#include "kernels/kernels.h"
#include "reports/report.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MAX_RUNS 15

/* The timed runs' tokens/s, prefill and decode (median, best = max,
 * worst = min by probe_stat_compute). */
struct vres {
	struct probe_stat pp, tg;
	int n;
};

static double err_pct(double pred, double meas)
{
	return isfinite(pred) && meas > 0 ? 100.0 * (pred - meas) / meas : NAN;
}

static void jnum(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static int verify_main(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *model = NULL, *quant = NULL, *gguf = NULL, *save = NULL, *device = NULL;
	const char *engine = NULL, *llama_bench = NULL;
	int ctx = 2048, prompt = 128, gen = 32, threads = 0, runs = 3, layers = 0, json = 0, help = 0;
	const struct cli_opt opts[] = {
		{"model", CLI_STR, &model, "M", "catalog id (a synthetic file of its shape), a .gguf or a config.json"},
		{"quant", CLI_STR, &quant, "Q", "tensor type of a synthetic file: Q4_0 (default), Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16"},
		{"gguf", CLI_STR, &gguf, "FILE", "a real GGUF file to run (llama, mistral, qwen2, qwen3; MoE: mixtral, qwen3moe)"},
		{"ctx", CLI_INT, &ctx, "N", "context window allocated (default 2048)"},
		{"prompt", CLI_INT, &prompt, "P", "prompt tokens (default 128)"},
		{"gen", CLI_INT, &gen, "G", "tokens generated (default 32)"},
		{"device", CLI_STR, &device, "D", "cpu (default) or gpu: llmcap's CUDA kernels on the first NVIDIA GPU"},
		{"engine", CLI_STR, &engine, "E", "llmcap (default): llmcap's kernels; llama.cpp: llama-bench on the same file"},
		{"llama-bench", CLI_STR, &llama_bench, "PATH", "llama.cpp's llama-bench for --engine llama.cpp (default: on PATH)"},
		{"threads", CLI_INT, &threads, "T", "threads (default: one per physical core)"},
		{"runs", CLI_INT, &runs, "R", "timed runs after a warm-up, median taken (default 3)"},
		{"layers", CLI_INT, &layers, "L", "time a synthetic model on its first L layers (default: all that fit)"},
		{"save-gguf", CLI_STR, &save, "FILE", "keep the synthetic file at FILE (to run another engine on the same bytes)"},
		{"json", CLI_FLAG, &json, NULL, "print one llmcap.verify/1 JSON object"},
		{0},
	};
	int rc = cli_parse(cmd, argc, argv, opts, &help, NULL, 0, NULL);
	if (rc != CLI_OK || help)
		return rc;
	if (!model && !gguf) {
		fprintf(stderr, "llmcap verify: give --model M (a catalog id, .gguf or config.json) or --gguf FILE\n");
		return CLI_USAGE;
	}
	int llama = engine && (!strcmp(engine, "llama.cpp") || !strcmp(engine, "llamacpp"));
	if (engine && !llama && strcmp(engine, "llmcap") != 0) {
		fprintf(stderr, "llmcap verify: unknown engine '%s'; use --engine llmcap or --engine llama.cpp\n",
			engine);
		return CLI_USAGE;
	}
	if (llama_bench && !llama) {
		fprintf(stderr, "llmcap verify: --llama-bench goes with --engine llama.cpp\n");
		return CLI_USAGE;
	}
	if (runs < 1 || runs > MAX_RUNS || prompt < 0 || gen < 0 || prompt + gen < 1 || ctx < 16 ||
	    prompt + gen + 16 > ctx || threads < 0 || threads > 1024 || layers < 0) {
		fprintf(stderr, "llmcap verify: --runs 1..%d, --prompt + --gen at least 1 and, with 16 "
			"tokens of warm-up, within --ctx; --threads and --layers 0 or more\n", MAX_RUNS);
		return CLI_USAGE;
	}
	if (device && strcmp(device, "cpu") != 0 && strcmp(device, "gpu") != 0) {
		fprintf(stderr, "llmcap verify: --device %s: use cpu or gpu\n", device);
		return CLI_USAGE;
	}
	const int gpu = device && !strcmp(device, "gpu");
	char err[1024] = "";
	struct kern_cuda *cu = NULL;
	struct kern_cuda_model *gm = NULL;
	struct cli_model *cm = calloc(1, sizeof *cm);
	struct hw_spec *h = calloc(1, sizeof *h);
	struct sim_weights *w = calloc(1, sizeof *w);
	struct sim_pred *p = calloc(1, sizeof *p);
	struct vres *res = calloc(1, sizeof *res);
	struct kern_model *km = NULL;
	struct kern_pool *pool = NULL;
	struct sim_eff eff;
	memset(&eff, 0, sizeof eff);
	struct mdb_gguf *g = NULL;
	char tmpdir[256] = "", path[512] = "";
	int synthetic = 0, full_layers = 0;
	if (!cm || !h || !w || !p || !res) {
		fprintf(stderr, "llmcap verify: out of memory\n");
		rc = CLI_FAIL;
		goto out;
	}
	if ((rc = cli_model_load("verify", gguf ? gguf : model, cm)) != CLI_OK)
		goto out;
	if ((rc = cli_hw("verify", "this", h)) != CLI_OK || (rc = cli_hw_for_device("verify", h, gpu)) != CLI_OK)
		goto out;
	if (gpu && kern_cuda_open(&cu, 0, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap verify: --device gpu: %s\n", err);
		rc = CLI_FAIL;
		goto out;
	}
	if (cm->kind == CLI_MODEL_GGUF) {
		snprintf(path, sizeof path, "%s", gguf ? gguf : model);
		if (quant)
			fprintf(stderr, "llmcap verify: --quant ignored: the GGUF file's own types are run\n");
	} else {
		/* a synthetic file of the model's shape, unlinked once mapped */
		const struct mdb_qtraits *qt = mdb_qtype_by_name(quant ? quant : "Q4_0");
		if (!qt || !kern_type_supported(qt->id) || qt->id == QT_F32) {
			fprintf(stderr, "llmcap verify: --quant %s: a synthetic file is one tensor type: "
				"Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16 or BF16\n", quant ? quant : "");
			rc = CLI_USAGE;
			goto out;
		}
		full_layers = cm->m.n_layer;
		int nl = layers > 0 && layers < cm->m.n_layer ? layers : cm->m.n_layer;
		/* fit in half of the memory available now */
		struct sim_weights fw;
		const struct mdb_qmix *any = mdb_qmix_by_name("Q8_0");
		if (any && sim_weights_from_mix(&cm->m, any, &fw, err, sizeof err) == 0 &&
		    isfinite(h->host.memory_available_gb)) {
			double per_layer = (fw.total_bytes - fw.embd_bytes - fw.output_bytes) / cm->m.n_layer *
				mdb_qtype_bpw(qt->id) / 8.5;
			double room = h->host.memory_available_gb * GIB * 0.5 - fw.embd_bytes * 2;
			size_t gfree = 0, gtotal = 0;
			if (cu && kern_cuda_mem(cu, &gfree, &gtotal) == 0 && gfree * 0.8 - fw.embd_bytes * 2 < room)
				room = gfree * 0.8 - fw.embd_bytes * 2; /* and on the GPU */
			int fitl = per_layer > 0 ? (int)(room / per_layer) : nl;
			if (fitl < 1)
				fitl = 1;
			if (nl > fitl)
				nl = fitl;
		}
		const char *td = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/llmcap-verify-XXXXXX", td && *td ? td : "/tmp");
		if (!mkdtemp(tmpdir)) {
			fprintf(stderr, "llmcap verify: cannot make a temporary directory under %s; set "
				"TMPDIR to a writable place\n", td && *td ? td : "/tmp");
			tmpdir[0] = 0;
			rc = CLI_FAIL;
			goto out;
		}
		if (save && strlen(save) < sizeof path)
			snprintf(path, sizeof path, "%s", save);
		else
			snprintf(path, sizeof path, "%s/model.gguf", tmpdir);
		if (!json && isatty(2))
			fprintf(stderr, "writing a synthetic %s %s file (%d of %d layers)...\n", cm->m.id,
				qt->name, nl, cm->m.n_layer);
		int wrc = cli_write_synth(path, &cm->m, qt->id, nl, 42, err, sizeof err);
		if (wrc != 0) {
			fprintf(stderr, "llmcap verify: %s\n", err);
			rc = wrc == -2 ? CLI_USAGE : wrc == -3 ? 130 : CLI_FAIL;
			goto out;
		}
		synthetic = 1;
	}
	/* the model as run: its own file, for both prediction and kernels */
	if (mdb_gguf_open(&g, path, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = CLI_FAIL;
		goto out;
	}
	struct mdb_model run_m;
	if (mdb_model_from_gguf(g, path, &run_m, err, sizeof err) != 0 ||
	    sim_weights_from_gguf(&run_m, g, w, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = CLI_USAGE;
		goto out;
	}
	if (synthetic)
		snprintf(run_m.id, sizeof run_m.id, "%s", cm->m.id), snprintf(run_m.name, sizeof run_m.name, "%s", cm->m.name);
	if (llama) {
		struct cli_verify_llama va = {llama_bench, path, h, &run_m, w, synthetic,
					      synthetic ? full_layers : run_m.n_layer, prompt, gen, runs,
					      threads, gpu, json};
		rc = cli_verify_llama(&va);
		goto out;
	}
	struct kern_table kt;
	kern_table_init(&kt, kern_cpu_features());
	/* what runs: the CPU features the table used and the types whose
	 * prefill takes a batch product (AMX tiles) */
	char feat[128], batch[96] = "";
	const char *batch_isa = NULL;
	kern_features_str(kt.features, feat, sizeof feat);
	for (int i = 0; i < QT_COUNT; i++) {
		size_t used = strlen(batch);
		if (kt.gemm_batch[i] && used < sizeof batch)
			snprintf(batch + used, sizeof batch - used, "%s%s", used ? ", " : "", mdb_qtype(i)->name);
		if (kt.gemm_batch[i])
			batch_isa = kt.gemm_batch_isa[i];
	}
	int krc = gpu ? kern_cuda_model_open(&gm, cu, path, ctx, err, sizeof err)
		      : kern_model_open(&km, path, &kt, ctx, QT_F16, err, sizeof err);
	if (synthetic && !save)
		unlink(path); /* mapped (or on the GPU): nothing is left on disk whatever happens next */
	if (krc != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = krc == (gpu ? -3 : -2) ? CLI_USAGE : CLI_FAIL;
		goto out;
	}
	if (!gpu && kern_pool_new(&pool, threads, 1, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = CLI_FAIL;
		goto out;
	}
	int nth = gpu ? 1 : kern_pool_threads(pool);
	/* the read bandwidth now, with these threads: printed beside the
	 * decode's achieved rate, and the figure an uncalibrated prediction
	 * takes (a calibration's factors give decode the rate calibrate
	 * measured, whatever this figure is: see cli/calib.c, apply) */
	double bw_cached = h->host.memory_bandwidth_gbps, bw_now = NAN;
	if (!gpu) {
		if (!json && isatty(2))
			fprintf(stderr, "measuring the memory read bandwidth...\n");
		if (cli_read_bw_now(pool, &bw_now, err, sizeof err) == 0)
			h->host.memory_bandwidth_gbps = bw_now;
		else
			fprintf(stderr, "llmcap verify: %s; predicting with the cached profile's %.1f GB/s\n", err,
				bw_cached);
	}
	const struct kern_model_cfg *kc = gpu ? kern_cuda_model_config(gm) : kern_model_config(km);
	/* what one decoded token reads: the prediction's count and the
	 * kernels' own (MoE: the experts a token is routed to) */
	const double pred_wb = sim_decode_weight_bytes(&run_m, w), kern_wb = (double)kc->weight_bytes;
	/* prediction first: engine llmcap, this machine, the threads used */
	if (gpu) {
		/* as plan --engine llmcap predicts it: the shipped llmcap cuda
		 * profile, or this machine's calibrate --device gpu */
		if ((rc = cli_engine_eff("verify", "llmcap", &eff)) != CLI_OK)
			goto out;
		if (cli_calibration_apply(h, w, 0, &eff) == 0)
			cli_engine_free(&eff);
	} else {
		sim_eff_default("llmcap", &eff, err, sizeof err);
		cli_calibration_apply(h, w, nth, &eff); /* when calibrated: said in the assumptions */
	}
	if (!gpu && nth < h->host.cores && h->host.cores > 0) {
		/* fewer threads than cores: compute peaks scale down */
		h->host.fp32_gflops *= (double)nth / h->host.cores;
		h->host.int8_gops *= (double)nth / h->host.cores;
	}
	struct sim_workload wl;
	sim_workload_default(&wl);
	wl.ctx = ctx;
	wl.prompt = prompt;
	wl.gen = gen;
	if (gpu)
		wl.gpu_layers = run_m.n_layer; /* every layer on the GPU, as run */
	if (sim_predict(h, &run_m, w, &wl, &eff, p, err, sizeof err) != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = CLI_USAGE;
		goto out;
	}
	if (!json && isatty(2))
		fprintf(stderr, "running prefill %d + decode %d tokens, %d runs, %s...\n", prompt, gen, runs,
			gpu ? kern_cuda_device_name(cu) : nth == 1 ? "1 thread" : "threads");
	res->n = runs;
	if ((gpu ? kern_cuda_model_time(gm, prompt, gen, runs, res->pp.samples, res->tg.samples, err, sizeof err)
		 : kern_model_time(km, pool, prompt, gen, runs, res->pp.samples, res->tg.samples, err, sizeof err)) != 0) {
		fprintf(stderr, "llmcap verify: %s\n", err);
		rc = CLI_FAIL;
		goto out;
	}
	res->pp.n = res->tg.n = res->n;
	probe_stat_compute(&res->pp, 1);
	probe_stat_compute(&res->tg, 1);
	double mpp = prompt > 0 ? res->pp.median : NAN, mtg = gen > 0 ? res->tg.median : NAN;
	double epp = err_pct(p->prefill_tps, mpp), etg = err_pct(p->decode_tps, mtg);
	/* achieved decode bandwidth (computed: weight bytes per step x measured
	 * rate) beside the memory bandwidth the prediction was given */
	double wbytes = sim_decode_weight_bytes(&run_m, w);
	double dgbps = gen > 0 ? wbytes * mtg / 1e9 : NAN;
	const struct hw_accel *ga = gpu ? sim_pick_gpu(h) : NULL;
	double hw_bw = gpu ? (ga ? ga->memory_bandwidth_gbps : NAN) : h->host.memory_bandwidth_gbps;
	enum probe_src hw_src = gpu ? (ga ? ga->memory_bandwidth_src : PROBE_SRC_UNKNOWN)
				    : h->host.memory_bandwidth_src;
	double share = isfinite(dgbps) && hw_bw > 0 ? dgbps / hw_bw : NAN;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "schema", "llmcap.verify/1");
		cJSON_AddStringToObject(o, "model", run_m.id);
		cJSON_AddStringToObject(o, "file", synthetic ? "synthetic (random weights)" : path);
		cJSON_AddStringToObject(o, "quant", w->quant);
		cJSON_AddNumberToObject(o, "layers_run", run_m.n_layer);
		cJSON_AddNumberToObject(o, "layers_model", synthetic ? full_layers : run_m.n_layer);
		cJSON_AddStringToObject(o, "hardware", h->name);
		cJSON_AddStringToObject(o, "engine", "llmcap");
		cJSON_AddNumberToObject(o, "threads", nth);
		cJSON_AddStringToObject(o, "device", gpu ? "gpu" : "cpu");
		if (!gpu) {
			cJSON_AddStringToObject(o, "kernel_features", feat);
			cJSON_AddStringToObject(o, "prefill_batch_types", batch);
		}
		if (gpu)
			cJSON_AddStringToObject(o, "device_name", kern_cuda_device_name(cu));
		cJSON *wk = cJSON_AddObjectToObject(o, "workload");
		cJSON_AddNumberToObject(wk, "ctx", ctx);
		cJSON_AddNumberToObject(wk, "prompt", prompt);
		cJSON_AddNumberToObject(wk, "gen", gen);
		cJSON_AddNumberToObject(wk, "runs", runs);
		if (kc->n_expert > 0) {
			cJSON *mo = cJSON_AddObjectToObject(o, "moe");
			cJSON_AddNumberToObject(mo, "experts", kc->n_expert);
			cJSON_AddNumberToObject(mo, "experts_per_token", kc->n_expert_used);
		}
		cJSON *db = cJSON_AddObjectToObject(o, "weight_bytes_per_token");
		jnum(db, "predicted", pred_wb);
		jnum(db, "kernels", kern_wb);
		cJSON *pr = cJSON_AddObjectToObject(o, "predicted");
		jnum(pr, "prefill_tps", prompt > 0 ? p->prefill_tps : NAN);
		jnum(pr, "decode_tps", p->decode_tps);
		cJSON_AddStringToObject(pr, "bottleneck", sim_bound_name(p->bottleneck));
		jnum(pr, "error_band", p->band);
		cJSON *me = cJSON_AddObjectToObject(o, "measured");
		jnum(me, "prefill_tps", mpp);
		jnum(me, "decode_tps", mtg);
		jnum(me, "prefill_tps_min", prompt > 0 ? res->pp.worst : NAN);
		jnum(me, "prefill_tps_max", prompt > 0 ? res->pp.best : NAN);
		jnum(me, "decode_tps_min", gen > 0 ? res->tg.worst : NAN);
		jnum(me, "decode_tps_max", gen > 0 ? res->tg.best : NAN);
		jnum(me, "decode_weight_bytes", wbytes);
		jnum(me, "decode_gbps", dgbps);
		jnum(me, "memory_gbps", hw_bw);
		cJSON_AddStringToObject(me, "memory_gbps_source", probe_src_name(hw_src));
		jnum(me, "memory_gbps_cached_profile", gpu ? NAN : bw_cached);
		cJSON_AddStringToObject(me, "memory_gbps_when",
					isfinite(bw_now) ? "just before the runs" : "probe profile");
		jnum(me, "decode_bandwidth_share", share);
		cJSON *ep = cJSON_AddObjectToObject(o, "error_pct");
		jnum(ep, "prefill", epp);
		jnum(ep, "decode", etg);
		cJSON *as = cJSON_AddArrayToObject(o, "assumptions");
		for (int i = 0; i < p->n_assume; i++)
			cJSON_AddItemToArray(as, cJSON_CreateString(p->assume[i]));
		char *text = cJSON_Print(o);
		cJSON_Delete(o);
		if (!text) {
			fprintf(stderr, "llmcap verify: out of memory\n");
			rc = CLI_FAIL;
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		if (gpu)
			printf("%s, %s on %s — llmcap's CUDA kernels\n", run_m.name[0] ? run_m.name : run_m.id,
			       w->quant, kern_cuda_device_name(cu));
		else
			printf("%s, %s on %s — llmcap's kernels, %d threads\n", run_m.name[0] ? run_m.name : run_m.id,
			       w->quant, h->name, nth);
		if (synthetic)
			printf("  synthetic file of the model's shape with random weights%s\n",
			       run_m.n_layer < full_layers ? "" : "");
		if (synthetic && run_m.n_layer < full_layers)
			printf("  timed on its first %d of %d layers (%s); predicted for the same %d layers\n",
			       run_m.n_layer, full_layers, layers == run_m.n_layer ? "--layers"
			       : "the whole model would not fit in half of the memory available",
			       run_m.n_layer);
		if (kc->n_expert > 0)
			printf("  mixture of experts: %d of %d experts per token in every layer\n",
			       kc->n_expert_used, kc->n_expert);
		if (!gpu)
			printf("  CPU kernels: %s%s%s%s%s\n", feat[0] ? feat : "plain C",
			       batch_isa ? "; prefill of " : "", batch, batch_isa ? " on " : "",
			       batch_isa ? batch_isa : "");
		printf("  weights read per decoded token: %.3f GB predicted, %.3f GB by the kernels\n",
		       pred_wb / 1e9, kern_wb / 1e9);
		printf("  ctx %d, prompt %d, generate %d; %d runs after a warm-up, median (min - max)\n\n",
		       ctx, prompt, gen, res->n);
		char a[48], b[48];
		printf("  %-9s %12s %26s %9s\n", "", "predicted", "measured", "error");
		if (prompt > 0) {
			snprintf(a, sizeof a, "%.1f (%.1f - %.1f)", mpp, res->pp.worst, res->pp.best);
			snprintf(b, sizeof b, "%+.1f%%", epp);
			printf("  %-9s %12.1f %26s %9s\n", "prefill", p->prefill_tps, a, b);
		}
		if (gen > 0) {
			snprintf(a, sizeof a, "%.1f (%.1f - %.1f)", mtg, res->tg.worst, res->tg.best);
			snprintf(b, sizeof b, "%+.1f%%", etg);
			printf("  %-9s %12.1f %26s %9s\n", "decode", p->decode_tps, a, b);
		}
		printf("\n  tokens/s; error = (predicted - measured) / measured. Predicted bottleneck: %s.\n",
		       sim_bound_name(p->bottleneck));
		if (isfinite(dgbps)) {
			printf("  Decode streams %.1f GB/s of weights (computed: %.3f GB read per token x the "
			       "measured median)", dgbps, wbytes / 1e9);
			if (isfinite(share))
				printf(", %.0f%% of the %.1f GB/s %s memory bandwidth (%s%s)",
				       100 * share, hw_bw, gpu ? "device" : "read", probe_src_name(hw_src),
				       isfinite(bw_now) ? " just before the runs" : " by llmcap probe");
			printf(".\n");
			if (isfinite(bw_now))
				printf("  (the cached probe profile says %.1f GB/s: this machine's memory bandwidth "
				       "moves by %+.0f%% since)\n", bw_cached, 100 * (bw_now - bw_cached) / bw_cached);
		}
		printf("  Assumptions of the prediction:\n");
		for (int i = 0; i < p->n_assume; i++)
			printf("   - %s\n", p->assume[i]);
	}
	rc = CLI_OK;
out:
	cli_engine_free(&eff);
	if (km)
		kern_model_close(km);
	kern_cuda_model_close(gm);
	kern_cuda_close(cu);
	if (pool)
		kern_pool_delete(pool);
	if (g)
		mdb_gguf_close(g);
	if (path[0] && synthetic && !save)
		unlink(path);
	if (tmpdir[0])
		rmdir(tmpdir);
	if (cm)
		cli_model_free(cm);
	free(cm);
	free(h);
	free(w);
	free(p);
	free(res);
	return rc;
}

const struct cli_cmd cmd_verify = {
	"verify", "Run the model with llmcap's kernels and compare with the prediction",
	"verify --model M [--quant Q] [--gguf FILE] [--device cpu|gpu] [--ctx N] [--prompt P] [--gen G]\n"
	"              [--threads T] [--runs R] [--layers L] [--save-gguf FILE] [--json]",
	"The simulator predicts prefill and decode tokens/s for this machine with the\n"
	"llmcap engine, then llmcap's kernels run the model: a real GGUF file (--gguf,\n"
	"or --model FILE.gguf), or for a catalog model a synthetic file of its shape with\n"
	"random weights of one tensor type (written to $TMPDIR and removed as soon as\n"
	"it is mapped, or kept at --save-gguf FILE). A model too large for half of the\n"
	"memory available is timed on its first layers, and the output says so. Prints\n"
	"predicted, measured (median and range of --runs runs after a warm-up) and the\n"
	"error of each.\n\n"
	"--device gpu runs llmcap's CUDA kernels on the first NVIDIA GPU instead (weights\n"
	"uploaded once; decode one token a step as a CUDA graph, prefill 64-token\n"
	"micro-batches through the same matrix kernels 8 tokens at a time), and the\n"
	"prediction is for every layer on that GPU with the probe's measured figures\n"
	"and the shipped llmcap cuda engine profile, as plan --engine llmcap predicts\n"
	"(calibrate --device gpu's factors instead when measured). The default, cpu,\n"
	"predicts for the CPU alone even on a machine with a GPU.",
	NULL, NULL, verify_main,
};

/* simulator: memory, placement, decode and prefill speed (see sim.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "simulator/sim.h"
#include "simulator/profile.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define SIM_DEFAULT_SSD_GBPS 5.0

/* ---- names ------------------------------------------------------------- */
const char *sim_place_name(enum sim_place p)
{
	switch (p) {
	case SIM_PLACE_GPU: return "gpu";
	case SIM_PLACE_UNIFIED: return "unified";
	case SIM_PLACE_SPLIT: return "split";
	case SIM_PLACE_EXPERTS_HOST: return "experts-on-cpu";
	case SIM_PLACE_CPU: return "cpu";
	case SIM_PLACE_SSD: return "ssd-streamed";
	case SIM_PLACE_NONE: return "does-not-fit";
	}
	return "?";
}

const char *sim_bound_name(enum sim_bound b)
{
	switch (b) {
	case SIM_BOUND_HOST_MEM: return "host memory bandwidth";
	case SIM_BOUND_GPU_MEM: return "accelerator memory bandwidth";
	case SIM_BOUND_HOST_COMPUTE: return "CPU compute";
	case SIM_BOUND_GPU_COMPUTE: return "accelerator compute";
	case SIM_BOUND_LINK: return "host-accelerator link";
	case SIM_BOUND_SSD: return "SSD reads";
	case SIM_BOUND_FIXED: return "fixed cost per token";
	case SIM_BOUND_COUNT: break;
	}
	return "?";
}

/* ---- engines ------------------------------------------------------------ */
int sim_eff_default(const char *engine, struct sim_eff *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	int ours = 0;
	if (!engine || strcasecmp(engine, "llama.cpp") == 0 || strcasecmp(engine, "llamacpp") == 0)
		snprintf(e->engine, sizeof e->engine, "llama.cpp");
	else if (strcasecmp(engine, "llmcap") == 0)
		ours = 1, snprintf(e->engine, sizeof e->engine, "llmcap");
	else {
		snprintf(err, errlen, "unknown engine '%s'; use --engine llama.cpp or --engine llmcap",
			 engine);
		return -2;
	}
	/* Defaults until calibration (see the reasoning in each comment):
	 * - decode streams every weight once per token; a good GEMV kernel
	 *   reaches 80-90% of what a read benchmark reaches: 0.85.
	 * - decode GEMV: dot products of one activation row, about 60% of
	 *   the peak where memory does not bind first.
	 * - prefill GEMM on quantized weights: the CPU dequantizes or
	 *   repacks blocks on the fly, so a third of the INT8 peak; the GPU
	 *   dequantizes into FP16 tiles, so under half the tensor-core peak.
	 * - mmap page faults read the SSD at about half its sequential speed
	 *   (synchronous faults with kernel readahead, queue depth ~1).
	 * - fixed costs: a thread barrier per op on the CPU (~10 ops per
	 *   layer), a kernel launch per op on the GPU, sampling per token. */
	e->host_bw = 0.85;
	e->host_mm = 0.35;
	e->host_vec = 0.60;
	e->gpu_bw = 0.85;
	e->gpu_mm = 0.45;
	e->link = 0.80;
	e->ssd = 0.50;
	e->token_s = 200e-6;
	e->layer_host_s = 10e-6;
	e->layer_gpu_s = 6e-6;
	e->step_pp_s = e->layer_host_pp_s = e->layer_gpu_pp_s = NAN;
	e->ubatch = 512;
	e->band = 0.30;
	e->calibrated = 0;
	snprintf(e->source, sizeof e->source,
		 "assumed: default efficiency factors for %s written down in simulator/sim.c "
		 "(not calibrated on this machine)", ours ? "llmcap's kernels" : "llama.cpp");
	return 0;
}

/* ---- workload ----------------------------------------------------------- */
void sim_workload_default(struct sim_workload *w)
{
	memset(w, 0, sizeof *w);
	w->ctx = 4096;
	w->depth = 0;
	w->prompt = 512;
	w->gen = 128;
	w->batch = 1;
	snprintf(w->kv_quant, sizeof w->kv_quant, "f16");
	w->gpu_layers = -1;
}

void sim_workload_for_model(struct sim_workload *w, const struct mdb_model *m)
{
	if (m->context > 0 && w->ctx > m->context)
		w->ctx = m->context;
	if (w->depth + w->prompt + w->gen > w->ctx) {
		w->depth = 0;
		w->prompt = w->ctx * 4 / 5;
		w->gen = w->ctx - w->prompt;
	}
}

int sim_workload_check(const struct sim_workload *w, const struct mdb_model *m, char *err,
		       size_t errlen)
{
	if (w->ctx < 1 || w->ctx > (int64_t)1 << 26) {
		snprintf(err, errlen, "--ctx %lld is out of range; give 1 to 67108864 tokens",
			 (long long)w->ctx);
		return -2;
	}
	if (w->depth < 0 || w->prompt < 0 || w->gen < 0) {
		snprintf(err, errlen, "--depth, --prompt and --gen must be 0 or more tokens");
		return -2;
	}
	if (w->prompt < 1 && w->gen < 1) {
		snprintf(err, errlen, "nothing to do: give --prompt or --gen of at least 1 token");
		return -2;
	}
	if (w->depth + w->prompt + w->gen > w->ctx) {
		snprintf(err, errlen,
			 "--depth %lld + --prompt %lld + --gen %lld = %lld tokens does not fit in "
			 "--ctx %lld; raise --ctx or lower the others",
			 (long long)w->depth, (long long)w->prompt, (long long)w->gen,
			 (long long)(w->depth + w->prompt + w->gen), (long long)w->ctx);
		return -2;
	}
	if (w->batch < 1 || w->batch > 4096) {
		snprintf(err, errlen, "--batch %d is out of range; give 1 to 4096 streams", w->batch);
		return -2;
	}
	if (!isfinite(mdb_kv_bytes_per_elem(w->kv_quant))) {
		snprintf(err, errlen, "unknown --kv-quant '%s'; use f16, q8_0 or q4_0", w->kv_quant);
		return -2;
	}
	if (w->gpu_layers < -1 || w->gpu_layers > m->n_layer) {
		snprintf(err, errlen, "--gpu-layers %d is out of range for %s; give 0 to %d or auto",
			 w->gpu_layers, m->id, m->n_layer);
		return -2;
	}
	return 0;
}

/* ---- per-layer facts of the model --------------------------------------- */
struct mlay {
	double dense_p;      /* parameters read per token outside the routed experts */
	double exp_active_p; /* routed expert parameters used by one token */
	double kv_tok;       /* KV bytes per cached token */
	int64_t window;      /* 0: attends to the whole context */
	double state;        /* recurrent state bytes */
	double attn_fpc;     /* attention FLOPs per token per context position */
	int moe;
};

static char layer_kind(const struct mdb_model *m, int i)
{
	return m->layer_kinds[i] ? m->layer_kinds[i] : MDB_LAYER_GLOBAL;
}

static double state_layer(const struct mdb_model *m, char kind)
{
	const struct mdb_linear *l = &m->lin;
	int conv = l->conv_kernel > 1 ? l->conv_kernel - 1 : 0;
	if (kind == MDB_LAYER_DELTANET) {
		double kd = (double)l->k_heads * l->k_head_dim, vd = (double)l->v_heads * l->v_head_dim;
		return 4.0 * ((double)l->v_heads * l->k_head_dim * l->v_head_dim + conv * (2 * kd + vd));
	}
	if (kind == MDB_LAYER_MAMBA2) {
		double di = (double)l->v_heads * l->v_head_dim;
		return 4.0 * (di * l->state_size + conv * (di + 2.0 * l->groups * l->state_size));
	}
	return 0;
}

static void model_layers(const struct mdb_model *m, const char *kvq, struct mlay *L)
{
	double eb = mdb_kv_bytes_per_elem(kvq);
	for (int i = 0; i < m->n_layer; i++) {
		struct mlay *y = &L[i];
		memset(y, 0, sizeof *y);
		double r[MDB_ROLE_COUNT];
		mdb_model_layer_roles(m, i, r);
		double exps = r[MDB_ROLE_FFN_GATE_EXPS] + r[MDB_ROLE_FFN_UP_EXPS] + r[MDB_ROLE_FFN_DOWN_EXPS];
		for (int j = 0; j < MDB_ROLE_COUNT; j++)
			y->dense_p += r[j];
		y->dense_p -= exps;
		y->moe = mdb_model_layer_is_moe(m, i);
		if (y->moe && m->moe.n_experts > 0)
			y->exp_active_p = exps * m->moe.experts_per_token / m->moe.n_experts;
		char k = layer_kind(m, i);
		if (k == MDB_LAYER_DELTANET || k == MDB_LAYER_MAMBA2) {
			y->state = state_layer(m, k);
			continue;
		}
		if (m->attn == MDB_ATTN_MLA) {
			/* latent cache: kv_lora_rank + rope dims per token, K and V
			 * read from it (llama.cpp's MLA cache) */
			y->kv_tok = eb * (m->mla.kv_lora_rank + m->mla.qk_rope_head_dim);
			y->attn_fpc = 2.0 * m->n_head * (2.0 * m->mla.kv_lora_rank + m->mla.qk_rope_head_dim);
		} else {
			y->kv_tok = 2.0 * eb * m->n_head_kv * m->head_dim;
			y->attn_fpc = 4.0 * m->n_head * m->head_dim;
		}
		if (k == MDB_LAYER_SLIDING && m->sliding_window > 0)
			y->window = m->sliding_window;
	}
}

static double min_ctx(int64_t n, int64_t window)
{
	return (double)(window > 0 && n > window ? window : n);
}

/* KV bytes of one stream holding ctx tokens, from the per-layer facts. */
static double kv_bytes(const struct mlay *L, int n_layer, int64_t ctx)
{
	double b = 0;
	for (int i = 0; i < n_layer; i++)
		b += L[i].kv_tok * min_ctx(ctx, L[i].window);
	return b;
}

double sim_kv_bytes(const struct mdb_model *m, int64_t ctx, const char *kv_quant)
{
	struct mlay L[MDB_MAX_LAYERS];
	if (m->n_layer <= 0 || m->n_layer > MDB_MAX_LAYERS)
		return NAN;
	model_layers(m, kv_quant, L);
	return kv_bytes(L, m->n_layer, ctx);
}

double sim_state_bytes(const struct mdb_model *m)
{
	double b = 0;
	for (int i = 0; i < m->n_layer && i < MDB_MAX_LAYERS; i++)
		b += state_layer(m, layer_kind(m, i));
	return b;
}

double sim_capability(const struct mdb_params *p)
{
	if (!(p->total > 0))
		return 0;
	double a = p->active > 0 ? p->active : p->total;
	return sqrt(p->total * a);
}

/* ---- the machine as the engine sees it ----------------------------------- */
struct rates {
	const struct hw_accel *gpu;  /* NULL: CPU only */
	int unified;
	double host_bw, host_mm;     /* achieved B/s, FLOP/s */
	double host_vec;             /* achieved FLOP/s of matrix-vector work (decode) */
	double gpu_bw, gpu_mm;
	double link_bps, link_lat;
	double ssd_bps;              /* NAN: unknown */
	int ssd_assumed;             /* SIM_DEFAULT_SSD_GBPS stood in for a missing figure */
	double host_usable, gpu_usable; /* bytes; gpu_usable NAN without GPU */
	double gpu_overhead, host_overhead;
};

struct ctx {
	const struct hw_spec *h;
	const struct mdb_model *m;
	const struct sim_weights *w;
	const struct sim_workload *wl;
	const struct sim_eff *e;
	struct sim_pred *p;
	struct rates r;
	struct mlay L[MDB_MAX_LAYERS];
	double buffers;              /* compute buffer bytes */
	double out_p;                /* output head parameters */
};

static void assume(struct sim_pred *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void assume(struct sim_pred *p, const char *fmt, ...)
{
	if (p->n_assume >= SIM_MAX_ASSUME)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->assume[p->n_assume++], SIM_NOTE, fmt, ap);
	va_end(ap);
}

const struct hw_accel *sim_pick_gpu(const struct hw_spec *h)
{
	const struct hw_accel *best = NULL;
	for (int i = 0; i < h->n_accel; i++) {
		const struct hw_accel *a = &h->accel[i];
		if (strcmp(a->kind, "gpu") != 0 || !(a->memory_gb > 0) || !(a->memory_bandwidth_gbps > 0))
			continue;
		if (!best || a->memory_gb > best->memory_gb)
			best = a;
	}
	return best;
}

static const struct hw_accel *pick_gpu(const struct hw_spec *h, struct sim_pred *p)
{
	const struct hw_accel *best = sim_pick_gpu(h);
	int npu = 0;
	for (int i = 0; i < h->n_accel; i++)
		npu |= strcmp(h->accel[i].kind, "gpu") != 0;
	if (npu)
		assume(p, "NPU not used: the engine has no NPU backend for LLM decode");
	int gpus = 0;
	for (int i = 0; i < h->n_accel; i++)
		gpus += strcmp(h->accel[i].kind, "gpu") == 0;
	if (gpus > 1)
		assume(p, "one GPU used (%s): multi-GPU splits are not modelled yet", best ? best->name : "?");
	return best;
}

static void machine_rates(struct ctx *c)
{
	const struct hw_spec *h = c->h;
	const struct sim_eff *e = c->e;
	struct sim_pred *p = c->p;
	struct rates *r = &c->r;
	memset(r, 0, sizeof *r);

	/* host bandwidth */
	double hb = h->host.memory_bandwidth_gbps;
	int hb_measured = h->measured && h->host.memory_bandwidth_src == PROBE_SRC_MEASURED;
	if (hb_measured) {
		r->host_bw = hb * 1e9 * e->host_bw;
		assume(p, "host memory: %.1f GB/s measured by llmcap probe x %.2f engine efficiency",
		       hb, e->host_bw);
	} else {
		r->host_bw = hb * 1e9 * 0.80 * e->host_bw;
		assume(p, "host memory: %.0f GB/s spec x 0.80 achievable (assumed: a read benchmark "
		       "reaches ~80%% of DRAM spec) x %.2f engine efficiency", hb, e->host_bw);
	}
	/* host matrix throughput */
	double peak = NAN;
	const char *what = "";
	int measured = 0;
	if (!c->w->float_weights && h->host.int8_gops > 0) {
		peak = h->host.int8_gops * 1e9;
		what = "INT8";
		measured = h->measured && h->host.int8_src == PROBE_SRC_MEASURED;
	} else if (h->host.fp32_gflops > 0) {
		peak = h->host.fp32_gflops * 1e9;
		what = "FP32";
		measured = h->measured && h->host.fp32_src == PROBE_SRC_MEASURED;
	}
	if (!(peak > 0)) {
		int cores = h->host.cores > 0 ? h->host.cores : 4;
		peak = cores * 100e9;
		what = "FP32";
		assume(p, "CPU compute peak unknown: assumed 100 GFLOPS per core (two 256-bit FMA pipes at 3 GHz) x %d cores", cores);
	} else {
		assume(p, "CPU matrix throughput: %s peak %.0f GOPS %s x %.2f engine efficiency", what,
		       peak / 1e9, measured ? "measured" : "spec", e->host_mm);
	}
	r->host_mm = peak * e->host_mm;
	r->host_vec = peak * (e->host_vec > 0 ? e->host_vec : e->host_mm);

	/* usable host memory */
	if (isfinite(h->host.memory_available_gb) && h->host.memory_available_gb > 0) {
		r->host_usable = (h->host.memory_available_gb - 0.5) * GIB;
		assume(p, "host memory usable: %.1f GiB available now (measured) less 0.5 GiB headroom",
		       h->host.memory_available_gb);
	} else {
		double reserve = 1.5 + 0.10 * h->host.memory_gb;
		r->host_usable = (h->host.memory_gb - reserve) * GIB;
		assume(p, "host memory usable: %.0f GiB less %.1f GiB for the OS and other programs "
		       "(assumed: 1.5 GiB + 10%%)", h->host.memory_gb, reserve);
	}
	if (r->host_usable < 0)
		r->host_usable = 0;
	r->host_overhead = 0.1 * GIB;

	/* storage */
	r->ssd_bps = NAN;
	if (h->storage_mmap_read_gbps > 0) {
		r->ssd_bps = h->storage_mmap_read_gbps * 1e9;
	} else if (h->storage_read_gbps > 0) {
		r->ssd_bps = h->storage_read_gbps * 1e9 * e->ssd;
	} else if (!h->measured) {
		/* a catalog or user machine without the figure: a typical
		 * PCIe 4.0 NVMe SSD (used only when weights must stream) */
		r->ssd_bps = SIM_DEFAULT_SSD_GBPS * 1e9 * e->ssd;
		r->ssd_assumed = 1;
	}

	r->gpu = pick_gpu(h, p);
	r->gpu_usable = NAN;
	if (!r->gpu)
		return;
	const struct hw_accel *g = r->gpu;
	r->unified = g->unified_memory;
	double gb = g->memory_bandwidth_gbps;
	if (g->memory_bandwidth_src == PROBE_SRC_MEASURED) {
		/* timed by llmcap probe: already what the device achieves */
		r->gpu_bw = gb * 1e9 * e->gpu_bw;
		assume(p, "%s memory: %.0f GB/s measured by llmcap probe x %.2f engine efficiency",
		       g->name, gb, e->gpu_bw);
	} else {
		r->gpu_bw = gb * 1e9 * 0.90 * e->gpu_bw;
		assume(p, "%s memory: %.0f GB/s spec x 0.90 achievable (assumed) x %.2f engine "
		       "efficiency", g->name, gb, e->gpu_bw);
	}
	if (g->fp16_tflops > 0) {
		r->gpu_mm = g->fp16_tflops * 1e12 * e->gpu_mm;
		assume(p, "%s matrix throughput: FP16 %.0f TFLOPS %s x %.2f engine efficiency",
		       g->name, g->fp16_tflops,
		       g->fp16_src == PROBE_SRC_MEASURED ? "measured by llmcap probe" : "spec",
		       e->gpu_mm);
	} else {
		r->gpu_mm = gb * 1e9 * 30 * e->gpu_mm;
		assume(p, "%s FP16 throughput not published: assumed 30 FLOP per byte of bandwidth "
		       "(%.0f TFLOPS) x %.2f engine efficiency", g->name, gb * 30 / 1000, e->gpu_mm);
	}
	if (r->unified) {
		double frac = 1.0;
		const char *how = "";
		if (strcmp(g->backend, "metal") == 0) {
			frac = h->host.memory_gb > 36 ? 0.75 : 2.0 / 3.0;
			how = "macOS lets the GPU wire about 2/3 of memory (3/4 above 36 GB) by default; "
			      "raise it with sudo sysctl iogpu.wired_limit_mb=N";
		} else if (strcmp(g->backend, "vulkan") == 0 || strcmp(g->backend, "rocm") == 0) {
			frac = 0.5;
			how = "Linux amdgpu lets the iGPU map half of memory (GTT) by default; raise it "
			      "with the kernel options ttm.pages_limit / amdgpu.gttsize";
		} else {
			how = "the GPU may use all host memory";
		}
		r->gpu_usable = fmin(h->host.memory_gb * GIB * frac, r->host_usable);
		if (g->memory_gb > 0 && g->memory_gb * GIB < r->gpu_usable)
			r->gpu_usable = g->memory_gb * GIB;
		r->gpu_overhead = 0.2 * GIB;
		assume(p, "unified memory: GPU may use %.1f GiB (%s)", r->gpu_usable / GIB, how);
	} else {
		r->gpu_usable = (g->memory_gb - 0.3) * GIB;
		r->gpu_overhead = 0.4 * GIB;
		assume(p, "%s: %.0f GiB less 0.3 GiB held by the driver/display and 0.4 GiB runtime "
		       "context (assumed)", g->name, g->memory_gb);
		double lk = g->link_gbps;
		if (!(lk > 0)) {
			lk = 25;
			assume(p, "host link speed unknown: assumed PCIe 4.0 x16 (25 GB/s)");
		}
		r->link_bps = lk * 1e9 * e->link;
		r->link_lat = 15e-6;
	}
}

/* ---- a placement and its evaluation --------------------------------------- */
struct cfg {
	enum sim_place place;
	unsigned char dgpu[MDB_MAX_LAYERS];   /* layer (non-expert part) on the accelerator */
	unsigned char egpu[MDB_MAX_LAYERS];   /* routed experts on the accelerator */
	int out_gpu;
	double miss_d, miss_e;                 /* fraction not resident (SSD) */
	int gpu_runs_all;                      /* unified: the accelerator runs host-resident parts */
	double gpu_bytes, host_bytes;          /* resident */
	double streamed;                       /* bytes left on SSD */
};

static double out_bytes(const struct ctx *c)
{
	return c->m->tied_embd ? c->w->embd_bytes + c->w->output_bytes : c->w->output_bytes;
}

static double layer_res(const struct ctx *c, int i)
{
	int B = c->wl->batch;
	return c->w->layer_bytes[i] + (c->L[i].kv_tok * min_ctx(c->wl->ctx, c->L[i].window) + c->L[i].state) * B;
}

/* Resident bytes by device for a cfg (SSD: the non-streamed part). */
static void cfg_memory(const struct ctx *c, struct cfg *k)
{
	double g = 0, hst = c->w->embd_bytes + c->r.host_overhead;
	int any_gpu = 0;
	for (int i = 0; i < c->m->n_layer; i++) {
		double d = layer_res(c, i), x = c->w->expert_bytes[i];
		if (k->dgpu[i])
			g += d, any_gpu = 1;
		else
			hst += d;
		if (k->egpu[i])
			g += x, any_gpu = 1;
		else
			hst += x;
	}
	double ob = c->m->tied_embd ? c->w->output_bytes : out_bytes(c);
	if (k->out_gpu)
		g += ob + (c->m->tied_embd ? c->w->embd_bytes : 0); /* a tied head is copied to the GPU */
	else
		hst += ob;
	if (any_gpu || k->out_gpu)
		g += c->buffers + c->r.gpu_overhead;
	else
		hst += c->buffers;
	k->gpu_bytes = g;
	k->host_bytes = hst;
}

static int cfg_fits(const struct ctx *c, const struct cfg *k)
{
	if (c->r.unified)
		return k->gpu_bytes <= c->r.gpu_usable && k->gpu_bytes + k->host_bytes <= c->r.host_usable;
	if (k->gpu_bytes > 0 && !(k->gpu_bytes <= c->r.gpu_usable))
		return 0;
	return k->host_bytes <= c->r.host_usable;
}

struct step {
	double t[SIM_BOUND_COUNT];
	double total;
	double ssd_bytes;
};

struct devwork { double bytes, flops, attn_s; int layers; };

static double layer_cost(const struct sim_eff *e, int gpu, int decode)
{
	double pp = gpu ? e->layer_gpu_pp_s : e->layer_host_pp_s;
	if (!decode && isfinite(pp))
		return pp;
	return gpu ? e->layer_gpu_s : e->layer_host_s;
}

static void finish_dev(const struct ctx *c, const struct devwork *d, int gpu, int decode, struct step *s)
{
	double bw = gpu ? c->r.gpu_bw : c->r.host_bw;
	double mm = gpu ? c->r.gpu_mm : decode ? c->r.host_vec : c->r.host_mm;
	double tm = d->bytes / bw, tc = d->flops / mm;
	if (tm >= tc)
		s->t[gpu ? SIM_BOUND_GPU_MEM : SIM_BOUND_HOST_MEM] += tm;
	else
		s->t[gpu ? SIM_BOUND_GPU_COMPUTE : SIM_BOUND_HOST_COMPUTE] += tc;
	s->t[SIM_BOUND_FIXED] += d->layers * layer_cost(c->e, gpu, decode);
	s->t[gpu ? SIM_BOUND_GPU_COMPUTE : SIM_BOUND_HOST_COMPUTE] += d->attn_s;
}

/* The share of nth threads llmcap's CPU attention keeps busy over tokens
 * tokens: its items are a token's query heads of one KV head, per heads
 * of the group when there are fewer KV heads x tokens than threads (a
 * token's n_head heads in runs of per), dealt out in rounds of nth
 * (kernels/forward.c, eval_batch). 1 when not modelled. */
static double attn_util(const struct mdb_model *m, double tokens, int nth)
{
	if (nth <= 1 || m->n_head <= 0 || m->n_head_kv <= 0 || m->n_head % m->n_head_kv != 0)
		return 1;
	const double group = m->n_head / m->n_head_kv, units = tokens * m->n_head_kv;
	double per = group;
	if (units < nth)
		per = ceil(group / ceil(nth / units));
	const double items = tokens * ceil(m->n_head / per);
	return items / (ceil(items / nth) * nth);
}

/* One step over n tokens per stream (decode: n = 1, B streams; prefill: a
 * micro-batch of n tokens of one stream starting at position pos). */
static void eval_step(const struct ctx *c, const struct cfg *k, int64_t pos, int n, int B,
		      int decode, struct step *s)
{
	memset(s, 0, sizeof *s);
	struct devwork dw[2] = {{0}};
	const struct mdb_model *m = c->m;
	double tokens = (double)n * B;
	double touched = 1;
	if (mdb_model_is_moe(m) && m->moe.n_experts > 0) {
		double q = 1.0 - (double)m->moe.experts_per_token / m->moe.n_experts;
		touched = 1.0 - pow(q, tokens);
	}
	int transitions = 0, prev = -1;
	double link_bytes = 0, act = 4.0 * m->hidden * tokens;
	/* prefill: narrow matrices reach less of the peak (profiles' mm_k0:
	 * the width at which the rate is halved) */
	double kscale = !decode && c->e->mm_k0 > 0 && m->hidden > 0 ? 1 + c->e->mm_k0 / m->hidden : 1;
	/* decode: narrow matrices stream weights at less of the bandwidth
	 * (profiles' bw_k0, the same form) */
	double wscale = decode && c->e->bw_k0 > 0 && m->hidden > 0 ? 1 + c->e->bw_k0 / m->hidden : 1;
	const double util = attn_util(m, decode ? B : n, c->e->attn_threads);
	for (int i = 0; i < m->n_layer; i++) {
		const struct mlay *y = &c->L[i];
		int dg = k->gpu_runs_all || k->dgpu[i];
		int eg = k->gpu_runs_all || k->egpu[i];
		struct devwork *d = &dw[dg];
		double lb = c->w->layer_bytes[i];
		d->bytes += lb * (1 - k->miss_d) * wscale;
		s->ssd_bytes += lb * k->miss_d;
		double span = min_ctx(pos + (decode ? 1 : n / 2.0), y->window);
		double kvread = y->kv_tok * span * B;
		double attn_s = dg ? 0 : decode ? c->e->attn_host_s : c->e->attn_host_pp_s;
		/* a measured attention cost per position (calibrate) replaces the
		 * attention FLOPs and prefill's KV reads (its micro-batch reads the
		 * cache while it is warm: the measured cost has them); decode still
		 * streams the cache, which outgrows the caches */
		double kvbytes = decode ? kvread : attn_s > 0 ? 0 : y->kv_tok * min_ctx(pos + n, y->window);
		d->bytes += kvbytes + 2 * y->state * B;
		d->flops += 2 * y->dense_p * tokens * kscale + (attn_s > 0 ? 0 : y->attn_fpc * span * tokens);
		d->attn_s += attn_s > 0 ? y->attn_fpc * span * tokens * attn_s / util : 0;
		d->layers++;
		if (prev >= 0 && prev != dg)
			transitions++, link_bytes += act;
		prev = dg;
		if (y->moe) {
			struct devwork *x = &dw[eg];
			double eb = c->w->expert_bytes[i] * touched;
			x->bytes += eb * (1 - k->miss_e) * wscale;
			s->ssd_bytes += eb * k->miss_e;
			x->flops += 2 * y->exp_active_p * tokens * kscale;
			if (eg != dg)
				transitions += 2, link_bytes += 2 * act;
		}
	}
	int og = k->gpu_runs_all || k->out_gpu;
	double ob = out_bytes(c);
	double outs = decode ? (double)B : 1; /* prefill: logits of the last token only */
	dw[og].bytes += ob * (1 - k->miss_d) * wscale;
	s->ssd_bytes += ob * k->miss_d;
	dw[og].flops += 2 * c->out_p * outs;
	if (prev >= 0 && prev != og)
		transitions++, link_bytes += act;

	/* prefill on a discrete GPU: llama.cpp runs large batches of host-
	 * resident layers on the GPU, copying their weights over the link */
	if (!decode && c->r.gpu && !c->r.unified && n >= 32 && dw[0].layers > 0) {
		double t_host = fmax(dw[0].bytes / c->r.host_bw, dw[0].flops / c->r.host_mm);
		double t_off = fmax(dw[0].bytes / c->r.link_bps, dw[0].flops / c->r.gpu_mm);
		if (t_off < t_host) {
			if (dw[0].bytes / c->r.link_bps >= dw[0].flops / c->r.gpu_mm)
				s->t[SIM_BOUND_LINK] += t_off;
			else
				s->t[SIM_BOUND_GPU_COMPUTE] += t_off;
			s->t[SIM_BOUND_FIXED] += dw[0].layers * layer_cost(c->e, 1, 0);
			dw[0].bytes = dw[0].flops = dw[0].attn_s = 0; /* these layers run on the GPU now */
			dw[0].layers = 0;
		}
	}
	for (int g = 0; g < 2; g++)
		if (dw[g].layers || dw[g].bytes > 0)
			finish_dev(c, &dw[g], g, decode, s);
	if (c->r.link_bps > 0)
		s->t[SIM_BOUND_LINK] += transitions * c->r.link_lat + link_bytes / c->r.link_bps;
	if (s->ssd_bytes > 0)
		s->t[SIM_BOUND_SSD] += s->ssd_bytes / c->r.ssd_bps;
	if (decode)
		s->t[SIM_BOUND_FIXED] += c->e->token_s;
	else if (isfinite(c->e->step_pp_s))
		s->t[SIM_BOUND_FIXED] += c->e->step_pp_s;
	for (int b = 0; b < SIM_BOUND_COUNT; b++)
		s->total += s->t[b];
}

static double decode_step(const struct ctx *c, const struct cfg *k, int64_t depth, struct step *s)
{
	eval_step(c, k, depth, 1, c->wl->batch, 1, s);
	return s->total;
}

static double prefill_time(const struct ctx *c, const struct cfg *k)
{
	int64_t P = c->wl->prompt, pos = c->wl->depth;
	int ub = c->e->ubatch > 0 ? c->e->ubatch : 512;
	double t = 0;
	while (P > 0) {
		int n = P > ub ? ub : (int)P;
		struct step s;
		eval_step(c, k, pos, n, 1, 0, &s);
		t += s.total;
		pos += n;
		P -= n;
	}
	return t;
}

/* ---- placement --------------------------------------------------------------- */
static void cfg_all(const struct ctx *c, struct cfg *k, int gpu, enum sim_place place)
{
	memset(k, 0, sizeof *k);
	k->place = place;
	for (int i = 0; i < c->m->n_layer; i++)
		k->dgpu[i] = k->egpu[i] = (unsigned char)gpu;
	k->out_gpu = gpu;
	cfg_memory(c, k);
}

/* The last n layers on the accelerator (llama.cpp -ngl n); the output
 * head too when every layer is there. */
static void cfg_split(const struct ctx *c, struct cfg *k, int n)
{
	int L = c->m->n_layer;
	cfg_all(c, k, 0, SIM_PLACE_SPLIT);
	for (int i = L - n; i < L; i++)
		k->dgpu[i] = k->egpu[i] = 1;
	k->out_gpu = n >= L;
	if (n >= L)
		k->place = c->r.unified ? SIM_PLACE_UNIFIED : SIM_PLACE_GPU;
	else if (n == 0)
		k->place = SIM_PLACE_CPU;
	cfg_memory(c, k);
}

/* MoE: every non-expert part on the accelerator, the routed experts of
 * the first layers in host memory (llama.cpp --n-cpu-moe n). */
static void cfg_experts_host(const struct ctx *c, struct cfg *k, int n_cpu)
{
	cfg_all(c, k, 1, SIM_PLACE_EXPERTS_HOST);
	for (int i = 0, done = 0; i < c->m->n_layer && done < n_cpu; i++)
		if (c->L[i].moe)
			k->egpu[i] = 0, done++;
	cfg_memory(c, k);
}

static int count_moe(const struct ctx *c)
{
	int n = 0;
	for (int i = 0; i < c->m->n_layer; i++)
		n += c->L[i].moe;
	return n;
}

/* SSD streaming: what must stay resident (KV, buffers, and for MoE the
 * non-expert weights) is pinned, the page cache holds what else fits. */
static int cfg_ssd(const struct ctx *c, struct cfg *k)
{
	cfg_all(c, k, 0, SIM_PLACE_SSD);
	k->gpu_runs_all = c->r.gpu && c->r.unified;
	double kvbuf = c->buffers + c->r.host_overhead + (c->r.unified ? c->r.gpu_overhead : 0);
	double exp_total = 0, dense_total = c->w->embd_bytes + c->w->output_bytes;
	for (int i = 0; i < c->m->n_layer; i++) {
		exp_total += c->w->expert_bytes[i];
		dense_total += c->w->layer_bytes[i];
		kvbuf += layer_res(c, i) - c->w->layer_bytes[i];
	}
	double usable = c->r.host_usable;
	if (kvbuf >= usable)
		return 0;
	double room = usable - kvbuf;
	if (exp_total > 0 && dense_total < room) {
		k->miss_d = 0;
		k->miss_e = fmax(0, 1 - (room - dense_total) / exp_total);
		k->streamed = exp_total * k->miss_e;
	} else {
		double all = dense_total + exp_total;
		k->miss_d = k->miss_e = fmax(0, 1 - room / all);
		k->streamed = all * k->miss_d;
	}
	k->host_bytes = usable;
	k->gpu_bytes = 0;
	return 1;
}

static void describe_short(const struct ctx *c, char *buf, size_t n)
{
	const struct rates *r = &c->r;
	double need = c->w->total_bytes + c->buffers + c->r.host_overhead;
	for (int i = 0; i < c->m->n_layer; i++)
		need += layer_res(c, i) - c->w->layer_bytes[i];
	snprintf(buf, n, "needs %.1f GiB; usable: %.1f GiB host%s", need / GIB, r->host_usable / GIB,
		 r->gpu && !r->unified ? " + GPU" : "");
	if (r->gpu && !r->unified) {
		size_t u = strlen(buf);
		snprintf(buf + u, n - u, " %.1f GiB", r->gpu_usable / GIB);
	}
}

static void choose(struct ctx *c, struct cfg *best)
{
	const struct rates *r = &c->r;
	struct sim_pred *p = c->p;
	int L = c->m->n_layer;
	struct step s;
	struct cfg k;
	int forced = c->wl->gpu_layers;

	if (!r->gpu) {
		cfg_all(c, &k, 0, SIM_PLACE_CPU);
		if (forced > 0)
			assume(p, "--gpu-layers %d ignored: this machine has no GPU", forced);
		if (cfg_fits(c, &k)) {
			*best = k;
			snprintf(p->why, sizeof p->why, "fits in host memory (%.1f of %.1f GiB usable)",
				 k.host_bytes / GIB, r->host_usable / GIB);
			return;
		}
		goto ssd;
	}
	if (forced >= 0) {
		cfg_split(c, &k, forced);
		*best = k;
		if (!cfg_fits(c, &k)) {
			best->place = SIM_PLACE_NONE;
			snprintf(p->why, sizeof p->why,
				 "--gpu-layers %d needs %.1f GiB on the GPU (%.1f usable) and %.1f GiB in "
				 "host memory (%.1f usable); lower --gpu-layers or use auto",
				 forced, k.gpu_bytes / GIB, r->gpu_usable / GIB, k.host_bytes / GIB,
				 r->host_usable / GIB);
			return;
		}
		snprintf(p->why, sizeof p->why, "%d of %d layers on the GPU as asked (--gpu-layers)",
			 forced, L);
		return;
	}
	/* everything on the accelerator */
	cfg_split(c, &k, L);
	if (cfg_fits(c, &k)) {
		*best = k;
		snprintf(p->why, sizeof p->why, "fits in %s memory (%.1f of %.1f GiB usable)",
			 r->unified ? "unified" : "GPU", k.gpu_bytes / GIB, r->gpu_usable / GIB);
		return;
	}
	/* the most layers that fit, and for MoE the fewest experts on the CPU */
	int found = 0;
	double best_t = INFINITY;
	for (int n = L - 1; n >= 0; n--) {
		cfg_split(c, &k, n);
		if (!cfg_fits(c, &k))
			continue;
		double t = decode_step(c, &k, c->wl->depth + c->wl->prompt, &s);
		*best = k, best_t = t, found = 1;
		snprintf(p->why, sizeof p->why,
			 "%.1f GiB does not fit in the GPU's %.1f GiB: %d of %d layers on the GPU, the "
			 "rest in host memory%s", (k.gpu_bytes + k.host_bytes) / GIB, r->gpu_usable / GIB,
			 n, L, r->unified ? " (or raise the GPU's share of unified memory: see the "
			 "assumptions)" : "");
		break;
	}
	int nm = count_moe(c);
	for (int n = 1; nm > 0 && n <= nm; n++) {
		cfg_experts_host(c, &k, n);
		if (!cfg_fits(c, &k))
			continue;
		double t = decode_step(c, &k, c->wl->depth + c->wl->prompt, &s);
		if (t < best_t) {
			*best = k, best_t = t, found = 1;
			snprintf(p->why, sizeof p->why,
				 "MoE: attention, shared weights and the experts of %d of %d layers on the "
				 "GPU, the other layers' experts in host memory (llama.cpp --n-cpu-moe %d)",
				 nm - n, nm, n);
		}
		break;
	}
	if (found)
		return;
ssd:
	if (!(r->ssd_bps > 0)) {
		best->place = SIM_PLACE_NONE;
		char sh[120];
		describe_short(c, sh, sizeof sh);
		snprintf(p->why, sizeof p->why,
			 "does not fit in memory (%s) and the SSD read speed is unknown, so streaming "
			 "from SSD cannot be predicted; run llmcap probe --storage or add "
			 "storage_read_gbps", sh);
		return;
	}
	if (!cfg_ssd(c, &k)) {
		best->place = SIM_PLACE_NONE;
		char sh[120];
		describe_short(c, sh, sizeof sh);
		snprintf(p->why, sizeof p->why,
			 "does not fit: %s; even the KV cache and buffers alone exceed memory — lower "
			 "--ctx or --batch, or pick a smaller model", sh);
		return;
	}
	*best = k;
	char sh[120];
	describe_short(c, sh, sizeof sh);
	if (k.miss_d == 0)
		snprintf(p->why, sizeof p->why,
			 "%s: non-expert weights pinned in memory, routed experts read from SSD through "
			 "the page cache (%.0f%% of them cached)", sh, 100 * (1 - k.miss_e));
	else
		snprintf(p->why, sizeof p->why,
			 "%s: weights read from SSD through the page cache each token (%.0f%% cached)",
			 sh, 100 * (1 - k.miss_d));
}

/* ---- the prediction ------------------------------------------------------------ */
int sim_predict(const struct hw_spec *h, const struct mdb_model *m, const struct sim_weights *w,
		const struct sim_workload *wl, const struct sim_eff *e, struct sim_pred *p,
		char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	if (sim_workload_check(wl, m, err, errlen))
		return -2;
	if (w->n_layer != m->n_layer) {
		snprintf(err, errlen, "the weights describe %d layers but model %s has %d", w->n_layer,
			 m->id, m->n_layer);
		return -2;
	}
	if (!(h->host.memory_gb > 0) || !(h->host.memory_bandwidth_gbps > 0)) {
		snprintf(err, errlen,
			 "hardware %s has no host memory size or bandwidth; add host.memory_gb and "
			 "host.memory_bandwidth_gbps (llmcap.hardware/1)", h->id);
		return -2;
	}
	struct sim_eff from_prof;
	if (e->prof) {
		/* the engine's measured factors for this machine's backends
		 * and these weights' type */
		if (sim_eff_from_profiles(e->prof, e->engine, h, w, &from_prof, err, errlen) != 0)
			return -2;
		from_prof.prof = NULL;
		e = &from_prof;
	}
	struct ctx c;
	memset(&c, 0, sizeof c);
	c.h = h, c.m = m, c.w = w, c.wl = wl, c.e = e, c.p = p;
	snprintf(p->engine, sizeof p->engine, "%s", e->engine);
	p->n_layer = m->n_layer;
	p->band = e->band;
	model_layers(m, wl->kv_quant, c.L);
	c.out_p = (double)m->vocab * m->hidden;
	int ub = e->ubatch > 0 ? e->ubatch : 512;
	int64_t ubn = wl->prompt < ub ? (wl->prompt > 0 ? wl->prompt : 1) : ub;
	int fmax_ = m->ffn;
	if (mdb_model_is_moe(m) && m->moe.expert_ffn * m->moe.experts_per_token > fmax_)
		fmax_ = m->moe.expert_ffn * m->moe.experts_per_token;
	/* compute buffers: twice the widest activations of one micro-batch
	 * plus the logits of every stream (assumed; flash attention) */
	c.buffers = 2.0 * 4 * (double)ubn * (4.0 * m->hidden + 3.0 * fmax_) +
		4.0 * m->vocab * wl->batch;
	machine_rates(&c);
	assume(p, "%s", e->source);
	if (e->calibrated)
		assume(p, "error band +-%.0f%% from calibration residuals", 100 * e->band);
	else if (strstr(e->source, " profile "))
		assume(p, "error band +-%.0f%%: from the engine profile (1.5 x its fit's largest error, "
		       "at least 10%%; 40%% where a profile is derived, not measured)", 100 * e->band);
	else
		assume(p, "error band +-%.0f%%: no calibration yet, so the default efficiencies' "
		       "plausible spread", 100 * e->band);
	if (wl->ctx > m->context && m->context > 0)
		assume(p, "--ctx %lld is beyond %s's trained context of %lld tokens",
		       (long long)wl->ctx, m->id, (long long)m->context);

	struct cfg k;
	memset(&k, 0, sizeof k);
	choose(&c, &k);

	/* memory breakdown (whatever the placement) */
	struct sim_memory *mem = &p->mem;
	mem->weights_bytes = w->total_bytes;
	mem->kv_bytes = kv_bytes(c.L, m->n_layer, wl->ctx) * wl->batch;
	mem->state_bytes = sim_state_bytes(m) * wl->batch;
	mem->buffers_bytes = c.buffers;
	int on_gpu = c.r.gpu && k.place != SIM_PLACE_CPU && (k.place != SIM_PLACE_SSD || c.r.unified);
	mem->overhead_bytes = c.r.host_overhead + (on_gpu ? c.r.gpu_overhead : 0);
	mem->total_bytes = mem->weights_bytes + mem->kv_bytes + mem->state_bytes +
		mem->buffers_bytes + mem->overhead_bytes;
	mem->gpu_usable = c.r.gpu_usable;
	mem->host_usable = c.r.host_usable;
	mem->kv_bytes_per_token = kv_bytes(c.L, m->n_layer, 1);
	p->place = k.place;
	int Lg = 0;
	for (int i = 0; i < m->n_layer; i++)
		Lg += k.dgpu[i];
	p->gpu_layers = c.r.gpu ? Lg : 0;
	if (k.place == SIM_PLACE_NONE) {
		p->fits = 0;
		mem->gpu_bytes = k.gpu_bytes;
		mem->host_bytes = k.host_bytes;
		p->decode_tps = p->prefill_tps = p->decode_tps_total = 0;
		p->ttft_s = p->total_s = NAN;
		p->expert_hit_rate = NAN;
		p->bottleneck = SIM_BOUND_HOST_MEM;
		return 0;
	}
	p->fits = 1;
	mem->gpu_bytes = k.gpu_bytes;
	mem->host_bytes = k.host_bytes;
	mem->ssd_streamed_bytes = k.streamed;
	if (k.place == SIM_PLACE_SSD) {
		p->expert_hit_rate = mdb_model_is_moe(m) ? 1 - k.miss_e : NAN;
		if (c.r.ssd_assumed)
			assume(p, "SSD read speed not in the hardware description: assumed a PCIe 4.0 NVMe "
			       "SSD, %.0f GB/s sequential x %.2f for mmap page faults; add "
			       "storage_read_gbps for a better figure", SIM_DEFAULT_SSD_GBPS, e->ssd);
		else if (h->storage_mmap_read_gbps > 0)
			assume(p, "SSD: %.2f GB/s measured through mmap page faults (llmcap probe "
			       "--storage)", h->storage_mmap_read_gbps);
		else
			assume(p, "SSD: %.1f GB/s sequential read %s x %.2f for mmap page faults "
			       "(assumed)", h->storage_read_gbps, h->measured ? "measured" : "spec", e->ssd);
		if (mdb_model_is_moe(m))
			assume(p, "expert cache: routing assumed uniform and independent from token to "
			       "token, so each layer's hit rate is the cached share of its experts; real "
			       "routers are skewed, so this is a lower bound");
		else
			assume(p, "page cache assumed to keep a fixed part of the weights resident; an LRU "
			       "cache scanning weights larger than itself can do worse");
		assume(p, "SSD reads are not overlapped with compute (synchronous page faults)");
	} else {
		p->expert_hit_rate = NAN;
	}
	if (c.r.gpu && !c.r.unified && (k.place == SIM_PLACE_GPU || k.place == SIM_PLACE_SPLIT ||
					k.place == SIM_PLACE_EXPERTS_HOST))
		assume(p, "the token embedding stays in host memory (as llama.cpp keeps it)");
	assume(p, "flash attention on: KV read once per micro-batch, no score matrix buffer");

	struct step s;
	int64_t d0 = wl->depth + wl->prompt;
	double t0 = decode_step(&c, &k, d0, &s);
	memcpy(p->decode_step_s, s.t, sizeof s.t);
	p->ssd_bytes_per_token = s.ssd_bytes / wl->batch;
	p->decode_tps = 1.0 / t0;
	p->decode_tps_total = wl->batch / t0;
	int bb = 0;
	for (int b = 1; b < SIM_BOUND_COUNT; b++)
		if (s.t[b] > s.t[bb])
			bb = b;
	p->bottleneck = (enum sim_bound)bb;
	double tp = wl->prompt > 0 ? prefill_time(&c, &k) : 0;
	p->prefill_tps = wl->prompt > 0 ? wl->prompt / tp : NAN;
	p->ttft_s = tp;
	struct step s1;
	double t1 = decode_step(&c, &k, d0 + (wl->gen > 0 ? wl->gen - 1 : 0), &s1);
	p->total_s = tp + wl->gen * (t0 + t1) / 2;
	/* the curve over context depth */
	int64_t pts[SIM_MAX_CURVE];
	int np = 0;
	for (int64_t d = 128; d < wl->ctx && np < SIM_MAX_CURVE - 1; d *= 2)
		pts[np++] = d;
	pts[np++] = wl->ctx;
	for (int i = 0; i < np; i++) {
		p->curve[i].ctx = pts[i];
		p->curve[i].decode_tps = 1.0 / decode_step(&c, &k, pts[i] - 1, &s1);
	}
	p->n_curve = np;
	return 0;
}

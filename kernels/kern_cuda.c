/*
 * kernels: the CUDA backend's host side — the fatbins embedded at build
 * time loaded through the driver API (cudrv/), device matrices, kernel
 * launches, single ops for tests, GEMV and copy timing, and the
 * llama-family forward pass on the GPU. See kern_cuda.h.
 *
 * The forward pass per step of n tokens (n = 1: decode) enqueues on one
 * stream, per layer: RMSNorm + quantize, the q/k/v product (one matrix
 * when q, k and v share a type; biases added by it), RoPE + KV store,
 * attention (its output quantized), the output projection added into the
 * residual stream, RMSNorm + quantize, the gate/up product (one matrix when
 * they share a type), SwiGLU + quantize, the down projection added into
 * the residual stream: 9 launches per layer. Each step shape (n tokens,
 * which logits) is captured once as a CUDA graph (its kernels read the
 * position and tokens from a small struct in device memory, so one graph
 * serves every step of that shape) and replayed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudrv/cudrv.h"
#include "kernels/cuda/abi.h"
#include "kernels/kern_cuda.h"
#include "kernels/kern_internal.h"

/* The fatbins (build/gen/cuda_NAME.c, written by the Makefile from
 * kernels/cuda/NAME.cu, or empty when nvcc was not found). */
extern const char kern_cuda_gemv[];
extern const unsigned long kern_cuda_gemv_len;
extern const char kern_cuda_ops[];
extern const unsigned long kern_cuda_ops_len;

#define N_NC 4                    /* matrix kernels for 1, 2, 4, 8 tokens */
static const int nc_of[N_NC] = {1, 2, 4, 8};
#define FALLBACK_BPSM 2         /* blocks per SM without an occupancy query */

/* ---- weight types: device layout and kernel names ---------------------- */
struct wtype {
	int type;
	const char *kname;            /* kcu_gemv_<kname>_<NC> */
	int blk, blk_bytes;           /* GGUF block */
	int uw;                       /* weights per lane unit (gemv.cu) */
	int quant;                    /* 1: int8 activations; 0: float */
	int n_seg;                    /* repack: bytes of each block to arrays q, s, h (then
				       * kcu_repack's mode for Q5_0, Q5_K, Q6_K: abi.h) */
	struct { int off, len, arr; } seg[3];
};

static const struct wtype wtypes[] = {
	{QT_Q4_0, "q4_0", 32, 18, 32, 1, 2, {{2, 16, 0}, {0, 2, 1}}},
	{QT_Q4_1, "q4_1", 32, 20, 32, 1, 2, {{4, 16, 0}, {0, 4, 1}}},
	{QT_Q5_0, "q5_0", 32, 22, 32, 1, 3, {{6, 16, 0}, {0, 2, 1}, {2, 4, 2}}},
	{QT_Q8_0, "q8_0", 32, 34, 16, 1, 2, {{2, 32, 0}, {0, 2, 1}}},
	{QT_Q4_K, "q4_K", 256, 144, 32, 1, 2, {{16, 128, 0}, {0, 16, 1}}},
	{QT_Q5_K, "q5_K", 256, 176, 32, 1, 3, {{48, 128, 0}, {0, 16, 1}, {16, 32, 2}}},
	{QT_Q6_K, "q6_K", 256, 210, 64, 1, 3, {{0, 192, 0}, {192, 16, 1}, {208, 2, 2}}},
	{QT_F32, "f32", 1, 4, 4, 0, 0, {{0}}},
	{QT_F16, "f16", 1, 2, 8, 0, 0, {{0}}},
	{QT_BF16, "bf16", 1, 2, 8, 0, 0, {{0}}},
};
#define N_WT ((int)(sizeof wtypes / sizeof wtypes[0]))

static int wtype_index(int type)
{
	for (int i = 0; i < N_WT; i++)
		if (wtypes[i].type == type)
			return i;
	return -1;
}

/* ---- the context -------------------------------------------------------- */
struct kern_cuda {
	struct cudrv d;
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod_gemv, mod_ops;
	CUstream st;
	CUevent ev0, ev1;
	CUfunction f_gemv[N_WT][N_NC];
	CUfunction f_repack, f_embed, f_norm, f_rope, f_attn[3], f_glu; /* f_attn: head 64, 128, 256 */
	CUfunction f_gemm[2][2];      /* more than 8 tokens through the tensor cores: [Q4_0, Q8_0][16, 64 rows a block], or NULL */
	int sms, cc, smem_optin;
	int bpsm;                     /* blocks per SM the matrix kernels aim for; 0: as many as fit */
	int occ[N_WT][N_NC];          /* blocks of each matrix kernel that fit an SM ... */
	unsigned occ_smem[N_WT][N_NC]; /* ... with this much dynamic shared memory */
	int pdl;                      /* launches with programmatic dependent launch (sm_90+) */
	char name[192];
};

int kern_cuda_built(void)
{
	return kern_cuda_gemv_len > 0 && kern_cuda_ops_len > 0;
}

static int cu_fail(const struct kern_cuda *c, CUresult r, const char *what, char *err, size_t errlen)
{
	if (err)
		snprintf(err, errlen, "%s: %s", what, cudrv_err(&c->d, r));
	return -2;
}

#define CU(call, what)                                                       \
	do {                                                                 \
		CUresult r_ = (call);                                        \
		if (r_ != CUDA_SUCCESS)                                      \
			return cu_fail(c, r_, (what), err, errlen);          \
	} while (0)

static int load_module(struct kern_cuda *c, CUmodule *mod, const char *data, unsigned long len,
		       const char *name, char *err, size_t errlen)
{
	/* the fatbin's header wants 8-byte alignment: copy it out of the
	 * char array */
	void *buf = malloc(len);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	memcpy(buf, data, len);
	CUresult r = c->d.cuModuleLoadData(mod, buf);
	free(buf);
	if (r == CUDA_ERROR_NO_BINARY_FOR_GPU) {
		snprintf(err, errlen, "the GPU (%s) is not one llmcap's CUDA kernels were built for "
			 "(sm_80, sm_86/87, sm_89, sm_90 and newer through PTX)", c->name);
		return -1;
	}
	if (r != CUDA_SUCCESS) {
		snprintf(err, errlen, "loading the %s kernels (cuModuleLoadData): %s", name,
			 cudrv_err(&c->d, r));
		return -2;
	}
	return 0;
}

static int get_fn(struct kern_cuda *c, CUmodule mod, CUfunction *f, const char *name, char *err,
		  size_t errlen)
{
	CUresult r = c->d.cuModuleGetFunction(f, mod, name);
	if (r != CUDA_SUCCESS) {
		snprintf(err, errlen, "kernel %s is missing from the embedded fatbin (%s); rebuild llmcap",
			 name, cudrv_err(&c->d, r));
		return -2;
	}
	return 0;
}

void kern_cuda_close(struct kern_cuda *c)
{
	if (!c)
		return;
	if (c->ctx) {
		c->d.cuCtxSetCurrent(c->ctx);
		if (c->st)
			c->d.cuStreamSynchronize(c->st);
		if (c->mod_gemv)
			c->d.cuModuleUnload(c->mod_gemv);
		if (c->mod_ops)
			c->d.cuModuleUnload(c->mod_ops);
		if (c->ev0)
			c->d.cuEventDestroy(c->ev0);
		if (c->ev1)
			c->d.cuEventDestroy(c->ev1);
		if (c->st)
			c->d.cuStreamDestroy(c->st);
		c->d.cuCtxSetCurrent(NULL);
		c->d.cuDevicePrimaryCtxRelease(c->dev);
	}
	free(c);
}

int kern_cuda_open(struct kern_cuda **out, int device, char *err, size_t errlen)
{
	char tmp[256];
	if (!err)
		err = tmp, errlen = sizeof tmp;
	*out = NULL;
	if (!kern_cuda_built()) {
		snprintf(err, errlen, "llmcap was built without CUDA kernels (nvcc was not found at build "
			 "time); rebuild with nvcc on PATH to run on an NVIDIA GPU");
		return -1;
	}
	struct kern_cuda *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	int rc = -1;
	if (cudrv_load(&c->d, err, errlen) != 0 || cudrv_init(&c->d, err, errlen) != 0)
		goto fail;
	int count = 0;
	if (c->d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count <= 0) {
		snprintf(err, errlen, "libcuda.so.1 found, no CUDA device");
		goto fail;
	}
	if (device < 0 || device >= count) {
		snprintf(err, errlen, "no CUDA device %d (%d found)", device, count);
		goto fail;
	}
	rc = -2;
	CUresult r;
	if ((r = c->d.cuDeviceGet(&c->dev, device)) != CUDA_SUCCESS) {
		cu_fail(c, r, "cuDeviceGet", err, errlen);
		goto fail;
	}
	char dname[96] = "CUDA device";
	c->d.cuDeviceGetName(dname, (int)sizeof dname, c->dev);
	int maj = 0, min = 0, smem = 48 * 1024;
	c->d.cuDeviceGetAttribute(&maj, CU_ATTR_CC_MAJOR, c->dev);
	c->d.cuDeviceGetAttribute(&min, CU_ATTR_CC_MINOR, c->dev);
	c->d.cuDeviceGetAttribute(&c->sms, CU_ATTR_MULTIPROCESSOR_COUNT, c->dev);
	if (c->d.cuDeviceGetAttribute(&smem, CU_ATTR_MAX_SHARED_PER_BLOCK_OPTIN, c->dev) != CUDA_SUCCESS ||
	    smem < 48 * 1024 || !c->d.cuFuncSetAttribute)
		smem = 48 * 1024;
	c->smem_optin = smem;
	c->cc = maj * 10 + min;
	if (c->sms <= 0)
		c->sms = 1;
	size_t mem = 0;
	c->d.cuDeviceTotalMem(&mem, c->dev);
	snprintf(c->name, sizeof c->name, "%s, sm_%d%d, %d SMs, %.1f GiB", dname, maj, min, c->sms,
		 mem / (1024.0 * 1024.0 * 1024.0));
	if (c->cc < 80) {
		snprintf(err, errlen, "the GPU (%s) is older than the sm_80 (Ampere) llmcap's CUDA kernels "
			 "are built for", c->name);
		rc = -1;
		goto fail;
	}
	if ((r = c->d.cuDevicePrimaryCtxRetain(&c->ctx, c->dev)) != CUDA_SUCCESS) {
		c->ctx = NULL;
		cu_fail(c, r, "cuDevicePrimaryCtxRetain", err, errlen);
		goto fail;
	}
	if ((r = c->d.cuCtxSetCurrent(c->ctx)) != CUDA_SUCCESS ||
	    (r = c->d.cuStreamCreate(&c->st, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS ||
	    (r = c->d.cuEventCreate(&c->ev0, 0)) != CUDA_SUCCESS ||
	    (r = c->d.cuEventCreate(&c->ev1, 0)) != CUDA_SUCCESS) {
		cu_fail(c, r, "creating the stream and events", err, errlen);
		goto fail;
	}
	if ((rc = load_module(c, &c->mod_gemv, kern_cuda_gemv, kern_cuda_gemv_len, "matrix", err, errlen)) ||
	    (rc = load_module(c, &c->mod_ops, kern_cuda_ops, kern_cuda_ops_len, "transformer op", err, errlen)))
		goto fail;
	rc = -2;
	for (int i = 0; i < N_WT; i++)
		for (int k = 0; k < N_NC; k++) {
			char fn[64];
			snprintf(fn, sizeof fn, "kcu_gemv_%s_%d", wtypes[i].kname, nc_of[k]);
			if (get_fn(c, c->mod_gemv, &c->f_gemv[i][k], fn, err, errlen))
				goto fail;
			if (c->smem_optin > 48 * 1024)
				c->d.cuFuncSetAttribute(c->f_gemv[i][k], CU_FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES,
							c->smem_optin);
		}
	/* the tensor-core prefill kernels (LLMCAP_CUDA_NO_MMA=1: the dp4a
	 * path for every token count, to time one against the other) */
	const char *nm = getenv("LLMCAP_CUDA_NO_MMA");
	if (!(nm && *nm && strcmp(nm, "0") != 0)) {
		static const char *const gn[2][2] = {{"kcu_gemm_q4_0", "kcu_gemm_q4_0_4"},
						     {"kcu_gemm_q8_0", "kcu_gemm_q8_0_4"}};
		for (int i = 0; i < 2; i++)
			for (int k = 0; k < 2; k++)
				if (c->d.cuModuleGetFunction(&c->f_gemm[i][k], c->mod_gemv, gn[i][k]) != CUDA_SUCCESS)
					c->f_gemm[i][k] = NULL;
	}
	if (get_fn(c, c->mod_ops, &c->f_repack, "kcu_repack", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_embed, "kcu_embed", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_norm, "kcu_norm", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_rope, "kcu_rope", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_attn[0], "kcu_attn_64", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_attn[1], "kcu_attn_128", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_attn[2], "kcu_attn_256", err, errlen) ||
	    get_fn(c, c->mod_ops, &c->f_glu, "kcu_glu", err, errlen))
		goto fail;
	/* Hopper and newer: each kernel of a step may start while the one
	 * before it finishes (it loads its weights, then waits) */
	const char *np = getenv("LLMCAP_CUDA_NO_PDL");
	c->pdl = c->cc >= 90 && c->d.cuLaunchKernelEx && !(np && *np && strcmp(np, "0") != 0);
	*out = c;
	return 0;
fail:
	kern_cuda_close(c);
	return rc;
}

const char *kern_cuda_device_name(const struct kern_cuda *c)
{
	return c->name;
}

int kern_cuda_mem(struct kern_cuda *c, size_t *free_b, size_t *total_b)
{
	return c->d.cuMemGetInfo(free_b, total_b) == CUDA_SUCCESS ? 0 : -2;
}

void kern_cuda_set_blocks_per_sm(struct kern_cuda *c, int bpsm)
{
	c->bpsm = bpsm > 0 ? bpsm : 0;
}

/* ---- launches ------------------------------------------------------------- */
/* Every kernel of kernels/cuda/ except kcu_repack waits (pdl_wait) before
 * touching what an earlier kernel wrote, so all but it may be launched
 * with programmatic dependent launch. */
static int launch_pdl(struct kern_cuda *c, CUfunction f, unsigned gx, unsigned gy, unsigned block,
		      unsigned smem, void *param, int pdl, const char *what, char *err, size_t errlen)
{
	void *args[] = {param};
	CUresult r;
	if (pdl && c->pdl) {
		CUlaunchAttribute at;
		memset(&at, 0, sizeof at);
		at.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
		at.value.i = 1;
		CUlaunchConfig cfg = {gx, gy, 1, block, 1, 1, smem, c->st, &at, 1};
		r = c->d.cuLaunchKernelEx(&cfg, f, args, NULL);
	} else {
		r = c->d.cuLaunchKernel(f, gx, gy, 1, block, 1, 1, smem, c->st, args, NULL);
	}
	if (r != CUDA_SUCCESS) {
		if (err)
			snprintf(err, errlen, "launching %s: %s", what, cudrv_err(&c->d, r));
		return -2;
	}
	return 0;
}

static int launch(struct kern_cuda *c, CUfunction f, unsigned gx, unsigned gy, unsigned block,
		  unsigned smem, void *param, const char *what, char *err, size_t errlen)
{
	return launch_pdl(c, f, gx, gy, block, smem, param, 1, what, err, errlen);
}

static int sync_stream(struct kern_cuda *c, const char *what, char *err, size_t errlen)
{
	CUresult r = c->d.cuStreamSynchronize(c->st);
	if (r != CUDA_SUCCESS) {
		if (err)
			snprintf(err, errlen, "%s on the GPU: %s", what, cudrv_err(&c->d, r));
		return -2;
	}
	return 0;
}

/* A matrix in device memory (abi.h layout): arrays q, s, h. */
struct kcu_mat {
	int wt;                       /* index into wtypes */
	int64_t rows, cols;
	CUdeviceptr a[3];
	size_t arr_row[3];            /* bytes per row of each array */
};

/* Bytes per row of each array of type index wt for cols values. */
static void mat_rows_bytes(int wt, int64_t cols, size_t arr_row[3])
{
	const struct wtype *t = &wtypes[wt];
	arr_row[0] = arr_row[1] = arr_row[2] = 0;
	if (!t->n_seg) {
		arr_row[0] = (size_t)cols * (size_t)t->blk_bytes;
		return;
	}
	for (int s = 0; s < t->n_seg; s++)
		arr_row[t->seg[s].arr] = (size_t)(cols / t->blk) * (size_t)t->seg[s].len;
}

/* Checks that the GPU kernels take a matrix of this type and width. */
static int mat_check(int type, int64_t cols, const char *what, char *err, size_t errlen)
{
	int wt = wtype_index(type);
	if (wt < 0) {
		if (err)
			snprintf(err, errlen, "%s: tensor type %s has no CUDA kernel", what,
				 mdb_qtype(type) ? mdb_qtype(type)->name : "?");
		return -3;
	}
	if (cols <= 0 || cols % 32 || cols % wtypes[wt].blk || cols > (1 << 24)) {
		if (err)
			snprintf(err, errlen, "%s: rows of %lld values (the CUDA kernels take multiples of 32%s)",
				 what, (long long)cols, wtypes[wt].blk == 256 ? ", of 256 for k-quants" : "");
		return -3;
	}
	return wt;
}

/* Uploads rows [row0, row0 + src->rows) of dm from GGUF bytes (host),
 * repacking quantized blocks through the device staging buffer stg. */
static int mat_fill(struct kern_cuda *c, const struct kcu_mat *dm, int64_t row0, const struct kern_mat *src,
		    CUdeviceptr stg, size_t stg_bytes, char *err, size_t errlen)
{
	const struct wtype *t = &wtypes[dm->wt];
	if (!t->n_seg) {
		CU(c->d.cuMemcpyHtoDAsync(dm->a[0] + (size_t)row0 * dm->arr_row[0], src->data,
				     (size_t)src->rows * src->row_bytes, c->st), "cuMemcpyHtoD (weights)");
		return 0;
	}
	int64_t per = (int64_t)(stg_bytes / src->row_bytes);
	if (per < 1) {
		snprintf(err, errlen, "a row of %zu bytes exceeds the staging buffer", src->row_bytes);
		return -2;
	}
	const int64_t nb = src->cols / t->blk;
	for (int64_t r = 0; r < src->rows; r += per) {
		const int64_t n = src->rows - r < per ? src->rows - r : per;
		CU(c->d.cuMemcpyHtoDAsync(stg, (const uint8_t *)src->data + (size_t)r * src->row_bytes,
				     (size_t)n * src->row_bytes, c->st), "cuMemcpyHtoD (weights)");
		struct kcu_repack p = {0};
		p.raw = stg;
		p.nblk = n * nb;
		p.blk_bytes = t->blk_bytes;
		p.n_seg = t->n_seg;
		p.mode = t->type == QT_Q5_0 ? KCU_REPACK_Q5_0 : t->type == QT_Q5_K ? KCU_REPACK_Q5_K :
			 t->type == QT_Q6_K ? KCU_REPACK_Q6_K : KCU_REPACK_PLAIN;
		p.row_blocks = (int)nb;
		for (int s = 0; s < t->n_seg; s++) {
			const int a = t->seg[s].arr;
			p.src_off[s] = t->seg[s].off;
			p.len[s] = t->seg[s].len;
			p.dst[s] = dm->a[a] + (size_t)(row0 + r) * dm->arr_row[a];
		}
		int rc = launch_pdl(c, c->f_repack, (unsigned)((p.nblk + 255) / 256), 1, 256, 0, &p, 0,
				    "the repack kernel", err, errlen);
		if (rc)
			return rc;
		/* the staging buffer is reused: wait */
		if ((rc = sync_stream(c, "repacking weights", err, errlen)))
			return rc;
	}
	return 0;
}

/* Y = X W^T over the quantized (xq, xs) or float (xf) activations. */
static int gemv(struct kern_cuda *c, const struct kcu_mat *w, CUdeviceptr xq, CUdeviceptr xs,
		CUdeviceptr xf, int n_tok, CUdeviceptr y, int ldy, CUdeviceptr bias, int accumulate,
		char *err, size_t errlen)
{
	const struct wtype *t = &wtypes[w->wt];
	/* more than 8 tokens of Q4_0 or Q8_0 over rows enough for a block per
	 * SM: the tensor cores, 16 rows by 64 tokens a block, or 64 rows where
	 * that still gives a block per SM (gemv.cu, gemm_tc). Fewer rows keep
	 * the dp4a kernels: the 16-row blocks leave SMs idle there (measured
	 * on the H100: SmolLM2-135M-wide Q4_0 prefill slower) */
	const int gi = t->type == QT_Q4_0 ? 0 : t->type == QT_Q8_0 ? 1 : -1;
	const int big = (w->rows + 63) / 64 >= c->sms;
	CUfunction fm = n_tok > 8 && gi >= 0 && w->rows >= 16 * (int64_t)c->sms ? c->f_gemm[gi][big] : NULL;
	if (fm) {
		struct kcu_gemv p = {0};
		p.q = w->a[0];
		p.s = w->a[1];
		p.rows = (int)w->rows;
		p.cols = (int)w->cols;
		p.xq = xq;
		p.xs = xs;
		p.n_tok = n_tok;
		p.y = y;
		p.ldy = ldy;
		p.bias = bias;
		p.accumulate = accumulate;
		const int rpb = big ? 64 : 16;
		return launch(c, fm, (unsigned)((w->rows + rpb - 1) / rpb), (unsigned)((n_tok + 63) / 64), 8 * rpb, 0, &p,
			      "a matrix kernel (tensor cores)", err, errlen);
	}
	const size_t per_col = t->quant ? (size_t)w->cols + (size_t)w->cols / 4 : (size_t)w->cols * 4;
	int k = 0;
	while (k < N_NC - 1 && nc_of[k] < n_tok)
		k++;
	while (k > 0 && per_col * (size_t)nc_of[k] > (size_t)c->smem_optin)
		k--;
	if (per_col > (size_t)c->smem_optin) {
		if (err)
			snprintf(err, errlen, "a row of %lld values needs %zu bytes of shared memory; the GPU "
				 "gives a block %d", (long long)w->cols, per_col, c->smem_optin);
		return -3;
	}
	const int nc = nc_of[k];
	const unsigned smem = (unsigned)(per_col * (size_t)nc);
	/* one wave: as many blocks as the SMs hold at once, each taking a
	 * contiguous slice of rows */
	int bpsm = c->bpsm;
	if (bpsm <= 0) {
		if (c->occ_smem[w->wt][k] != smem || c->occ[w->wt][k] <= 0) {
			int nb = 0;
			if (!c->d.cuOccupancyMaxActiveBlocksPerMultiprocessor ||
			    c->d.cuOccupancyMaxActiveBlocksPerMultiprocessor(&nb, c->f_gemv[w->wt][k], KCU_THREADS,
									     smem) != CUDA_SUCCESS || nb <= 0)
				nb = FALLBACK_BPSM;
			c->occ[w->wt][k] = nb;
			c->occ_smem[w->wt][k] = smem;
		}
		bpsm = c->occ[w->wt][k];
	}
	const int64_t target = (int64_t)c->sms * bpsm;
	int64_t rpb = (w->rows + target - 1) / target;
	rpb = (rpb + 7) / 8 * 8;
	if (rpb < 8)
		rpb = 8;
	struct kcu_gemv p = {0};
	p.q = w->a[0];
	p.s = w->a[1];
	p.h = w->a[2];
	p.rows = (int)w->rows;
	p.cols = (int)w->cols;
	p.xq = xq;
	p.xs = xs;
	p.xf = xf;
	p.n_tok = n_tok;
	p.rpb = (int)rpb;
	p.y = y;
	p.ldy = ldy;
	p.bias = bias;
	p.accumulate = accumulate;
	return launch(c, c->f_gemv[w->wt][k], (unsigned)((w->rows + rpb - 1) / rpb),
		      (unsigned)((n_tok + nc - 1) / nc), KCU_THREADS, smem, &p,
		      "a matrix kernel", err, errlen);
}

static int norm_quant(struct kern_cuda *c, CUdeviceptr x, CUdeviceptr w, int n, int n_tok, float eps,
		      int norm, CUdeviceptr xq, CUdeviceptr xs, CUdeviceptr xf, char *err, size_t errlen)
{
	struct kcu_norm p = {x, w, n, n_tok, eps, norm, xq, xs, xf};
	return launch(c, c->f_norm, (unsigned)n_tok, 1, 1024, 0, &p, "the norm kernel", err, errlen);
}

/* The attention kernel for a head size, or NULL (64, 128, 256 only). */
static CUfunction attn_fn(const struct kern_cuda *c, int head_dim)
{
	return head_dim == 64 ? c->f_attn[0] : head_dim == 128 ? c->f_attn[1] : head_dim == 256 ? c->f_attn[2] : NULL;
}

static int glu(struct kern_cuda *c, CUdeviceptr gu, int n_ff, int n_tok, CUdeviceptr xq, CUdeviceptr xs,
	       CUdeviceptr xf, char *err, size_t errlen)
{
	struct kcu_glu p = {gu, n_ff, n_tok, xq, xs, xf};
	return launch(c, c->f_glu, (unsigned)((n_ff / 32 + 7) / 8), (unsigned)n_tok, 256, 0, &p,
		      "the SwiGLU kernel", err, errlen);
}

/* ---- scratch device memory for the single ops ----------------------------- */
#define MAX_BUF 12
struct scratch {
	struct kern_cuda *c;
	CUdeviceptr p[MAX_BUF];
	int n;
};

static CUdeviceptr s_alloc(struct scratch *s, size_t bytes, const void *init, char *err, size_t errlen)
{
	CUdeviceptr p = 0;
	if (s->n >= MAX_BUF || bytes == 0)
		return 0;
	CUresult r = s->c->d.cuMemAlloc(&p, bytes);
	if (r != CUDA_SUCCESS) {
		cu_fail(s->c, r, "cuMemAlloc", err, errlen);
		return 0;
	}
	s->p[s->n++] = p;
	r = init ? s->c->d.cuMemcpyHtoDAsync(p, init, bytes, s->c->st)
		 : s->c->d.cuMemsetD8Async(p, 0xff, bytes, s->c->st);
	if (r != CUDA_SUCCESS) {
		cu_fail(s->c, r, "filling device memory", err, errlen);
		return 0;
	}
	return p;
}

static void s_free(struct scratch *s)
{
	s->c->d.cuStreamSynchronize(s->c->st);
	for (int i = 0; i < s->n; i++)
		s->c->d.cuMemFree(s->p[i]);
	s->n = 0;
}

static int s_get(struct scratch *s, void *dst, CUdeviceptr src, size_t bytes, char *err, size_t errlen)
{
	struct kern_cuda *c = s->c;
	int rc = sync_stream(c, "the kernel", err, errlen);
	if (rc)
		return rc;
	CU(c->d.cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
	return 0;
}

/* A matrix uploaded into scratch memory. */
static int s_mat(struct scratch *s, const struct kern_mat *w, struct kcu_mat *dm, char *err, size_t errlen)
{
	int wt = mat_check(w->type, w->cols, "matrix", err, errlen);
	if (wt < 0)
		return wt;
	memset(dm, 0, sizeof *dm);
	dm->wt = wt;
	dm->rows = w->rows;
	dm->cols = w->cols;
	mat_rows_bytes(wt, w->cols, dm->arr_row);
	for (int a = 0; a < 3; a++)
		if (dm->arr_row[a] && !(dm->a[a] = s_alloc(s, dm->arr_row[a] * (size_t)w->rows, NULL, err, errlen)))
			return -2;
	size_t raw = (size_t)w->rows * w->row_bytes;
	CUdeviceptr stg = 0;
	if (wtypes[wt].n_seg && !(stg = s_alloc(s, raw, NULL, err, errlen)))
		return -2;
	return mat_fill(s->c, dm, 0, w, stg, raw, err, errlen);
}

static void set_current(struct kern_cuda *c)
{
	c->d.cuCtxSetCurrent(c->ctx);
}

int kern_cuda_matmul(struct kern_cuda *c, const struct kern_mat *w, const float *X, int n_tok,
		     const float *bias, int accumulate, float *Y, char *err, size_t errlen)
{
	if (n_tok < 1 || n_tok > KCU_MAX_BATCH) {
		snprintf(err, errlen, "n_tok %d: 1..%d", n_tok, KCU_MAX_BATCH);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	struct kcu_mat dm;
	int rc = s_mat(&s, w, &dm, err, errlen);
	if (rc)
		goto out;
	rc = -2;
	const size_t nx = (size_t)n_tok * (size_t)w->cols, ny = (size_t)n_tok * (size_t)w->rows;
	CUdeviceptr x = s_alloc(&s, nx * 4, X, err, errlen);
	CUdeviceptr xq = x ? s_alloc(&s, nx, NULL, err, errlen) : 0;
	CUdeviceptr xs = xq ? s_alloc(&s, nx / 4, NULL, err, errlen) : 0;
	CUdeviceptr y = xs ? s_alloc(&s, ny * 4, accumulate ? Y : NULL, err, errlen) : 0;
	CUdeviceptr b = 0;
	if (!y || (bias && !(b = s_alloc(&s, (size_t)w->rows * 4, bias, err, errlen))))
		goto out;
	if (wtypes[dm.wt].quant &&
	    (rc = norm_quant(c, x, 0, (int)w->cols, n_tok, 0, 0, xq, xs, 0, err, errlen)))
		goto out;
	if ((rc = gemv(c, &dm, xq, xs, x, n_tok, y, (int)w->rows, b, accumulate, err, errlen)))
		goto out;
	rc = s_get(&s, Y, y, ny * 4, err, errlen);
out:
	s_free(&s);
	return rc;
}

int kern_cuda_quantize(struct kern_cuda *c, const float *X, int n_rows, int64_t n, int norm,
		       const float *w, float eps, int8_t *q, float *d, float *s_lo, float *s_hi,
		       float *xn, char *err, size_t errlen)
{
	if (n <= 0 || n % 32 || n_rows < 1) {
		snprintf(err, errlen, "quantize: %lld values (a multiple of 32), %d rows", (long long)n, n_rows);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	int rc = -2;
	const size_t nx = (size_t)n_rows * (size_t)n, nb = nx / 32;
	struct kcu_xs *hs = malloc(nb * sizeof *hs);
	CUdeviceptr x = s_alloc(&s, nx * 4, X, err, errlen);
	CUdeviceptr wd = x && w && norm ? s_alloc(&s, (size_t)n * 4, w, err, errlen) : 0;
	CUdeviceptr xq = x ? s_alloc(&s, nx, NULL, err, errlen) : 0;
	CUdeviceptr xs = xq ? s_alloc(&s, nb * sizeof(struct kcu_xs), NULL, err, errlen) : 0;
	CUdeviceptr xf = xs ? s_alloc(&s, nx * 4, NULL, err, errlen) : 0;
	if (!hs || !xf || (w && norm && !wd))
		goto out;
	if ((rc = norm_quant(c, x, wd, (int)n, n_rows, eps, norm, xq, xs, xf, err, errlen)) ||
	    (rc = s_get(&s, q, xq, nx, err, errlen)) ||
	    (rc = s_get(&s, hs, xs, nb * sizeof *hs, err, errlen)) ||
	    (xn && (rc = s_get(&s, xn, xf, nx * 4, err, errlen))))
		goto out;
	for (size_t i = 0; i < nb; i++) {
		d[i] = hs[i].d;
		s_lo[i] = hs[i].d * (float)hs[i].q_lo;
		s_hi[i] = hs[i].d * (float)hs[i].q_hi;
	}
out:
	free(hs);
	s_free(&s);
	return rc;
}

int kern_cuda_dequantize_row(struct kern_cuda *c, const struct kern_mat *w, int64_t row, float *out,
			     char *err, size_t errlen)
{
	if (row < 0 || row >= w->rows) {
		snprintf(err, errlen, "row %lld outside 0..%lld", (long long)row, (long long)w->rows - 1);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	struct kern_mat one = *w;
	one.rows = 1;
	one.data = (const uint8_t *)w->data + (size_t)row * w->row_bytes;
	struct kcu_mat dm;
	int rc = s_mat(&s, &one, &dm, err, errlen);
	if (rc)
		goto out;
	rc = -2;
	CUdeviceptr x = s_alloc(&s, (size_t)w->cols * 4, NULL, err, errlen);
	if (!x)
		goto out;
	struct kcu_embed p = {dm.a[0], dm.a[1], dm.a[2], 1, (int)w->cols, 0, 1, w->type, x};
	if ((rc = launch(c, c->f_embed, 1, 1, 256, 0, &p, "the embedding kernel", err, errlen)))
		goto out;
	rc = s_get(&s, out, x, (size_t)w->cols * 4, err, errlen);
out:
	s_free(&s);
	return rc;
}

int kern_cuda_rope(struct kern_cuda *c, float *x, int n_head, int head_dim, int n_rot, int64_t pos,
		   float freq_base, enum kern_rope_mode mode, const float *q_norm, float eps,
		   char *err, size_t errlen)
{
	if (head_dim <= 0 || head_dim > 1024 || n_rot > head_dim || n_rot % 2 || n_head < 1) {
		snprintf(err, errlen, "rope: head_dim %d, n_rot %d", head_dim, n_rot);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	int rc = -2;
	const size_t n = (size_t)n_head * (size_t)head_dim;
	struct kcu_step st = {(int)pos, 1, {0}};
	CUdeviceptr q = s_alloc(&s, n * 4, x, err, errlen);
	CUdeviceptr stp = q ? s_alloc(&s, sizeof st, &st, err, errlen) : 0;
	CUdeviceptr nw = stp && q_norm ? s_alloc(&s, (size_t)head_dim * 4, q_norm, err, errlen) : 0;
	if (!stp || (q_norm && !nw))
		goto out;
	struct kcu_rope p = {0};
	p.qkv = q;
	p.ld = (int)n;
	p.n_head = n_head;
	p.n_kv = 0;
	p.head_dim = head_dim;
	p.n_rot = n_rot;
	p.mode = mode;
	p.theta_scale = powf(freq_base, -2.0f / (float)n_rot);
	p.eps = eps;
	p.q_norm = nw;
	p.step = stp;
	if ((rc = launch(c, c->f_rope, (unsigned)n_head, 1, KCU_ATT_THREADS, 0, &p, "the RoPE kernel",
			 err, errlen)))
		goto out;
	rc = s_get(&s, x, q, n * 4, err, errlen);
out:
	s_free(&s);
	return rc;
}

int kern_cuda_attention(struct kern_cuda *c, const struct kern_kv *kv, int n_head, const float *q,
			int n_pos, float *out, char *err, size_t errlen)
{
	const int hd = kv->head_dim;
	if (kv->type != QT_F16 || !attn_fn(c, hd) || n_pos < 1 || n_pos > kv->n_ctx ||
	    n_head % kv->n_head_kv) {
		snprintf(err, errlen, "attention: an F16 cache, head size 64, 128 or 256 (%d), "
			 "1..n_ctx positions (%d)", hd, n_pos);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	int rc = -2;
	const size_t qn = (size_t)n_head * hd, kvn = (size_t)n_pos * kv->n_head_kv * hd;
	struct kcu_step st = {n_pos - 1, 1, {0}};
	CUdeviceptr dq = s_alloc(&s, qn * 4, q, err, errlen);
	CUdeviceptr stp = dq ? s_alloc(&s, sizeof st, &st, err, errlen) : 0;
	CUdeviceptr kc = stp ? s_alloc(&s, kvn * 2, kv->k, err, errlen) : 0;
	CUdeviceptr vc = kc ? s_alloc(&s, kvn * 2, kv->v, err, errlen) : 0;
	CUdeviceptr att = vc ? s_alloc(&s, qn * 4, NULL, err, errlen) : 0;
	CUdeviceptr xq = att ? s_alloc(&s, qn, NULL, err, errlen) : 0;
	CUdeviceptr xs = xq ? s_alloc(&s, qn / 4, NULL, err, errlen) : 0;
	if (!xs)
		goto out;
	struct kcu_attn p = {dq, (int)qn, n_head, kv->n_head_kv, hd, stp, kc, vc, att, xq, xs,
			     1.0f / sqrtf((float)hd), 0};
	if ((rc = launch(c, attn_fn(c, hd), (unsigned)n_head, 1, KCU_ATT_THREADS, 0, &p, "the attention kernel",
			 err, errlen)))
		goto out;
	rc = s_get(&s, out, att, qn * 4, err, errlen);
out:
	s_free(&s);
	return rc;
}

int kern_cuda_swiglu(struct kern_cuda *c, const float *gate, const float *up, int64_t n, float *out,
		     char *err, size_t errlen)
{
	if (n <= 0 || n % 32) {
		snprintf(err, errlen, "swiglu: %lld values (a multiple of 32)", (long long)n);
		return -3;
	}
	set_current(c);
	struct scratch s = {.c = c};
	int rc = -2;
	CUdeviceptr gu = s_alloc(&s, (size_t)n * 8, NULL, err, errlen);
	CUdeviceptr xq = gu ? s_alloc(&s, (size_t)n, NULL, err, errlen) : 0;
	CUdeviceptr xs = xq ? s_alloc(&s, (size_t)n / 4, NULL, err, errlen) : 0;
	CUdeviceptr xf = xs ? s_alloc(&s, (size_t)n * 4, NULL, err, errlen) : 0;
	if (!xf)
		goto out;
	if (c->d.cuMemcpyHtoDAsync(gu, gate, (size_t)n * 4, c->st) || c->d.cuMemcpyHtoDAsync(gu + (size_t)n * 4, up, (size_t)n * 4, c->st)) {
		snprintf(err, errlen, "cuMemcpyHtoD failed");
		goto out;
	}
	if ((rc = glu(c, gu, (int)n, 1, xq, xs, xf, err, errlen)))
		goto out;
	rc = s_get(&s, out, xf, (size_t)n * 4, err, errlen);
out:
	s_free(&s);
	return rc;
}

/* ---- timing -------------------------------------------------------------------- */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int ev_time(struct kern_cuda *c, double *s, char *err, size_t errlen)
{
	float ms = 0;
	CU(c->d.cuEventSynchronize(c->ev1), "cuEventSynchronize");
	CU(c->d.cuEventElapsedTime(&ms, c->ev0, c->ev1), "cuEventElapsedTime");
	*s = ms / 1e3;
	return 0;
}

int kern_cuda_bench_matvec(struct kern_cuda *c, int type, int64_t rows, int64_t cols, int n_mats,
			   int iters, int n_samples, struct kern_bench *out, char *err, size_t errlen)
{
	return kern_cuda_bench_matmul(c, type, rows, cols, 1, n_mats, iters, n_samples, out, err, errlen);
}

int kern_cuda_bench_matmul(struct kern_cuda *c, int type, int64_t rows, int64_t cols, int n_tok, int n_mats,
			   int iters, int n_samples, struct kern_bench *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (rows < 1 || n_mats < 1 || n_mats > 64 || iters < 1 || n_samples < 1 ||
	    n_samples > KERN_BENCH_MAX_SAMPLES || n_tok < 1 || n_tok > KCU_MAX_BATCH) {
		snprintf(err, errlen, "bench: rows >= 1, 1..%d tokens, 1..64 matrices, iters >= 1, 1..%d samples",
			 KCU_MAX_BATCH, KERN_BENCH_MAX_SAMPLES);
		return -3;
	}
	int wt = mat_check(type, cols, "bench", err, errlen);
	if (wt < 0)
		return wt;
	set_current(c);
	const size_t rb = kern_row_bytes(type, cols);
	uint8_t *host = malloc(rb * (size_t)rows);
	const size_t nx = (size_t)cols * (size_t)n_tok;
	float *x = malloc(nx * 4);
	int rc = -2;
	struct scratch s = {.c = c};
	if (!host || !x) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	uint64_t seed = 0x5eed0000u + (uint64_t)type;
	for (int64_t r = 0; r < rows; r++)
		kern_random_row(type, cols, &seed, host + (size_t)r * rb);
	for (size_t i = 0; i < nx; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		x[i] = (float)((seed >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
	}
	struct kern_mat w;
	if (kern_mat_init(&w, type, rows, cols, host, err, errlen) != 0) {
		rc = -3;
		goto out;
	}
	/* one arena for every copy of the matrix: distinct addresses, so no
	 * product finds the previous one's weights in the L2 */
	struct kcu_mat dm[64];
	size_t arr_row[3], per = 0;
	mat_rows_bytes(wt, cols, arr_row);
	for (int a = 0; a < 3; a++)
		per += (arr_row[a] * (size_t)rows + 255) / 256 * 256;
	CUdeviceptr arena = s_alloc(&s, per * (size_t)n_mats, NULL, err, errlen);
	CUdeviceptr stg = arena && wtypes[wt].n_seg ? s_alloc(&s, rb * (size_t)rows, NULL, err, errlen) : 0;
	CUdeviceptr dx = (arena && (stg || !wtypes[wt].n_seg)) ? s_alloc(&s, nx * 4, x, err, errlen) : 0;
	CUdeviceptr xq = dx ? s_alloc(&s, nx, NULL, err, errlen) : 0;
	CUdeviceptr xs = xq ? s_alloc(&s, nx / 4, NULL, err, errlen) : 0;
	CUdeviceptr y = xs ? s_alloc(&s, (size_t)rows * 4 * (size_t)n_tok, NULL, err, errlen) : 0;
	if (!y)
		goto out;
	CUdeviceptr at = arena;
	for (int k = 0; k < n_mats; k++) {
		dm[k] = (struct kcu_mat){wt, rows, cols, {0, 0, 0}, {arr_row[0], arr_row[1], arr_row[2]}};
		for (int a = 0; a < 3; a++)
			if (arr_row[a]) {
				dm[k].a[a] = at;
				at += (arr_row[a] * (size_t)rows + 255) / 256 * 256;
			}
		if ((rc = mat_fill(c, &dm[k], 0, &w, stg, rb * (size_t)rows, err, errlen)))
			goto out;
	}
	if (wtypes[wt].quant && (rc = norm_quant(c, dx, 0, (int)cols, n_tok, 0, 0, xq, xs, 0, err, errlen)))
		goto out;
	/* warm-up: one pass over every matrix */
	for (int k = 0; k < n_mats; k++)
		if ((rc = gemv(c, &dm[k], xq, xs, dx, n_tok, y, (int)rows, 0, 0, err, errlen)))
			goto out;
	rc = -2;
	for (int i = 0; i < n_samples; i++) {
		if (c->d.cuEventRecord(c->ev0, c->st) != CUDA_SUCCESS)
			goto out;
		for (int k = 0; k < iters; k++)
			if ((rc = gemv(c, &dm[k % n_mats], xq, xs, dx, n_tok, y, (int)rows, 0, 0, err, errlen)))
				goto out;
		if (c->d.cuEventRecord(c->ev1, c->st) != CUDA_SUCCESS)
			goto out;
		double t;
		if ((rc = ev_time(c, &t, err, errlen)))
			goto out;
		out->samples_s[i] = t / iters;
	}
	out->type = type;
	out->rows = rows;
	out->cols = cols;
	out->n_mats = n_mats;
	out->n_threads = 0;
	out->iters = iters;
	out->n_samples = n_samples;
	out->bytes_per_product = rb * (size_t)rows;
	double sorted[KERN_BENCH_MAX_SAMPLES];
	memcpy(sorted, out->samples_s, sizeof(double) * (size_t)n_samples);
	qsort(sorted, (size_t)n_samples, sizeof *sorted, cmp_d);
	out->best_s = sorted[0];
	out->median_s = n_samples % 2 ? sorted[n_samples / 2]
				       : (sorted[n_samples / 2 - 1] + sorted[n_samples / 2]) / 2;
	out->median_gbps = out->bytes_per_product / out->median_s / 1e9;
	out->best_gbps = out->bytes_per_product / out->best_s / 1e9;
	rc = sync_stream(c, "the matrix benchmark", err, errlen);
out:
	s_free(&s);
	free(host);
	free(x);
	return rc;
}

int kern_cuda_bench_copy(struct kern_cuda *c, size_t bytes, int n_samples, double *gbps, char *err,
			 size_t errlen)
{
	set_current(c);
	struct scratch s = {.c = c};
	int rc = -2;
	*gbps = NAN;
	CUdeviceptr a = s_alloc(&s, bytes, NULL, err, errlen);
	CUdeviceptr b = a ? s_alloc(&s, bytes, NULL, err, errlen) : 0;
	if (!b)
		goto out;
	double best = INFINITY;
	for (int i = 0; i < n_samples + 2; i++) {
		double t;
		if (c->d.cuEventRecord(c->ev0, c->st) || c->d.cuMemcpyDtoDAsync(b, a, bytes, c->st) ||
		    c->d.cuEventRecord(c->ev1, c->st)) {
			snprintf(err, errlen, "cuMemcpyDtoDAsync failed");
			goto out;
		}
		if ((rc = ev_time(c, &t, err, errlen)))
			goto out;
		if (i >= 2 && t < best)
			best = t;
	}
	*gbps = 2.0 * (double)bytes / best / 1e9;
	rc = 0;
out:
	s_free(&s);
	return rc;
}

/* ---- the forward pass ---------------------------------------------------------- */
struct kcu_layer {
	struct kcu_mat qkv[3];        /* one matrix (q|k|v) when they share a type */
	int n_qkv;
	struct kcu_mat wo;
	struct kcu_mat gu[2];         /* one matrix (gate|up) when they share a type */
	int n_gu;
	struct kcu_mat wd;
	CUdeviceptr attn_norm, ffn_norm; /* (n_embd) floats */
	CUdeviceptr bias;             /* (qd + 2 kd) floats, or 0 */
	CUdeviceptr q_norm, k_norm;   /* (head_dim) or 0 */
	CUdeviceptr kc, vc;           /* (n_ctx, n_head_kv * head_dim) halves */
};

struct kern_cuda_model {
	struct kern_cuda *c;
	struct kern_model_cfg cfg;
	int qd, kd;
	float theta_scale;
	CUdeviceptr arena;
	size_t arena_size, used;
	int dry;                      /* sizing pass: take space, upload nothing */
	struct kcu_mat tok, out;
	CUdeviceptr out_norm;
	struct kcu_layer *L;
	/* activations, KCU_MAX_BATCH rows each */
	CUdeviceptr x;                /* (B, n_embd) residual stream */
	CUdeviceptr qkv;              /* (B, qd + 2 kd) */
	CUdeviceptr att;              /* (B, qd) */
	CUdeviceptr gu;               /* (B, 2 n_ff) */
	CUdeviceptr xq, xs, xf;       /* the current matrix input, quantized and float */
	CUdeviceptr logits;           /* (B, n_vocab) */
	CUdeviceptr step;             /* struct kcu_step */
	int need_xf;                  /* some matrix has float weights */
	struct kcu_step *h_step;      /* pinned */
	float *h_logits;              /* pinned, (B, n_vocab) */
	/* one graph per step shape (tokens n, logits of none / the last /
	 * every token), captured when first needed */
	CUgraphExec graph[KCU_MAX_BATCH + 1][3];
	signed char graph_state[KCU_MAX_BATCH + 1][3]; /* 0 not tried, 1 captured, -1 launches */
	int n_past;
	uint64_t device_bytes;
};

static CUdeviceptr take(struct kern_cuda_model *m, size_t bytes)
{
	size_t off = (m->used + 255) / 256 * 256;
	m->used = off + bytes;
	return m->dry ? 0 : m->arena + off;
}

static void mat_place(struct kern_cuda_model *m, struct kcu_mat *dm, int wt, int64_t rows, int64_t cols)
{
	memset(dm, 0, sizeof *dm);
	dm->wt = wt;
	dm->rows = rows;
	dm->cols = cols;
	mat_rows_bytes(wt, cols, dm->arr_row);
	for (int a = 0; a < 3; a++)
		if (dm->arr_row[a])
			dm->a[a] = take(m, dm->arr_row[a] * (size_t)rows);
}

static int vec_place(struct kern_cuda_model *m, CUdeviceptr *dst, const float *src, size_t n,
		     char *err, size_t errlen)
{
	struct kern_cuda *c = m->c;
	*dst = take(m, n * 4);
	if (!m->dry)
		CU(c->d.cuMemcpyHtoDAsync(*dst, src, n * 4, c->st), "cuMemcpyHtoD (norms)");
	return 0;
}

/* Places (and unless dry, uploads) every tensor and buffer. */
static int build(struct kern_cuda_model *m, struct kern_model *cm, CUdeviceptr stg, size_t stg_bytes,
		 char *err, size_t errlen)
{
	struct kern_cuda *c = m->c;
	const struct kern_model_cfg *g = &m->cfg;
	struct kern_mat te, ou;
	const float *on;
	int rc;
	m->used = 0;
	kern_model_weights(cm, &te, &ou, &on);
	mat_place(m, &m->tok, wtype_index(te.type), te.rows, te.cols);
	if (!m->dry && (rc = mat_fill(c, &m->tok, 0, &te, stg, stg_bytes, err, errlen)))
		return rc;
	if (g->tied) {
		m->out = m->tok;
	} else {
		mat_place(m, &m->out, wtype_index(ou.type), ou.rows, ou.cols);
		if (!m->dry && (rc = mat_fill(c, &m->out, 0, &ou, stg, stg_bytes, err, errlen)))
			return rc;
	}
	if ((rc = vec_place(m, &m->out_norm, on, (size_t)g->n_embd, err, errlen)))
		return rc;
	m->need_xf = !wtypes[m->out.wt].quant;
	const size_t kvb = (size_t)g->n_ctx * (size_t)m->kd * 2;
	for (int l = 0; l < g->n_layer; l++) {
		struct kcu_layer *L = &m->L[l];
		struct kern_layer_weights w;
		kern_model_layer_weights(cm, l, &w);
		const struct kern_mat *qkv[3] = {&w.wq, &w.wk, &w.wv}, *gu[2] = {&w.wg, &w.wu};
		L->n_qkv = w.wq.type == w.wk.type && w.wq.type == w.wv.type ? 1 : 3;
		if (L->n_qkv == 1) {
			mat_place(m, &L->qkv[0], wtype_index(w.wq.type), m->qd + 2 * m->kd, g->n_embd);
			for (int k = 0, r0 = 0; k < 3 && !m->dry; r0 += (int)qkv[k]->rows, k++)
				if ((rc = mat_fill(c, &L->qkv[0], r0, qkv[k], stg, stg_bytes, err, errlen)))
					return rc;
		} else {
			for (int k = 0; k < 3; k++) {
				mat_place(m, &L->qkv[k], wtype_index(qkv[k]->type), qkv[k]->rows, g->n_embd);
				if (!m->dry && (rc = mat_fill(c, &L->qkv[k], 0, qkv[k], stg, stg_bytes, err, errlen)))
					return rc;
			}
		}
		L->n_gu = w.wg.type == w.wu.type ? 1 : 2;
		if (L->n_gu == 1) {
			mat_place(m, &L->gu[0], wtype_index(w.wg.type), 2 * (int64_t)g->n_ff, g->n_embd);
			for (int k = 0; k < 2 && !m->dry; k++)
				if ((rc = mat_fill(c, &L->gu[0], k * (int64_t)g->n_ff, gu[k], stg, stg_bytes, err, errlen)))
					return rc;
		} else {
			for (int k = 0; k < 2; k++) {
				mat_place(m, &L->gu[k], wtype_index(gu[k]->type), g->n_ff, g->n_embd);
				if (!m->dry && (rc = mat_fill(c, &L->gu[k], 0, gu[k], stg, stg_bytes, err, errlen)))
					return rc;
			}
		}
		mat_place(m, &L->wo, wtype_index(w.wo.type), g->n_embd, m->qd);
		mat_place(m, &L->wd, wtype_index(w.wd.type), g->n_embd, g->n_ff);
		if (!m->dry && ((rc = mat_fill(c, &L->wo, 0, &w.wo, stg, stg_bytes, err, errlen)) ||
				(rc = mat_fill(c, &L->wd, 0, &w.wd, stg, stg_bytes, err, errlen))))
			return rc;
		for (int k = 0; k < L->n_qkv; k++)
			m->need_xf |= !wtypes[L->qkv[k].wt].quant;
		for (int k = 0; k < L->n_gu; k++)
			m->need_xf |= !wtypes[L->gu[k].wt].quant;
		m->need_xf |= !wtypes[L->wd.wt].quant;
		if ((rc = vec_place(m, &L->attn_norm, w.attn_norm, (size_t)g->n_embd, err, errlen)) ||
		    (rc = vec_place(m, &L->ffn_norm, w.ffn_norm, (size_t)g->n_embd, err, errlen)))
			return rc;
		L->bias = L->q_norm = L->k_norm = 0;
		if (w.bq || w.bk || w.bv) {
			L->bias = take(m, (size_t)(m->qd + 2 * m->kd) * 4);
			if (!m->dry) {
				const float *b[3] = {w.bq, w.bk, w.bv};
				const size_t n[3] = {(size_t)m->qd, (size_t)m->kd, (size_t)m->kd};
				size_t off = 0;
				for (int k = 0; k < 3; off += n[k] * 4, k++) {
					CUresult r = b[k] ? c->d.cuMemcpyHtoDAsync(L->bias + off, b[k], n[k] * 4, c->st)
							  : c->d.cuMemsetD8Async(L->bias + off, 0, n[k] * 4, c->st);
					if (r != CUDA_SUCCESS)
						return cu_fail(c, r, "uploading biases", err, errlen);
				}
			}
		}
		if (w.q_norm && (rc = vec_place(m, &L->q_norm, w.q_norm, (size_t)g->head_dim, err, errlen)))
			return rc;
		if (w.k_norm && (rc = vec_place(m, &L->k_norm, w.k_norm, (size_t)g->head_dim, err, errlen)))
			return rc;
		L->kc = take(m, kvb);
		L->vc = take(m, kvb);
	}
	const size_t B = KCU_MAX_BATCH;
	size_t maxc = (size_t)g->n_embd;
	if ((size_t)m->qd > maxc)
		maxc = (size_t)m->qd;
	if ((size_t)g->n_ff > maxc)
		maxc = (size_t)g->n_ff;
	m->x = take(m, B * (size_t)g->n_embd * 4);
	m->qkv = take(m, B * (size_t)(m->qd + 2 * m->kd) * 4);
	m->att = take(m, B * (size_t)m->qd * 4);
	m->gu = take(m, B * (size_t)g->n_ff * 8);
	m->xq = take(m, B * maxc);
	m->xs = take(m, B * maxc / 4);
	m->xf = take(m, B * maxc * 4);
	m->logits = take(m, B * (size_t)g->n_vocab * 4);
	m->step = take(m, sizeof(struct kcu_step));
	return 0;
}

void kern_cuda_model_close(struct kern_cuda_model *m)
{
	if (!m)
		return;
	struct kern_cuda *c = m->c;
	set_current(c);
	c->d.cuStreamSynchronize(c->st);
	for (int n = 0; n <= KCU_MAX_BATCH; n++)
		for (int k = 0; k < 3; k++)
			if (m->graph[n][k])
				c->d.cuGraphExecDestroy(m->graph[n][k]);
	if (m->arena)
		c->d.cuMemFree(m->arena);
	if (m->h_step)
		c->d.cuMemFreeHost(m->h_step);
	if (m->h_logits)
		c->d.cuMemFreeHost(m->h_logits);
	free(m->L);
	free(m);
}

int kern_cuda_model_open(struct kern_cuda_model **out, struct kern_cuda *c, const char *path, int n_ctx,
			 char *err, size_t errlen)
{
	*out = NULL;
	struct kern_table kt;
	kern_table_init(&kt, 0);
	struct kern_model *cm = NULL;
	int rc = kern_model_open(&cm, path, &kt, 16, QT_F32, err, errlen);
	if (rc != 0)
		return rc == -3 ? -2 : -3;
	struct kern_cuda_model *m = calloc(1, sizeof *m);
	CUdeviceptr stg = 0;
	rc = -2;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	m->c = c;
	m->cfg = *kern_model_config(cm);
	struct kern_model_cfg *g = &m->cfg;
	g->n_ctx = n_ctx;
	g->kv_type = QT_F16;
	g->max_batch = KCU_MAX_BATCH;
	m->qd = g->n_head * g->head_dim;
	m->kd = g->n_head_kv * g->head_dim;
	m->theta_scale = powf(g->rope_base, -2.0f / (float)g->n_rot);
	rc = -3;
	if (g->n_expert > 0) {
		snprintf(err, errlen, "the CUDA kernels do not run mixture-of-experts models yet (%s, %d "
			 "experts); run it on the CPU (--device cpu)", g->arch, g->n_expert);
		goto fail;
	}
	if (n_ctx < 1 || !attn_fn(c, g->head_dim) || g->n_embd % 32 || g->n_ff % 32) {
		snprintf(err, errlen, "the CUDA kernels take head sizes 64, 128 and 256 and widths that are "
			 "multiples of 32 (this model: head %d, width %d, FFN %d)",
			 g->head_dim, g->n_embd, g->n_ff);
		goto fail;
	}
	/* every matrix's type and width */
	struct kern_mat te, ou;
	const float *on;
	kern_model_weights(cm, &te, &ou, &on);
	if (mat_check(te.type, te.cols, "token_embd.weight", err, errlen) < 0 ||
	    mat_check(ou.type, ou.cols, "output.weight", err, errlen) < 0)
		goto fail;
	for (int l = 0; l < g->n_layer; l++) {
		struct kern_layer_weights w;
		kern_model_layer_weights(cm, l, &w);
		const struct kern_mat *ms[7] = {&w.wq, &w.wk, &w.wv, &w.wo, &w.wg, &w.wu, &w.wd};
		static const char *const names[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
						     "ffn_up", "ffn_down"};
		for (int k = 0; k < 7; k++) {
			char what[64];
			snprintf(what, sizeof what, "blk.%d.%s.weight", l, names[k]);
			if (mat_check(ms[k]->type, ms[k]->cols, what, err, errlen) < 0)
				goto fail;
		}
	}
	rc = -2;
	m->L = calloc((size_t)g->n_layer, sizeof *m->L);
	if (!m->L) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	set_current(c);
	/* sizing pass, then one allocation */
	m->dry = 1;
	if ((rc = build(m, cm, 0, 0, err, errlen)))
		goto fail;
	m->arena_size = m->used;
	size_t stg_bytes = 64u << 20;
	if (te.row_bytes > stg_bytes)
		stg_bytes = te.row_bytes;
	size_t freeb = 0, total = 0;
	c->d.cuMemGetInfo(&freeb, &total);
	CUresult r = c->d.cuMemAlloc(&m->arena, m->arena_size);
	if (r == CUDA_SUCCESS)
		r = c->d.cuMemAlloc(&stg, stg_bytes);
	if (r != CUDA_SUCCESS) {
		snprintf(err, errlen, "the model needs %.2f GiB of GPU memory (weights, a KV cache of %d "
			 "positions, buffers); %.2f GiB of %.2f are free (%s)",
			 (m->arena_size + stg_bytes) / 1073741824.0, n_ctx, freeb / 1073741824.0,
			 total / 1073741824.0, cudrv_err(&c->d, r));
		rc = -2;
		goto fail;
	}
	m->dry = 0;
	if ((rc = build(m, cm, stg, stg_bytes, err, errlen)))
		goto fail;
	if ((rc = sync_stream(c, "uploading the weights", err, errlen)))
		goto fail;
	m->device_bytes = m->arena_size;
	rc = -2;
	if ((r = c->d.cuMemHostAlloc((void **)&m->h_step, sizeof *m->h_step, 0)) != CUDA_SUCCESS ||
	    (r = c->d.cuMemHostAlloc((void **)&m->h_logits, (size_t)KCU_MAX_BATCH * g->n_vocab * 4, 0)) !=
		    CUDA_SUCCESS) {
		cu_fail(c, r, "cuMemHostAlloc", err, errlen);
		goto fail;
	}
	c->d.cuMemFree(stg);
	kern_model_close(cm);
	*out = m;
	return 0;
fail:
	if (stg)
		c->d.cuMemFree(stg);
	kern_model_close(cm);
	kern_cuda_model_close(m);
	return rc;
}

const struct kern_model_cfg *kern_cuda_model_config(const struct kern_cuda_model *m)
{
	return &m->cfg;
}

uint64_t kern_cuda_model_device_bytes(const struct kern_cuda_model *m)
{
	return m->device_bytes;
}

int kern_cuda_model_n_past(const struct kern_cuda_model *m)
{
	return m->n_past;
}

void kern_cuda_model_reset(struct kern_cuda_model *m)
{
	m->n_past = 0;
}

/* Enqueues one step of n tokens (the step struct already in device
 * memory): out_rows 0 computes no logits, 1 the last token's, n every
 * token's (into m->logits). */
static int enqueue_step(struct kern_cuda_model *m, int n, int out_rows, char *err, size_t errlen)
{
	struct kern_cuda *c = m->c;
	const struct kern_model_cfg *g = &m->cfg;
	const int E = g->n_embd, ldq = m->qd + 2 * m->kd;
	const CUdeviceptr xf = m->need_xf ? m->xf : 0;
	int rc;
	struct kcu_embed pe = {m->tok.a[0], m->tok.a[1], m->tok.a[2], (int)m->tok.rows, E, m->step, n,
			       wtypes[m->tok.wt].type, m->x};
	if ((rc = launch(c, c->f_embed, (unsigned)n, 1, 256, 0, &pe, "the embedding kernel", err, errlen)))
		return rc;
	for (int l = 0; l < g->n_layer; l++) {
		const struct kcu_layer *L = &m->L[l];
		if ((rc = norm_quant(c, m->x, L->attn_norm, E, n, g->eps, 1, m->xq, m->xs, xf, err, errlen)))
			return rc;
		if (L->n_qkv == 1) {
			rc = gemv(c, &L->qkv[0], m->xq, m->xs, m->xf, n, m->qkv, ldq, L->bias, 0, err, errlen);
		} else {
			const int off[3] = {0, m->qd, m->qd + m->kd};
			for (int k = 0; k < 3 && !rc; k++)
				rc = gemv(c, &L->qkv[k], m->xq, m->xs, m->xf, n, m->qkv + (size_t)off[k] * 4, ldq,
					  L->bias ? L->bias + (size_t)off[k] * 4 : 0, 0, err, errlen);
		}
		if (rc)
			return rc;
		struct kcu_rope pr = {m->qkv, ldq, g->n_head, g->n_head_kv, g->head_dim, g->n_rot,
				      (int)g->rope_mode, m->theta_scale, g->eps, L->q_norm, L->k_norm,
				      m->step, L->kc, L->vc};
		if ((rc = launch(c, c->f_rope, (unsigned)(g->n_head + 2 * g->n_head_kv), (unsigned)n,
				 KCU_ATT_THREADS, 0, &pr, "the RoPE kernel", err, errlen)))
			return rc;
		struct kcu_attn pa = {m->qkv, ldq, g->n_head, g->n_head_kv, g->head_dim, m->step, L->kc,
				      L->vc, m->att, m->xq, m->xs, 1.0f / sqrtf((float)g->head_dim), 0};
		if ((rc = launch(c, attn_fn(c, g->head_dim), (unsigned)g->n_head, (unsigned)n, KCU_ATT_THREADS,
				 0, &pa, "the attention kernel", err, errlen)))
			return rc;
		if ((rc = gemv(c, &L->wo, m->xq, m->xs, m->att, n, m->x, E, 0, 1, err, errlen)))
			return rc;
		if ((rc = norm_quant(c, m->x, L->ffn_norm, E, n, g->eps, 1, m->xq, m->xs, xf, err, errlen)))
			return rc;
		for (int k = 0; k < L->n_gu; k++)
			if ((rc = gemv(c, &L->gu[k], m->xq, m->xs, m->xf, n, m->gu + (size_t)k * g->n_ff * 4,
				       2 * g->n_ff, 0, 0, err, errlen)))
				return rc;
		if ((rc = glu(c, m->gu, g->n_ff, n, m->xq, m->xs, xf, err, errlen)))
			return rc;
		if ((rc = gemv(c, &L->wd, m->xq, m->xs, m->xf, n, m->x, E, 0, 1, err, errlen)))
			return rc;
	}
	if (out_rows == 0)
		return 0;
	const CUdeviceptr xin = m->x + (size_t)(n - out_rows) * E * 4;
	if ((rc = norm_quant(c, xin, m->out_norm, E, out_rows, g->eps, 1, m->xq, m->xs, xf, err, errlen)))
		return rc;
	return gemv(c, &m->out, m->xq, m->xs, m->xf, out_rows, m->logits, g->n_vocab, 0, 0, err, errlen);
}

/* A step of n tokens with out_rows rows of logits as a graph, captured
 * once (its kernels read the position and tokens from m->step). */
static void capture(struct kern_cuda_model *m, int n, int out_rows, int k)
{
	struct kern_cuda *c = m->c;
	m->graph_state[n][k] = -1;
	if (!c->d.cuGraphLaunch || getenv("LLMCAP_CUDA_NO_GRAPH"))
		return;
	CUgraph graph = NULL;
	char e[256];
	if (c->d.cuStreamBeginCapture(c->st, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) != CUDA_SUCCESS)
		return;
	int rc = enqueue_step(m, n, out_rows, e, sizeof e);
	CUresult r = c->d.cuStreamEndCapture(c->st, &graph);
	if (rc || r != CUDA_SUCCESS || !graph) {
		if (graph)
			c->d.cuGraphDestroy(graph);
		return;
	}
	if (c->d.cuGraphInstantiateWithFlags(&m->graph[n][k], graph, 0) == CUDA_SUCCESS)
		m->graph_state[n][k] = 1;
	else
		m->graph[n][k] = NULL;
	c->d.cuGraphDestroy(graph);
}

static int eval(struct kern_cuda_model *m, const int32_t *tokens, int n_tok, int all_logits, float *logits,
		int copy_out, char *err, size_t errlen)
{
	struct kern_cuda *c = m->c;
	const struct kern_model_cfg *g = &m->cfg;
	if (n_tok <= 0 || m->n_past + n_tok > g->n_ctx) {
		snprintf(err, errlen, "%d tokens after %d do not fit the context of %d; open the model with "
			 "a larger context", n_tok, m->n_past, g->n_ctx);
		return -1;
	}
	for (int i = 0; i < n_tok; i++)
		if (tokens[i] < 0 || tokens[i] >= g->n_vocab) {
			snprintf(err, errlen, "token %d at %d is outside the vocabulary (0..%d)", tokens[i], i,
				 g->n_vocab - 1);
			return -1;
		}
	set_current(c);
	int rc;
	for (int b = 0; b < n_tok; b += KCU_MAX_BATCH) {
		const int n = n_tok - b < KCU_MAX_BATCH ? n_tok - b : KCU_MAX_BATCH;
		const int last = b + n == n_tok;
		const int out_rows = !logits ? (n == 1) : all_logits ? n : last ? 1 : 0;
		m->h_step->pos0 = m->n_past;
		m->h_step->n_tok = n;
		memcpy(m->h_step->tok, tokens + b, sizeof(int32_t) * (size_t)n);
		CU(c->d.cuMemcpyHtoDAsync(m->step, m->h_step, sizeof *m->h_step, c->st), "cuMemcpyHtoDAsync (step)");
		const int k = out_rows == 0 ? 0 : out_rows == 1 ? 1 : 2;
		if (m->graph_state[n][k] == 0)
			capture(m, n, out_rows, k);
		if (m->graph_state[n][k] == 1) {
			CU(c->d.cuGraphLaunch(m->graph[n][k], c->st), "cuGraphLaunch");
		} else if ((rc = enqueue_step(m, n, out_rows, err, errlen))) {
			return rc;
		}
		if (logits && out_rows)
			CU(c->d.cuMemcpyDtoHAsync(m->h_logits, m->logits, (size_t)out_rows * g->n_vocab * 4, c->st),
			   "cuMemcpyDtoHAsync (logits)");
		if ((rc = sync_stream(c, "the forward pass", err, errlen)))
			return rc;
		m->n_past += n;
		if (logits && out_rows && copy_out)
			memcpy(all_logits ? logits + (size_t)b * g->n_vocab : logits, m->h_logits,
			       (size_t)out_rows * g->n_vocab * 4);
	}
	return 0;
}

int kern_cuda_model_eval(struct kern_cuda_model *m, const int32_t *tokens, int n_tok, int all_logits,
			 float *logits, char *err, size_t errlen)
{
	return eval(m, tokens, n_tok, all_logits, logits, 1, err, errlen);
}

int kern_cuda_model_time(struct kern_cuda_model *m, int prompt, int gen, int runs, double *prefill_tps,
			 double *decode_tps, char *err, size_t errlen)
{
	int n_vocab = m->cfg.n_vocab, n_tok = prompt > 16 ? prompt : 16;
	if (runs < 1 || prompt < 0 || gen < 0 || prompt + gen < 1 || n_vocab < 4) {
		snprintf(err, errlen, "nothing to time: give runs >= 1 and prompt + gen >= 1");
		return -1;
	}
	int32_t *toks = malloc(sizeof *toks * (size_t)n_tok);
	float *lg = malloc(sizeof *lg * (size_t)n_vocab);
	if (!toks || !lg) {
		free(toks);
		free(lg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t s = 12345;
	for (int i = 0; i < n_tok; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		toks[i] = (int32_t)(3 + s % (uint64_t)(n_vocab - 3));
	}
	/* warm-up: clocks up, and every step shape timed below captured as a
	 * graph (the whole prompt once) */
	kern_cuda_model_reset(m);
	int rc = eval(m, toks, prompt > 0 ? prompt : 16, 0, lg, 0, err, errlen);
	for (int i = 0; rc == 0 && i < 8; i++)
		rc = eval(m, toks + i, 1, 0, lg, 0, err, errlen);
	for (int k = 0; rc == 0 && k < runs; k++) {
		kern_cuda_model_reset(m);
		double t0 = kern_now();
		if (prompt > 0)
			rc = eval(m, toks, prompt, 0, lg, 0, err, errlen);
		double t1 = kern_now();
		for (int i = 0; rc == 0 && i < gen; i++)
			rc = eval(m, toks + (i % n_tok), 1, 0, lg, 0, err, errlen);
		double t2 = kern_now();
		prefill_tps[k] = prompt > 0 ? prompt / (t1 - t0) : NAN;
		decode_tps[k] = gen > 0 ? gen / (t2 - t1) : NAN;
	}
	free(toks);
	free(lg);
	return rc;
}

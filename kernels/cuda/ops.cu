/*
 * kernels/cuda: everything but the matrix products, for one decode or
 * prefill step of the llama-family forward pass (kernels/forward.c
 * computes the same on the CPU):
 *
 *   kcu_repack     raw GGUF blocks -> the device layout (abi.h), at upload
 *   kcu_embed      rows of token_embd dequantized (embedding lookup)
 *   kcu_norm       RMSNorm (optional) + quantization of the activations
 *   kcu_rope       qwen3's q/k norms, RoPE (pairs or NEOX), KV-cache store
 *   kcu_attn_HD    attention of one query over the F16 KV cache (GQA),
 *                  head size HD = 64, 128 or 256, output quantized for the
 *                  output projection
 *   kcu_glu        silu(gate) * up, quantized for the down projection
 *
 * The residual adds and biases are done by the matrix kernels (gemv.cu).
 */
#include "common.cuh"

extern "C" __global__ void kcu_repack(kcu_repack p)
{
	const long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= p.nblk)
		return;
	const uint8_t *src = (const uint8_t *)p.raw + (size_t)g * p.blk_bytes;
	for (int s = 0; s < p.n_seg; s++) {
		if (p.mode == KCU_REPACK_Q6_K && s == 0)
			continue;   /* the planes below */
		uint8_t *dst = (uint8_t *)p.dst[s] + (size_t)g * p.len[s];
		const uint8_t *from = src + p.src_off[s];
		for (int i = 0; i < p.len[s]; i++)
			dst[i] = from[i];
	}
	/* qh in the order the matrix kernels unpack (abi.h) */
	if (p.mode == KCU_REPACK_Q5_0) {
		unsigned qh;
		memcpy(&qh, src + p.src_off[2], 4);
		unsigned w = 0;
		for (int b = 0; b < 16; b++)
			w |= qh_bits(b, (qh >> b) & 1u, (qh >> (16 + b)) & 1u);
		memcpy((uint8_t *)p.dst[2] + (size_t)g * 4, &w, 4);
	} else if (p.mode == KCU_REPACK_Q5_K) {
		const uint8_t *qh = src + p.src_off[2];
		for (int i = 0; i < 8; i++) {   /* unit i: qs[32 j + 16 h ..], j = i / 2, h = i % 2 */
			const int j = i >> 1, h = i & 1;
			unsigned w = 0;
			for (int b = 0; b < 16; b++)
				w |= qh_bits(b, (qh[16 * h + b] >> (2 * j)) & 1u, (qh[16 * h + b] >> (2 * j + 1)) & 1u);
			memcpy((uint8_t *)p.dst[2] + (size_t)g * 32 + 4 * i, &w, 4);
		}
	} else if (p.mode == KCU_REPACK_Q6_K) {
		/* unit i of super-block b of its row: pieces A, B, C to the
		 * row's three planes (abi.h) */
		const long long nsb = p.row_blocks, row = g / nsb, b = g % nsb;
		uint8_t *rq = (uint8_t *)p.dst[0] + (size_t)row * 192 * nsb;
		const uint8_t *ql = src + p.src_off[0], *qh = ql + 128;
		for (int i = 0; i < 4; i++) {
			const int n = i >> 1, h = i & 1;
			const size_t at = 16 * (size_t)(4 * b + i);
			memcpy(rq + at, ql + 64 * n + 16 * h, 16);
			memcpy(rq + 64 * nsb + at, ql + 64 * n + 32 + 16 * h, 16);
			memcpy(rq + 128 * nsb + at, qh + 32 * n + 16 * h, 16);
		}
	}
}

extern "C" __global__ void kcu_embed(kcu_embed p)
{
	pdl_launch();
	pdl_wait();
	const int t = blockIdx.x;
	const int row = p.step ? ((const kcu_step *)p.step)->tok[t] : t;
	float *x = (float *)p.x + (size_t)t * p.cols;
	for (int e = threadIdx.x; e < p.cols; e += blockDim.x)
		x[e] = wval(p.type, (const uint8_t *)p.q, (const uint8_t *)p.s, (const uint8_t *)p.h,
			    p.cols, row, e);
}

/* sum over the block (blockDim.x a multiple of 32, at most 1024) */
__device__ float block_sum(float v, float *red)
{
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum(v);
	__syncthreads();
	if (lane == 0)
		red[warp] = v;
	__syncthreads();
	float s = 0.0f;
	for (int i = 0; i < nw; i++)
		s += red[i];
	return s;
}

extern "C" __global__ void kcu_norm(kcu_norm p)
{
	__shared__ float red[32];
	pdl_launch();
	pdl_wait();
	const int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int nw = blockDim.x >> 5;
	const float *x = (const float *)p.x + (size_t)t * p.n;
	float scale = 1.0f;
	if (p.norm) {
		float ss = 0.0f;
		for (int i = threadIdx.x; i < p.n; i += blockDim.x)
			ss += x[i] * x[i];
		ss = block_sum(ss, red);
		scale = 1.0f / sqrtf(ss / (float)p.n + p.eps);
	}
	const float *w = (const float *)p.w;
	int8_t *xq = (int8_t *)p.xq + (size_t)t * p.n;
	struct kcu_xs *xs = (struct kcu_xs *)p.xs + (size_t)t * (p.n / 32);
	float *xf = p.xf ? (float *)p.xf + (size_t)t * p.n : nullptr;
	for (int b = warp; b < p.n / 32; b += nw) {
		const int i = 32 * b + lane;
		float v = x[i];
		if (p.norm)
			v = v * scale * (w ? w[i] : 1.0f);
		if (xf)
			xf[i] = v;
		quant32(v, lane, xq + 32 * b, xs + b);
	}
}

/* One head (q, k or v) of one token per block. */
extern "C" __global__ void kcu_rope(kcu_rope p)
{
	__shared__ float red[32];
	__shared__ float v[1024];
	const int hh = blockIdx.x, t = blockIdx.y, hd = p.head_dim;
	pdl_launch();
	pdl_wait();
	const int pos = ((const kcu_step *)p.step)->pos0 + t;
	float *row = (float *)p.qkv + (size_t)t * p.ld;
	const int is_k = hh >= p.n_head && hh < p.n_head + p.n_kv;
	const int is_v = hh >= p.n_head + p.n_kv;
	float *src = row + (size_t)hh * hd;   /* q heads, then k, then v: contiguous */
	const size_t kv_off = (size_t)pos * p.n_kv * hd +
			      (size_t)(hh - p.n_head - (is_v ? p.n_kv : 0)) * hd;
	if (is_v) {
		__half *vc = (__half *)p.vc + kv_off;
		for (int i = threadIdx.x; i < hd; i += blockDim.x)
			vc[i] = __float2half_rn(src[i]);
		return;
	}
	for (int i = threadIdx.x; i < hd; i += blockDim.x)
		v[i] = src[i];
	const float *nw = (const float *)(is_k ? p.k_norm : p.q_norm);
	if (nw) {
		float ss = 0.0f;
		for (int i = threadIdx.x; i < hd; i += blockDim.x)
			ss += v[i] * v[i];
		ss = block_sum(ss, red);
		const float scale = 1.0f / sqrtf(ss / (float)hd + p.eps);
		for (int i = threadIdx.x; i < hd; i += blockDim.x)
			v[i] = v[i] * scale * nw[i];
	}
	__syncthreads();
	const int half = p.n_rot / 2;
	for (int i = threadIdx.x; i < half; i += blockDim.x) {
		/* theta as ggml's rope cache: pos times theta_scale, i times, in
		 * float (the CPU's kern_rope does the same products) */
		float theta = (float)pos;
		for (int k = 0; k < i; k++)
			theta *= p.theta_scale;
		const float c = cosf(theta), s = sinf(theta);
		const int a = p.mode == 2 ? i : 2 * i, b = p.mode == 2 ? i + half : 2 * i + 1;
		const float x0 = v[a], x1 = v[b];
		v[a] = x0 * c - x1 * s;
		v[b] = x0 * s + x1 * c;
	}
	__syncthreads();
	if (is_k) {
		__half *kc = (__half *)p.kc + kv_off;
		for (int i = threadIdx.x; i < hd; i += blockDim.x)
			kc[i] = __float2half_rn(v[i]);
	} else {
		for (int i = threadIdx.x; i < hd; i += blockDim.x)
			src[i] = v[i];
	}
}

/* Attention of query head h of token t over positions [0, pos0 + t],
 * head size HD: KCU_ATT_THREADS positions scored at a time (one thread per
 * position, its dot over the head with 16-byte loads), the running
 * softmax (max and sum rescaled per chunk), and the V sum: HD / 2 threads
 * per position (two dimensions each, half2 loads coalesced over the row),
 * KCU_ATT_THREADS / (HD / 2) positions at once, partial sums combined at
 * the end. q is rounded to F16 first, as llama.cpp does against an F16
 * cache. The output is stored as floats and quantized per 32 for the
 * output projection. */
template <int HD>
__device__ __forceinline__ void attn(const kcu_attn &p)
{
	constexpr int NT = KCU_ATT_THREADS, TP = HD / 2, G = NT / TP;
	__shared__ __align__(16) float qs[HD];
	__shared__ float sc[NT];
	__shared__ float red[32];
	__shared__ float2 part[G * TP];
	pdl_launch();
	pdl_wait();
	const int h = blockIdx.x, t = blockIdx.y, tid = threadIdx.x;
	const int kvh = h / (p.n_head / p.n_kv);
	const int n_pos = ((const kcu_step *)p.step)->pos0 + t + 1;
	const size_t prow = (size_t)p.n_kv * HD;       /* halves per position */
	const __half *K = (const __half *)p.kc + (size_t)kvh * HD;
	const __half *V = (const __half *)p.vc + (size_t)kvh * HD;
	const float *q = (const float *)p.qkv + (size_t)t * p.ld + (size_t)h * HD;
	for (int i = tid; i < HD; i += NT)
		qs[i] = __half2float(__float2half_rn(q[i]));
	const int d2 = tid % TP, g = tid / TP;
	float2 acc = make_float2(0.0f, 0.0f);
	float m = -INFINITY, l = 0.0f;
	__syncthreads();
	for (int p0 = 0; p0 < n_pos; p0 += NT) {
		const int n = min(NT, n_pos - p0);
		float s = -INFINITY;
		if (tid < n) {
			const uint4 *k8 = (const uint4 *)(K + (size_t)(p0 + tid) * prow);
			uint4 kv[HD / 8];
#pragma unroll
			for (int i = 0; i < HD / 8; i++)
				kv[i] = k8[i];
			float d = 0.0f;
#pragma unroll
			for (int i = 0; i < HD / 8; i++) {
				const unsigned w[4] = {kv[i].x, kv[i].y, kv[i].z, kv[i].w};
#pragma unroll
				for (int k = 0; k < 4; k++) {
					const float2 f = __half22float2(*(const __half2 *)&w[k]);
					d = fmaf(f.x, qs[8 * i + 2 * k], d);
					d = fmaf(f.y, qs[8 * i + 2 * k + 1], d);
				}
			}
			s = d * p.scale;
		}
		/* chunk max */
		float cm = warp_max(s);
		__syncthreads();
		if ((tid & 31) == 0)
			red[tid >> 5] = cm;
		__syncthreads();
		cm = red[0];
#pragma unroll
		for (int i = 1; i < NT / 32; i++)
			cm = fmaxf(cm, red[i]);
		const float m_new = fmaxf(m, cm);
		const float e = tid < n ? __expf(s - m_new) : 0.0f;
		sc[tid] = e;
		const float cs = block_sum(e, red);   /* its barrier also publishes sc */
		const float corr = __expf(m - m_new);
		l = l * corr + cs;
		m = m_new;
		acc.x *= corr;
		acc.y *= corr;
		const __half2 *V2 = (const __half2 *)(V + (size_t)p0 * prow) + d2;
#pragma unroll 8
		for (int j = g; j < n; j += G) {
			const float2 v = __half22float2(V2[(size_t)j * (prow / 2)]);
			acc.x = fmaf(sc[j], v.x, acc.x);
			acc.y = fmaf(sc[j], v.y, acc.y);
		}
		__syncthreads();
	}
	part[g * TP + d2] = acc;
	__syncthreads();
	float *out = (float *)p.att + (size_t)t * p.n_head * HD + (size_t)h * HD;
	const float inv = 1.0f / l;
	if (tid < TP) {
		float2 o = make_float2(0.0f, 0.0f);
#pragma unroll
		for (int k = 0; k < G; k++) {
			o.x += part[k * TP + tid].x;
			o.y += part[k * TP + tid].y;
		}
		o.x *= inv;
		o.y *= inv;
		qs[2 * tid] = o.x;
		qs[2 * tid + 1] = o.y;
		((float2 *)out)[tid] = o;
	}
	__syncthreads();
	const int lane = tid & 31, warp = tid >> 5;
	const int cols = p.n_head * HD;
	int8_t *xq = (int8_t *)p.xq + (size_t)t * cols + (size_t)h * HD;
	struct kcu_xs *xs = (struct kcu_xs *)p.xs + (size_t)t * (cols / 32) + (size_t)h * HD / 32;
	for (int b = warp; b < HD / 32; b += NT / 32)
		quant32(qs[32 * b + lane], lane, xq + 32 * b, xs + b);
}

extern "C" __global__ void __launch_bounds__(KCU_ATT_THREADS) kcu_attn_64(kcu_attn p)
{
	attn<64>(p);
}

extern "C" __global__ void __launch_bounds__(KCU_ATT_THREADS) kcu_attn_128(kcu_attn p)
{
	attn<128>(p);
}

extern "C" __global__ void __launch_bounds__(KCU_ATT_THREADS) kcu_attn_256(kcu_attn p)
{
	attn<256>(p);
}

/* Grid (ceil(n_ff / 32 / warps), n_tok): one block of 32 per warp. */
extern "C" __global__ void kcu_glu(kcu_glu p)
{
	pdl_launch();
	pdl_wait();
	const int t = blockIdx.y, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
	const int warp = blockIdx.x * nw + (threadIdx.x >> 5);
	const float *g = (const float *)p.gu + (size_t)t * 2 * p.n_ff, *u = g + p.n_ff;
	int8_t *xq = (int8_t *)p.xq + (size_t)t * p.n_ff;
	struct kcu_xs *xs = (struct kcu_xs *)p.xs + (size_t)t * (p.n_ff / 32);
	float *xf = p.xf ? (float *)p.xf + (size_t)t * p.n_ff : nullptr;
	for (int b = warp; b < p.n_ff / 32; b += nw * gridDim.x) {
		const int i = 32 * b + lane;
		const float gv = g[i];
		const float v = gv / (1.0f + expf(-gv)) * u[i];
		if (xf)
			xf[i] = v;
		quant32(v, lane, xq + 32 * b, xs + b);
	}
}

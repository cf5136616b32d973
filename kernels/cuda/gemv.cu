/*
 * kernels/cuda: matrix-vector products over quantized weights (decode),
 * and the same for NC tokens at once (prefill), one kernel per weight type
 * and NC in {1, 2, 4, 8}: kcu_gemv_<type>_<NC>.
 *
 * A block of KCU_THREADS threads copies its NC activation rows into
 * shared memory (int8 quants and per-32 scales, or floats), then each warp
 * takes rows of its block's slice (rpb rows) in turn. Within a row, lane l
 * takes the row's "units" l, l + 32, ...: a unit is the weight bytes one
 * lane reads with one 16-byte load (a Q4_0 block of 32 weights, half a
 * Q8_0 block, an eighth of a Q4_K super-block, ...), so consecutive lanes
 * read consecutive 16 bytes and a warp moves 512 contiguous bytes per
 * load. A lane loads UNR units at once (a group), and the next group
 * (of the row or of the warp's next row) is requested before the current
 * one is used: 2 x UNR loads in flight per lane. Quantized weights are dotted with the int8 activations by
 * dp4a (4 products per instruction) and scaled per block; float weights
 * by FMA. The warp's partial sums are reduced by shuffles.
 *
 * Weights are read once (ld.global.nc); every unit's byte layout is in
 * abi.h; the math per type follows ggml's dequantize_row_* (see each
 * traits struct).
 */
#include "common.cuh"


template <int NC>
struct acts {
	const int8_t *xq;            /* smem: NC x cols int8 */
	const struct kcu_xs *xs;     /* smem: NC x cols/32 */
	const float *xf;             /* smem: NC x cols floats */
	int cols, nt;
};

__device__ __forceinline__ int4 ld16(const void *p)
{
	return __ldg((const int4 *)p);
}

__device__ __forceinline__ int4 ld16(kcu_ptr a)
{
	return __ldg((const int4 *)a);
}

__device__ __forceinline__ int4 lds16(const int8_t *p)
{
	return *(const int4 *)p;
}

__device__ __forceinline__ float2 half2f(unsigned u)
{
	return __half22float2(*(const __half2 *)&u);
}

/* ---- per-type traits: UW weights per unit, load, dot ------------------ */

struct TQ4_0 {
	static constexpr int UW = 32, UNR = 4, QUANT = 1;
	struct W { int4 q; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.d = h2f(__ldg((const unsigned short *)p.s + g));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int lo[4] = {w.q.x & (int)M4, w.q.y & (int)M4, w.q.z & (int)M4, w.q.w & (int)M4};
		const int hi[4] = {(w.q.x >> 4) & (int)M4, (w.q.y >> 4) & (int)M4, (w.q.z >> 4) & (int)M4,
				   (w.q.w >> 4) & (int)M4};
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int8_t *x = a.xq + c * a.cols + 32 * u;
			const int4 x0 = lds16(x), x1 = lds16(x + 16);
			int s = dp4a(lo[0], x0.x, 0);
			s = dp4a(lo[1], x0.y, s);
			s = dp4a(lo[2], x0.z, s);
			s = dp4a(lo[3], x0.w, s);
			s = dp4a(hi[0], x1.x, s);
			s = dp4a(hi[1], x1.y, s);
			s = dp4a(hi[2], x1.z, s);
			s = dp4a(hi[3], x1.w, s);
			const kcu_xs xs = a.xs[c * (a.cols / 32) + u];
			acc[c] += w.d * xs.d * (float)(s - 8 * (xs.q_lo + xs.q_hi));
		}
	}
};

struct TQ4_1 {
	static constexpr int UW = 32, UNR = 4, QUANT = 1;
	struct W { int4 q; float2 dm; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.dm = half2f(__ldg((const unsigned *)p.s + g));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int lo[4] = {w.q.x & (int)M4, w.q.y & (int)M4, w.q.z & (int)M4, w.q.w & (int)M4};
		const int hi[4] = {(w.q.x >> 4) & (int)M4, (w.q.y >> 4) & (int)M4, (w.q.z >> 4) & (int)M4,
				   (w.q.w >> 4) & (int)M4};
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int8_t *x = a.xq + c * a.cols + 32 * u;
			const int4 x0 = lds16(x), x1 = lds16(x + 16);
			int s = dp4a(lo[0], x0.x, 0);
			s = dp4a(lo[1], x0.y, s);
			s = dp4a(lo[2], x0.z, s);
			s = dp4a(lo[3], x0.w, s);
			s = dp4a(hi[0], x1.x, s);
			s = dp4a(hi[1], x1.y, s);
			s = dp4a(hi[2], x1.z, s);
			s = dp4a(hi[3], x1.w, s);
			const kcu_xs xs = a.xs[c * (a.cols / 32) + u];
			acc[c] += xs.d * (w.dm.x * (float)s + w.dm.y * (float)(xs.q_lo + xs.q_hi));
		}
	}
};

struct TQ5_0 {
	static constexpr int UW = 32, UNR = 4, QUANT = 1;
	struct W { int4 q; unsigned qh; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.qh = __ldg((const unsigned *)p.h + g);
		w.d = h2f(__ldg((const unsigned short *)p.s + g));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int qv[4] = {w.q.x, w.q.y, w.q.z, w.q.w};
		int lo[4], hi[4];
#pragma unroll
		for (int k = 0; k < 4; k++) {
			lo[k] = (qv[k] & (int)M4) | spread4((w.qh >> (4 * k)) & 0xFu);
			hi[k] = ((qv[k] >> 4) & (int)M4) | spread4((w.qh >> (16 + 4 * k)) & 0xFu);
		}
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int8_t *x = a.xq + c * a.cols + 32 * u;
			const int4 x0 = lds16(x), x1 = lds16(x + 16);
			int s = dp4a(lo[0], x0.x, 0);
			s = dp4a(lo[1], x0.y, s);
			s = dp4a(lo[2], x0.z, s);
			s = dp4a(lo[3], x0.w, s);
			s = dp4a(hi[0], x1.x, s);
			s = dp4a(hi[1], x1.y, s);
			s = dp4a(hi[2], x1.z, s);
			s = dp4a(hi[3], x1.w, s);
			const kcu_xs xs = a.xs[c * (a.cols / 32) + u];
			acc[c] += w.d * xs.d * (float)(s - 16 * (xs.q_lo + xs.q_hi));
		}
	}
};

/* Q8_0: a unit is half a block (16 weights) */
struct TQ8_0 {
	static constexpr int UW = 16, UNR = 4, QUANT = 1;
	struct W { int4 q; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.d = h2f(__ldg((const unsigned short *)p.s + (g >> 1)));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int4 x = lds16(a.xq + c * a.cols + 16 * u);
			int s = dp4a(w.q.x, x.x, 0);
			s = dp4a(w.q.y, x.y, s);
			s = dp4a(w.q.z, x.z, s);
			s = dp4a(w.q.w, x.w, s);
			acc[c] += w.d * a.xs[c * (a.cols / 32) + (u >> 1)].d * (float)s;
		}
	}
};

/* Q4_K / Q5_K: a unit is 16 bytes of qs, lane i (0..7) of a super-block:
 * qs[32 j + 16 h .. +16) with j = i / 2, h = i % 2; low nibbles are
 * weights 64 j + 16 h + k of sub-block 2 j, high nibbles 64 j + 32 + 16 h
 * + k of sub-block 2 j + 1 (k < 16); Q5_K's fifth bit is bit 2 j (2 j + 1)
 * of qh[16 h + k]. */
__device__ __forceinline__ void k4_scale_min(const int4 &m, int a, int &sc, int &mn)
{
	const unsigned w0 = (unsigned)m.y, w1 = (unsigned)m.z, w2 = (unsigned)m.w;
	unsigned s, n;
	if (a < 4) {
		s = w0 & 0x3f3f3f3fu;
		n = w1 & 0x3f3f3f3fu;
	} else {
		s = (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4);
		n = ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4);
	}
	sc = (int)((s >> (8 * (a & 3))) & 0xFFu);
	mn = (int)((n >> (8 * (a & 3))) & 0xFFu);
}

template <int Q5>
struct TQK {
	static constexpr int UW = 32, UNR = Q5 ? 2 : 4, QUANT = 1;
	struct W { int4 q; int4 meta; int4 qh; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.meta = ld16(p.s + 16 * (g >> 3));
		if (Q5)
			w.qh = ld16(p.h + 32 * (g >> 3) + 16 * (g & 1));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int i = u & 7, j = i >> 1, h = i & 1;
		const int qv[4] = {w.q.x, w.q.y, w.q.z, w.q.w};
		const int hv[4] = {w.qh.x, w.qh.y, w.qh.z, w.qh.w};
		int lo[4], hi[4];
#pragma unroll
		for (int k = 0; k < 4; k++) {
			lo[k] = qv[k] & (int)M4;
			hi[k] = (qv[k] >> 4) & (int)M4;
			if (Q5) {
				lo[k] |= (int)((((unsigned)hv[k] >> (2 * j)) & 0x01010101u) << 4);
				hi[k] |= (int)((((unsigned)hv[k] >> (2 * j + 1)) & 0x01010101u) << 4);
			}
		}
		const float2 dd = half2f((unsigned)w.meta.x);
		int sa, ma, sb, mb;
		k4_scale_min(w.meta, 2 * j, sa, ma);
		k4_scale_min(w.meta, 2 * j + 1, sb, mb);
		const int sb0 = u >> 3;                         /* super-block within the row */
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int8_t *x = a.xq + c * a.cols + 256 * sb0 + 64 * j + 16 * h;
			const int4 x0 = lds16(x), x1 = lds16(x + 32);
			int s0 = dp4a(lo[0], x0.x, 0);
			s0 = dp4a(lo[1], x0.y, s0);
			s0 = dp4a(lo[2], x0.z, s0);
			s0 = dp4a(lo[3], x0.w, s0);
			int s1 = dp4a(hi[0], x1.x, 0);
			s1 = dp4a(hi[1], x1.y, s1);
			s1 = dp4a(hi[2], x1.z, s1);
			s1 = dp4a(hi[3], x1.w, s1);
			const kcu_xs *xs = a.xs + c * (a.cols / 32) + 8 * sb0 + 2 * j;
			const kcu_xs xa = xs[0], xb = xs[1];
			const float ha = xa.d * (float)(h ? xa.q_hi : xa.q_lo), hb = xb.d * (float)(h ? xb.q_hi : xb.q_lo);
			acc[c] += dd.x * ((float)sa * xa.d * (float)s0 + (float)sb * xb.d * (float)s1) -
				  dd.y * ((float)ma * ha + (float)mb * hb);
		}
	}
};

/* Q6_K: a unit is a quarter super-block, lane i (0..3): n = i / 2, h =
 * i % 2: ql[64 n + 16 h ..], ql[64 n + 32 + 16 h ..], qh[32 n + 16 h ..]
 * give weights 128 n + 32 g + 16 h + k (g < 4, k < 16), scale sc[8 n + h
 * + 2 g]. */
struct TQ6_K {
	static constexpr int UW = 64, UNR = 2, QUANT = 1;
	struct W { int4 a, b, c; int4 sc; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		const size_t G = g >> 2;
		const int i = (int)(g & 3), n = i >> 1, h = i & 1;
		const uint8_t *base = (const uint8_t *)p.q + 192 * G;
		w.a = ld16(base + 64 * n + 16 * h);
		w.b = ld16(base + 64 * n + 32 + 16 * h);
		w.c = ld16(base + 128 + 32 * n + 16 * h);
		w.sc = ld16(p.s + 16 * G);
		w.d = h2f(__ldg((const unsigned short *)p.h + G));
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int i = u & 3, n = i >> 1, h = i & 1;
		const int A[4] = {w.a.x, w.a.y, w.a.z, w.a.w}, B[4] = {w.b.x, w.b.y, w.b.z, w.b.w};
		const int C[4] = {w.c.x, w.c.y, w.c.z, w.c.w};
		int q[4][4];
#pragma unroll
		for (int k = 0; k < 4; k++) {
			q[0][k] = (A[k] & (int)M4) | ((C[k] << 4) & 0x30303030);
			q[1][k] = (B[k] & (int)M4) | ((C[k] << 2) & 0x30303030);
			q[2][k] = ((A[k] >> 4) & (int)M4) | (C[k] & 0x30303030);
			q[3][k] = ((B[k] >> 4) & (int)M4) | ((C[k] >> 2) & 0x30303030);
		}
		/* scale 8 n + h + 2 g: word 2 n + g / 2, byte h + 2 (g % 2) */
		const unsigned wlo = (unsigned)(n ? w.sc.z : w.sc.x), whi = (unsigned)(n ? w.sc.w : w.sc.y);
		float sc[4];
#pragma unroll
		for (int g = 0; g < 4; g++)
			sc[g] = (float)(signed char)(((g < 2 ? wlo : whi) >> (8 * (h + 2 * (g & 1)))) & 0xFFu);
		const int sb0 = u >> 2;
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const int8_t *x = a.xq + c * a.cols + 256 * sb0 + 128 * n + 16 * h;
			const kcu_xs *xs = a.xs + c * (a.cols / 32) + 8 * sb0 + 4 * n;
			float t = 0.0f;
#pragma unroll
			for (int g = 0; g < 4; g++) {
				const int4 xv = lds16(x + 32 * g);
				int s = dp4a(q[g][0], xv.x, 0);
				s = dp4a(q[g][1], xv.y, s);
				s = dp4a(q[g][2], xv.z, s);
				s = dp4a(q[g][3], xv.w, s);
				const kcu_xs xg = xs[g];
				t += sc[g] * xg.d * (float)(s - 32 * (h ? xg.q_hi : xg.q_lo));
			}
			acc[c] += w.d * t;
		}
	}
};

/* float weights: 16 bytes of F16/BF16 (8 weights) or F32 (4) per unit */
template <int TY>
struct TFloat {
	static constexpr int UW = TY == T_F32 ? 4 : 8, UNR = 4, QUANT = 0;
	struct W { int4 q; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		float v[8];
		if (TY == T_F32) {
			v[0] = __int_as_float(w.q.x);
			v[1] = __int_as_float(w.q.y);
			v[2] = __int_as_float(w.q.z);
			v[3] = __int_as_float(w.q.w);
		} else {
			const unsigned q[4] = {(unsigned)w.q.x, (unsigned)w.q.y, (unsigned)w.q.z,
					       (unsigned)w.q.w};
#pragma unroll
			for (int k = 0; k < 4; k++) {
				if (TY == T_F16) {
					const float2 f = half2f(q[k]);
					v[2 * k] = f.x;
					v[2 * k + 1] = f.y;
				} else {
					v[2 * k] = __uint_as_float(q[k] << 16);
					v[2 * k + 1] = __uint_as_float(q[k] & 0xFFFF0000u);
				}
			}
		}
#pragma unroll
		for (int c = 0; c < NC; c++) {
			if (c >= a.nt)
				break;
			const float4 *x = (const float4 *)(a.xf + c * a.cols + UW * u);
			const float4 x0 = x[0];
			float s = acc[c];
			s = fmaf(v[0], x0.x, s);
			s = fmaf(v[1], x0.y, s);
			s = fmaf(v[2], x0.z, s);
			s = fmaf(v[3], x0.w, s);
			if (UW == 8) {
				const float4 x1 = x[1];
				s = fmaf(v[4], x1.x, s);
				s = fmaf(v[5], x1.y, s);
				s = fmaf(v[6], x1.z, s);
				s = fmaf(v[7], x1.w, s);
			}
			acc[c] = s;
		}
	}
};

/* ---- the kernel ------------------------------------------------------- */

/* Loads group g of row r: units g * 32 * UNR + lane + 32 k, k < UNR. */
template <class T>
__device__ __forceinline__ void load_group(const kcu_gemv &p, int r, int g, int lane, int U,
					   typename T::W *w)
{
#pragma unroll
	for (int k = 0; k < T::UNR; k++) {
		const int u = g * 32 * T::UNR + lane + 32 * k;
		if (u < U)
			w[k] = T::load(p, (size_t)r * U + u);
	}
}

template <class T, int NC>
__device__ __forceinline__ void gemv(const kcu_gemv &p)
{
	extern __shared__ __align__(16) unsigned char sm[];
	constexpr int UNR = T::UNR, NW = KCU_THREADS / 32;
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int cols = p.cols;
	const int col0 = blockIdx.y * NC;
	const int nt = min(NC, p.n_tok - col0);
	const int U = cols / T::UW;
	const int G = (U + 32 * UNR - 1) / (32 * UNR);  /* load groups per row */
	const int r_end = min((int)(blockIdx.x * p.rpb) + p.rpb, p.rows);
	/* the warp's work: its rows r_begin + warp + NW i, each in G groups;
	 * group j + 1's loads are issued before group j is used (two groups
	 * in flight), across rows too */
	int r = blockIdx.x * p.rpb + warp, g = 0;
	typename T::W cur[UNR], nxt[UNR];
	if (r < r_end)
		load_group<T>(p, r, 0, lane, U, cur);
	/* the weights are constant: requested before the wait; the
	 * activations, bias and y may still be being written by the previous
	 * kernel */
	pdl_launch();
	pdl_wait();

	acts<NC> a;
	a.cols = cols;
	a.nt = nt;
	if (T::QUANT) {
		int8_t *xq = (int8_t *)sm;
		struct kcu_xs *xs = (struct kcu_xs *)(sm + (size_t)NC * cols);
		const int4 *src = (const int4 *)((const int8_t *)p.xq + (size_t)col0 * cols);
		const int n16 = nt * cols / 16;
		for (int i = tid; i < n16; i += KCU_THREADS)
			((int4 *)xq)[i] = src[i];
		const uint2 *ss = (const uint2 *)((const struct kcu_xs *)p.xs + (size_t)col0 * (cols / 32));
		const int n8 = nt * cols / 32;
		for (int i = tid; i < n8; i += KCU_THREADS)
			((uint2 *)xs)[i] = ss[i];
		a.xq = xq;
		a.xs = xs;
		a.xf = nullptr;
	} else {
		float *xf = (float *)sm;
		const float4 *src = (const float4 *)((const float *)p.xf + (size_t)col0 * cols);
		const int n4 = nt * cols / 4;
		for (int i = tid; i < n4; i += KCU_THREADS)
			((float4 *)xf)[i] = src[i];
		a.xq = nullptr;
		a.xs = nullptr;
		a.xf = xf;
	}
	__syncthreads();
	if (r >= r_end)
		return;

	float acc[NC];
#pragma unroll
	for (int c = 0; c < NC; c++)
		acc[c] = 0.0f;
	for (;;) {
		int nr = r, ng = g + 1;
		if (ng == G) {
			ng = 0;
			nr = r + NW;
		}
		const bool more = nr < r_end;
		if (more)
			load_group<T>(p, nr, ng, lane, U, nxt);
#pragma unroll
		for (int k = 0; k < UNR; k++) {
			const int u = g * 32 * UNR + lane + 32 * k;
			if (u < U)
				T::template dot<NC>(cur[k], u, a, acc);
		}
		if (ng == 0) {   /* row r is done */
#pragma unroll
			for (int c = 0; c < NC; c++)
				acc[c] = warp_sum(acc[c]);
			float *y = (float *)p.y;
			const float b = p.bias ? ((const float *)p.bias)[r] : 0.0f;
#pragma unroll
			for (int c = 0; c < NC; c++) {
				if (c < nt && lane == c) {
					float *dst = y + (size_t)(col0 + c) * p.ldy + r;
					*dst = (p.accumulate ? *dst : 0.0f) + acc[c] + b;
				}
				acc[c] = 0.0f;
			}
		}
		if (!more)
			break;
#pragma unroll
		for (int k = 0; k < UNR; k++)
			cur[k] = nxt[k];
		r = nr;
		g = ng;
	}
}

/* at most 128 registers, 2 blocks (16 warps) per SM. Measured slower on
 * an H100 (bench/cuda_notes.md): an 80-register cap (3 blocks per SM;
 * Q4_0 80% -> 65% of the copy bandwidth, Q4_K 80% -> 52%), and requesting
 * two load groups before the wait on the previous kernel (128 registers,
 * Q4_0 80% -> 73%, Q4_K 80% -> 65%) */
#define GEMV(name, T, NC) \
	extern "C" __global__ void __launch_bounds__(KCU_THREADS, 2) kcu_gemv_##name##_##NC(kcu_gemv p) \
	{ gemv<T, NC>(p); }
#define GEMV_ALL(name, T) GEMV(name, T, 1) GEMV(name, T, 2) GEMV(name, T, 4) GEMV(name, T, 8)

GEMV_ALL(q4_0, TQ4_0)
GEMV_ALL(q4_1, TQ4_1)
GEMV_ALL(q5_0, TQ5_0)
GEMV_ALL(q8_0, TQ8_0)
GEMV_ALL(q4_K, TQK<0>)
GEMV_ALL(q5_K, TQK<1>)
GEMV_ALL(q6_K, TQ6_K)
GEMV_ALL(f32, TFloat<T_F32>)
GEMV_ALL(f16, TFloat<T_F16>)
GEMV_ALL(bf16, TFloat<T_BF16>)

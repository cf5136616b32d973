/*
 * kernels/cuda: matrix-vector products over quantized weights (decode),
 * and the same for NC tokens at once (prefill), one kernel per weight type
 * and NC in {1, 2, 4, 8}: kcu_gemv_<type>_<NC>.
 *
 * A block of KCU_THREADS threads requests its first weights, waits for
 * the previous kernel (programmatic dependent launch), copies its NC
 * activation rows into shared memory by cp.async (int8 quants and per-32
 * scales, or floats), then each warp takes rows of its block's slice (rpb
 * rows) in turn. Within a row, lane l takes the row's "units" l, l + 32,
 * ...: a unit is the weight bytes one lane reads with one 16-byte load (a
 * Q4_0 block of 32 weights, half a Q8_0 block, an eighth of a Q4_K
 * super-block, a quarter of a Q6_K one, ...), so consecutive lanes read
 * consecutive 16 bytes and a warp moves 512 contiguous bytes per load. A
 * lane loads UNR units at once (a group); the group D - 1 ahead (of the
 * row or of the warp's next row) is requested before the current one is
 * used: D x UNR loads in flight per lane while it waits, D = 3 for the
 * quantized types, 2 for the float ones. Quantized weights are dotted
 * with the int8 activations by dp4a (4 products per instruction) and
 * scaled per block; float weights by FMA. The warp's partial sums are
 * reduced by shuffles, for the types in KCU_PAIR two rows at once.
 *
 * Weights are read once (ld.global.nc); every unit's byte layout is in
 * abi.h; the math per type follows ggml's dequantize_row_* (see each
 * traits struct).
 */
#include "common.cuh"

/* Units per lane per load group, and the types (bits in GEMV_ALL below)
 * with three groups in flight rather than two; each measured on an H100
 * (bench/cuda_notes.md). -D overrides time variants against each other
 * (scripts/cuda-gemv-ab.sh). */
#ifndef KCU_UNR_Q
#define KCU_UNR_Q 4             /* Q4_0, Q4_1, Q5_0, Q8_0 */
#endif
#ifndef KCU_UNR_Q4K
#define KCU_UNR_Q4K 4
#endif
#ifndef KCU_UNR_Q5K
#define KCU_UNR_Q5K 4
#endif
#ifndef KCU_UNR_Q6K
#define KCU_UNR_Q6K 1
#endif
#ifndef KCU_DEPTH3
#define KCU_DEPTH3 0x7F         /* all quantized types */
#endif
#ifndef KCU_PAIR
#define KCU_PAIR 0x4B           /* types whose rows are reduced two at once
				 * (rows_out2): Q4_0, Q4_1, Q8_0, Q6_K; Q5_0 and
				 * Q4_K measured slower with it, the float types
				 * lost a block per SM to its registers */
#endif

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

/* 16 bytes of qs and their fifth bits (qh'ed, abi.h) into the 5-bit
 * weights of the low (lo) and high (hi) nibbles, a byte each */
__device__ __forceinline__ void q5_unpack(const int4 &q, unsigned qh, int *lo, int *hi)
{
	const unsigned qv[4] = {(unsigned)q.x, (unsigned)q.y, (unsigned)q.z, (unsigned)q.w};
#pragma unroll
	for (int k = 0; k < 4; k++) {
		lo[k] = (int)((qv[k] & M4) | ((qh << (4 - k)) & 0x10101010u));
		hi[k] = (int)(((qv[k] >> 4) & M4) | ((qh >> k) & 0x10101010u));
	}
}

/* ---- per-type traits: UW weights per unit, load, dot ------------------ */
/* load(p, g, rU): unit g of the matrix, rU the first unit of its row */

struct TQ4_0 {
	static constexpr int UW = 32, UNR = KCU_UNR_Q, QUANT = 1;
	struct W { int4 q; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
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
	static constexpr int UW = 32, UNR = KCU_UNR_Q, QUANT = 1;
	struct W { int4 q; float2 dm; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
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
	static constexpr int UW = 32, UNR = KCU_UNR_Q, QUANT = 1;
	struct W { int4 q; unsigned qh; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
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
		int lo[4], hi[4];
		q5_unpack(w.q, w.qh, lo, hi);
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
	static constexpr int UW = 16, UNR = KCU_UNR_Q, QUANT = 1;
	struct W { int4 q; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
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
/* Q4_K / Q5_K: the 6-bit scales and mins of sub-blocks 2 j and 2 j + 1
 * from the super-block's 16 bytes (d, dmin, scales[12]), without branches
 * (j differs between the lanes of a warp) */
__device__ __forceinline__ void k4_scale_min2(const int4 &m, int j, int &sa, int &ma, int &sb, int &mb)
{
	const unsigned w0 = (unsigned)m.y, w1 = (unsigned)m.z, w2 = (unsigned)m.w;
	const bool low = j < 2;
	const unsigned s = low ? w0 & 0x3f3f3f3fu : (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u);
	const unsigned n = low ? w1 & 0x3f3f3f3fu : ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
	const int sh = 16 * (j & 1);
	sa = (int)((s >> sh) & 0xFFu);
	sb = (int)((s >> (sh + 8)) & 0xFFu);
	ma = (int)((n >> sh) & 0xFFu);
	mb = (int)((n >> (sh + 8)) & 0xFFu);
}

template <int Q5>
struct TQK {
	static constexpr int UW = 32, UNR = Q5 ? KCU_UNR_Q5K : KCU_UNR_Q4K, QUANT = 1;
	struct W { int4 q; int4 meta; unsigned qh; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
	{
		W w;
		w.q = ld16(p.q + 16 * g);
		w.meta = ld16(p.s + 16 * (g >> 3));
		w.qh = Q5 ? __ldg((const unsigned *)p.h + g) : 0u;
		return w;
	}
	template <int NC>
	static __device__ __forceinline__ void dot(const W &w, int u, const acts<NC> &a, float *acc)
	{
		const int i = u & 7, j = i >> 1, h = i & 1;
		int lo[4], hi[4];
		if (Q5) {
			q5_unpack(w.q, w.qh, lo, hi);
		} else {
			const int qv[4] = {w.q.x, w.q.y, w.q.z, w.q.w};
#pragma unroll
			for (int k = 0; k < 4; k++) {
				lo[k] = qv[k] & (int)M4;
				hi[k] = (qv[k] >> 4) & (int)M4;
			}
		}
		const float2 dd = half2f((unsigned)w.meta.x);
		int sa, ma, sb, mb;
		k4_scale_min2(w.meta, j, sa, ma, sb, mb);
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
 * + 2 g]. The three pieces come from the row's planes (abi.h): unit u of
 * the row (first unit rU of the matrix) at 16 u in each, so each of the
 * three loads of a warp reads 512 contiguous bytes. */
struct TQ6_K {
	static constexpr int UW = 64, UNR = KCU_UNR_Q6K, QUANT = 1;
	struct W { int4 a, b, c; uint2 sc; float d; };
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t rU)
	{
		W w;
		const size_t G = g >> 2;
		const int i = (int)(g & 3), n = i >> 1;
		/* the row's planes start at 48 rU (192 bytes a super-block of 4
		 * units); each is cols / 4 bytes */
		const uint8_t *a = (const uint8_t *)p.q + 16 * (g + 2 * rU);
		const int plane = p.cols >> 2;
		w.a = ld16(a);
		w.b = ld16(a + plane);
		w.c = ld16(a + 2 * plane);
		w.sc = __ldg((const uint2 *)(p.s + 16 * G + 8 * n));   /* scales 8 n .. 8 n + 7 */
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
		const unsigned wlo = w.sc.x, whi = w.sc.y;
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
	static __device__ __forceinline__ W load(const kcu_gemv &p, size_t g, size_t)
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

/* cp.async (sm_80+): global -> shared without passing through registers;
 * every copy of a thread is in flight at once until cp_wait(). */
__device__ __forceinline__ void cp16(void *dst, const void *src)
{
	const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(d), "l"(src) : "memory");
}

__device__ __forceinline__ void cp8(void *dst, const void *src)
{
	const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
	asm volatile("cp.async.ca.shared.global [%0], [%1], 8;" ::"r"(d), "l"(src) : "memory");
}

__device__ __forceinline__ void cp_wait()
{
	asm volatile("cp.async.wait_all;" ::: "memory");
}

/* The warp's sums of row r (acc) to y (+ bias, + y when accumulating). */
template <int NC>
__device__ __forceinline__ void row_out(const kcu_gemv &p, int r, int lane, int col0, int nt, float *acc)
{
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

/* The warp's sums of rows ra (a) and rb (b) to y as row_out does, in one
 * reduction: after one exchange across the half-warps, lanes 0..15 hold
 * pair sums of row ra and lanes 16..31 of row rb, and four more steps
 * finish both (5 shuffles for two rows instead of 10). */
template <int NC>
__device__ __forceinline__ void rows_out2(const kcu_gemv &p, int ra, int rb, int lane, int col0, int nt, float *a,
					  float *b)
{
	const bool up = lane & 16;
#pragma unroll
	for (int c = 0; c < NC; c++) {
		float v = (up ? b[c] : a[c]) + __shfl_xor_sync(0xffffffffu, up ? a[c] : b[c], 16);
#pragma unroll
		for (int o = 8; o > 0; o >>= 1)
			v += __shfl_xor_sync(0xffffffffu, v, o);
		a[c] = v;
	}
	float *y = (float *)p.y;
	const int r = up ? rb : ra;
	const float bias = p.bias ? ((const float *)p.bias)[r] : 0.0f;
#pragma unroll
	for (int c = 0; c < NC; c++) {
		if (c < nt && (lane & 15) == c) {
			float *dst = y + (size_t)(col0 + c) * p.ldy + r;
			*dst = (p.accumulate ? *dst : 0.0f) + a[c] + bias;
		}
		a[c] = 0.0f;
		b[c] = 0.0f;
	}
}

/* The block's NC activation rows into shared memory (cp.async: every
 * copy in flight at once), and where they are; the caller waits
 * (cp_wait, __syncthreads). */
template <class T, int NC>
__device__ __forceinline__ acts<NC> stage_acts(const kcu_gemv &p, int tid, int col0, int nt)
{
	extern __shared__ __align__(16) unsigned char sm[];
	const int cols = p.cols;
	acts<NC> a;
	a.cols = cols;
	a.nt = nt;
	if (T::QUANT) {
		int8_t *xq = (int8_t *)sm;
		struct kcu_xs *xs = (struct kcu_xs *)(sm + (size_t)NC * cols);
		const int4 *src = (const int4 *)((const int8_t *)p.xq + (size_t)col0 * cols);
		const int n16 = nt * cols / 16;
		for (int i = tid; i < n16; i += KCU_THREADS)
			cp16((int4 *)xq + i, src + i);
		const uint2 *ss = (const uint2 *)((const struct kcu_xs *)p.xs + (size_t)col0 * (cols / 32));
		const int n8 = nt * cols / 32;
		for (int i = tid; i < n8; i += KCU_THREADS)
			cp8((uint2 *)xs + i, ss + i);
		a.xq = xq;
		a.xs = xs;
		a.xf = nullptr;
	} else {
		float *xf = (float *)sm;
		const float4 *src = (const float4 *)((const float *)p.xf + (size_t)col0 * cols);
		const int n4 = nt * cols / 4;
		for (int i = tid; i < n4; i += KCU_THREADS)
			cp16((float4 *)xf + i, src + i);
		a.xq = nullptr;
		a.xs = nullptr;
		a.xf = xf;
	}
	return a;
}

/* One warp per row (rows r0, r0 + NW, ...), each row in G groups (the
 * last part-empty where a row is not a whole number of groups); the
 * group D - 1 ahead is requested before the current one is used (D - 1
 * groups in flight while it is, D while waiting for it); the first D - 1
 * before the wait on the previous kernel. */
template <class T>
__device__ __forceinline__ void load_group_row(const kcu_gemv &p, int r, int g, int lane, int U,
					       typename T::W *w)
{
#pragma unroll
	for (int k = 0; k < T::UNR; k++) {
		const int u = g * 32 * T::UNR + lane + 32 * k;
		if (u < U)
			w[k] = T::load(p, (size_t)r * U + u, (size_t)r * U);
	}
}

__device__ __forceinline__ void next_group(int &r, int &g, int G)
{
	if (++g == G) {
		g = 0;
		r += KCU_THREADS / 32;
	}
}

template <class T, int NC, int D, int PAIR>
__device__ __forceinline__ void gemv_row(const kcu_gemv &p)
{
	constexpr int UNR = T::UNR;
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int col0 = blockIdx.y * NC;
	const int nt = min(NC, p.n_tok - col0);
	const int U = p.cols / T::UW;
	const int G = (U + 32 * UNR - 1) / (32 * UNR);
	const int r_end = min((int)(blockIdx.x * p.rpb) + p.rpb, p.rows);
	/* (r, g): the group in cur; (r1, g1) in nxt; (r2, g2) in nx2 (D 3) */
	int r = blockIdx.x * p.rpb + warp, g = 0;
	int r1 = r, g1 = 0;
	next_group(r1, g1, G);
	int r2 = r1, g2 = g1;
	typename T::W cur[UNR], nxt[UNR], nx2[UNR];
	if (r < r_end)
		load_group_row<T>(p, r, 0, lane, U, cur);
	if (D == 3 && r1 < r_end)
		load_group_row<T>(p, r1, g1, lane, U, nxt);
	pdl_launch();
	pdl_wait();
	const acts<NC> a = stage_acts<T, NC>(p, tid, col0, nt);
	cp_wait();
	__syncthreads();
	if (r >= r_end)
		return;
	float acc[NC], pend[NC];
	int pend_r = -1;   /* a finished row whose sums wait in pend (PAIR) */
#pragma unroll
	for (int c = 0; c < NC; c++)
		acc[c] = pend[c] = 0.0f;
	for (;;) {
		if (D == 2) {
			if (r1 < r_end)
				load_group_row<T>(p, r1, g1, lane, U, nxt);
		} else {
			next_group(r2, g2, G);
			if (r2 < r_end)
				load_group_row<T>(p, r2, g2, lane, U, nx2);
		}
#pragma unroll
		for (int k = 0; k < UNR; k++) {
			const int u = g * 32 * UNR + lane + 32 * k;
			if (u < U)
				T::template dot<NC>(cur[k], u, a, acc);
		}
		if (g1 == 0) {   /* row r is done */
			if (!PAIR) {
				row_out<NC>(p, r, lane, col0, nt, acc);
			} else if (pend_r < 0) {   /* kept until the warp's next row is done */
				pend_r = r;
#pragma unroll
				for (int c = 0; c < NC; c++) {
					pend[c] = acc[c];
					acc[c] = 0.0f;
				}
			} else {
				rows_out2<NC>(p, pend_r, r, lane, col0, nt, pend, acc);
				pend_r = -1;
			}
		}
		if (r1 >= r_end)
			break;
#pragma unroll
		for (int k = 0; k < UNR; k++) {
			cur[k] = nxt[k];
			if (D == 3)
				nxt[k] = nx2[k];
		}
		r = r1;
		g = g1;
		next_group(r1, g1, G);
	}
	if (PAIR && pend_r >= 0)
		row_out<NC>(p, pend_r, lane, col0, nt, pend);
}

/* At most 128 registers, 2 blocks (16 warps) per SM. Measured slower on
 * an H100 (bench/cuda_notes.md): an 80-register cap (3 blocks per SM;
 * Q4_0 80% -> 65% of the copy bandwidth, Q4_K 80% -> 52%); a slice
 * stream across each warp's rows (no part-empty group where a row ends)
 * helped only Q4_0 on 14336-wide rows with two groups in flight, and
 * nothing with three. */
#define GEMV(name, T, NC, BIT) \
	extern "C" __global__ void __launch_bounds__(KCU_THREADS, 2) kcu_gemv_##name##_##NC(kcu_gemv p) \
	{ \
		constexpr int pair = (KCU_PAIR & (BIT)) ? 1 : 0; \
		if (KCU_DEPTH3 & (BIT)) \
			gemv_row<T, NC, 3, pair>(p); \
		else \
			gemv_row<T, NC, 2, pair>(p); \
	}
#define GEMV_ALL(name, T, BIT) GEMV(name, T, 1, BIT) GEMV(name, T, 2, BIT) GEMV(name, T, 4, BIT) \
	GEMV(name, T, 8, BIT)

GEMV_ALL(q4_0, TQ4_0, 1)
GEMV_ALL(q4_1, TQ4_1, 2)
GEMV_ALL(q5_0, TQ5_0, 4)
GEMV_ALL(q8_0, TQ8_0, 8)
GEMV_ALL(q4_K, TQK<0>, 16)
GEMV_ALL(q5_K, TQK<1>, 32)
GEMV_ALL(q6_K, TQ6_K, 64)
GEMV_ALL(f32, TFloat<T_F32>, 128)
GEMV_ALL(f16, TFloat<T_F16>, 128)
GEMV_ALL(bf16, TFloat<T_BF16>, 128)

/* ---- prefill through the tensor cores: Q4_0 and Q8_0 ------------------- */

/* Y (n_tok x rows) = X W^T for more than 8 tokens: a block of 4 warps
 * takes 16 rows and 64 tokens (8 tiles of 8 tokens).
 * Per 32-weight block (one k step), mma.sync m16n8k32 multiplies the
 * weights' int8 (Q4_0: the nibbles 0..15 as u8; Q8_0: s8) by the
 * activations' int8 into exact int32 sums, which are scaled as the dp4a
 * path scales them (d_w d_x (s - 8 sum x) for Q4_0) and added in float.
 * Fragment layouts (PTX ISA, m16n8k32 .s8): A a0..a3 = rows g, g + 8, g,
 * g + 8 (g = lane / 4), bytes 4 (lane % 4) + 0..3 and 16 + that; B b0, b1 =
 * column g, the same bytes; C c0..c3 = rows g, g, g + 8, g + 8, columns 2
 * (lane % 4) + 0, 1. The weights and activations come through L1 (__ldg).
 * A block's 4 warps take the same 16 rows and every fourth k step each;
 * warp 0 adds the others' sums in order (shared memory) and writes. Grid
 * (ceil(rows / 16), ceil(n_tok / 64)), 128 threads. */
template <int Q8>
__device__ __forceinline__ void mma_k32(const unsigned *a, const unsigned *b, int *c)
{
	if (Q8)
		asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
			     "{%8,%9}, {%0,%1,%2,%3};"
			     : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
			     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
	else
		asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
			     "{%8,%9}, {%0,%1,%2,%3};"
			     : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
			     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <int Q8, int RG>
__device__ __forceinline__ void gemm_tc(const kcu_gemv &p)
{
	constexpr int NT = 8;                     /* token tiles of 8 per warp */
	const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3, rg = threadIdx.x >> 7;
	const int g = lane >> 2, q = lane & 3;
	const int nb = p.cols / 32;
	const int ra = (blockIdx.x * RG + rg) * 16 + g, rb = ra + 8;
	const int ra_c = min(ra, p.rows - 1), rb_c = min(rb, p.rows - 1);   /* clamped: loads stay inside */
	const int t0 = blockIdx.y * 64;
	pdl_launch();
	pdl_wait();
	const int8_t *xq = (const int8_t *)p.xq;
	const struct kcu_xs *xs = (const struct kcu_xs *)p.xs;
	/* the tokens of this lane's B columns (g) and C columns (2 q, 2 q + 1), per tile */
	int tb[NT], tc0[NT], tc1[NT];
#pragma unroll
	for (int j = 0; j < NT; j++) {
		tb[j] = t0 + 8 * j + g;
		tc0[j] = t0 + 8 * j + 2 * q;
		tc1[j] = tc0[j] + 1;
	}
	float acc[NT][4];
#pragma unroll
	for (int j = 0; j < NT; j++)
		acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
#pragma unroll 2
	for (int b = warp; b < nb; b += 4) {
		unsigned a[4];
		float da, db;
		if (Q8) {
			const unsigned *wa = (const unsigned *)((const uint8_t *)p.q + 32 * ((size_t)ra_c * nb + b));
			const unsigned *wb = (const unsigned *)((const uint8_t *)p.q + 32 * ((size_t)rb_c * nb + b));
			a[0] = __ldg(wa + q);
			a[2] = __ldg(wa + 4 + q);
			a[1] = __ldg(wb + q);
			a[3] = __ldg(wb + 4 + q);
		} else {
			const unsigned wa = __ldg((const unsigned *)((const uint8_t *)p.q + 16 * ((size_t)ra_c * nb + b)) + q);
			const unsigned wb = __ldg((const unsigned *)((const uint8_t *)p.q + 16 * ((size_t)rb_c * nb + b)) + q);
			a[0] = wa & M4;
			a[2] = (wa >> 4) & M4;
			a[1] = wb & M4;
			a[3] = (wb >> 4) & M4;
		}
		da = h2f(__ldg((const unsigned short *)p.s + (size_t)ra_c * nb + b));
		db = h2f(__ldg((const unsigned short *)p.s + (size_t)rb_c * nb + b));
#pragma unroll
		for (int j = 0; j < NT; j++) {
			if (t0 + 8 * j >= p.n_tok)
				break;
			unsigned bv[2] = {0u, 0u};
			if (tb[j] < p.n_tok) {
				const unsigned *x = (const unsigned *)(xq + (size_t)tb[j] * p.cols + 32 * b);
				bv[0] = __ldg(x + q);
				bv[1] = __ldg(x + 4 + q);
			}
			int c[4] = {0, 0, 0, 0};
			mma_k32<Q8>(a, bv, c);
			kcu_xs x0 = {0.0f, 0, 0}, x1 = {0.0f, 0, 0};
			if (tc0[j] < p.n_tok)
				x0 = xs[(size_t)tc0[j] * nb + b];
			if (tc1[j] < p.n_tok)
				x1 = xs[(size_t)tc1[j] * nb + b];
			const int o0 = Q8 ? 0 : 8 * (x0.q_lo + x0.q_hi), o1 = Q8 ? 0 : 8 * (x1.q_lo + x1.q_hi);
			acc[j][0] += da * x0.d * (float)(c[0] - o0);
			acc[j][1] += da * x1.d * (float)(c[1] - o1);
			acc[j][2] += db * x0.d * (float)(c[2] - o0);
			acc[j][3] += db * x1.d * (float)(c[3] - o1);
		}
	}
	__shared__ float red[RG][3][NT * 4][32];
	if (warp > 0) {
#pragma unroll
		for (int j = 0; j < NT; j++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				red[rg][warp - 1][4 * j + e][lane] = acc[j][e];
	}
	__syncthreads();
	if (warp > 0)
		return;
	float *y = (float *)p.y;
	const float *bias = (const float *)p.bias;
#pragma unroll
	for (int j = 0; j < NT; j++) {
#pragma unroll
		for (int e = 0; e < 4; e++) {
			acc[j][e] += red[rg][0][4 * j + e][lane];
			acc[j][e] += red[rg][1][4 * j + e][lane];
			acc[j][e] += red[rg][2][4 * j + e][lane];
			const int r = e < 2 ? ra : rb, t = e & 1 ? tc1[j] : tc0[j];
			if (r < p.rows && t < p.n_tok) {
				float *dst = y + (size_t)t * p.ldy + r;
				*dst = (p.accumulate ? *dst : 0.0f) + acc[j][e] + (bias ? bias[r] : 0.0f);
			}
		}
	}
}

/* _4: 4 row groups (64 rows, 512 threads) a block: the activations are read
 * once per 64 rows rather than per 16 (L2 traffic), for matrices of rows
 * enough to fill the GPU that way */
extern "C" __global__ void __launch_bounds__(128) kcu_gemm_q4_0(kcu_gemv p) { gemm_tc<0, 1>(p); }
extern "C" __global__ void __launch_bounds__(128) kcu_gemm_q8_0(kcu_gemv p) { gemm_tc<1, 1>(p); }
extern "C" __global__ void __launch_bounds__(512) kcu_gemm_q4_0_4(kcu_gemv p) { gemm_tc<0, 4>(p); }
extern "C" __global__ void __launch_bounds__(512) kcu_gemm_q8_0_4(kcu_gemv p) { gemm_tc<1, 4>(p); }

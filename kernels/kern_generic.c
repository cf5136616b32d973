/*
 * kernels: the generic C backend, the reference every SIMD kernel is
 * tested against. Block math as ggml's ggml-quants.c: dequantize_row_*,
 * quantize_row_q8_{0,1,K}_ref and ggml_vec_dot_*_generic.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kern_internal.h"

/* ---- scalar conversions ----------------------------------------------- */

float kern_fp16_to_fp32(uint16_t h)
{
	return kern_h2f(h);
}

/* Float to half, round to nearest even: the value is scaled so that the
 * float adder rounds it at half precision, then the bits are repacked. */
uint16_t kern_fp32_to_fp16(float f)
{
	float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
	const uint32_t w = kern_f32_bits(f);
	const uint32_t shl1_w = w + w;
	const uint32_t sign = w & 0x80000000u;
	uint32_t bias = shl1_w & 0xFF000000u;
	if (bias < 0x71000000u)
		bias = 0x71000000u;
	base = kern_bits_f32((bias >> 1) + 0x07800000u) + base;
	const uint32_t bits = kern_f32_bits(base);
	const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
	const uint32_t mantissa_bits = bits & 0x00000FFFu;
	const uint32_t nonsign = exp_bits + mantissa_bits;
	return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float kern_bf16_to_fp32(uint16_t h)
{
	return kern_bits_f32((uint32_t)h << 16);
}

uint16_t kern_fp32_to_bf16(float f)
{
	uint32_t u = kern_f32_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u)  /* NaN: keep it a quiet NaN */
		return (uint16_t)((u >> 16) | 64);
	return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* ---- dequantize ------------------------------------------------------- */

static void deq_f32(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void deq_f16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = kern_h2f(x[i]);
}

static void deq_bf16(const void *src, float *dst, int64_t n)
{
	const uint16_t *x = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = kern_bf16_to_fp32(x[i]);
}

static void deq_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = kern_h2f(x[i].d);
		for (int j = 0; j < 16; j++) {
			dst[i * 32 + j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
			dst[i * 32 + j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void deq_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = kern_h2f(x[i].d), m = kern_h2f(x[i].m);
		for (int j = 0; j < 16; j++) {
			dst[i * 32 + j] = (float)(x[i].qs[j] & 0xF) * d + m;
			dst[i * 32 + j + 16] = (float)(x[i].qs[j] >> 4) * d + m;
		}
	}
}

static void deq_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = kern_h2f(x[i].d);
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		for (int j = 0; j < 16; j++) {
			const int h0 = (int)((qh >> j) & 1) << 4;
			const int h1 = (int)((qh >> (j + 16)) & 1) << 4;
			dst[i * 32 + j] = (float)(((x[i].qs[j] & 0xF) | h0) - 16) * d;
			dst[i * 32 + j + 16] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
		}
	}
}

static void deq_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = kern_h2f(x[i].d);
		for (int j = 0; j < 32; j++)
			dst[i * 32 + j] = (float)x[i].qs[j] * d;
	}
}

static void deq_q8_1(const void *src, float *dst, int64_t n)
{
	const struct block_q8_1 *x = src;
	for (int64_t i = 0; i < n / 32; i++) {
		const float d = kern_h2f(x[i].d);
		for (int j = 0; j < 32; j++)
			dst[i * 32 + j] = (float)x[i].qs[j] * d;
	}
}

static void deq_q8_K(const void *src, float *dst, int64_t n)
{
	const struct block_q8_K *x = src;
	for (int64_t i = 0; i < n / QK_K; i++)
		for (int j = 0; j < QK_K; j++)
			dst[i * QK_K + j] = (float)x[i].qs[j] * x[i].d;
}

static void deq_q4_K(const void *src, float *dst, int64_t n)
{
	const struct block_q4_K *x = src;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d = kern_h2f(x[i].d), dmin = kern_h2f(x[i].dmin);
		const uint8_t *q = x[i].qs;
		float *y = dst + i * QK_K;
		for (int j = 0; j < QK_K / 64; j++) {
			uint8_t sc, m;
			kern_k4_scale_min(2 * j, x[i].scales, &sc, &m);
			const float d1 = d * sc, m1 = dmin * m;
			kern_k4_scale_min(2 * j + 1, x[i].scales, &sc, &m);
			const float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++)
				y[64 * j + l] = d1 * (float)(q[l] & 0xF) - m1;
			for (int l = 0; l < 32; l++)
				y[64 * j + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
			q += 32;
		}
	}
}

static void deq_q5_K(const void *src, float *dst, int64_t n)
{
	const struct block_q5_K *x = src;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d = kern_h2f(x[i].d), dmin = kern_h2f(x[i].dmin);
		const uint8_t *ql = x[i].qs, *qh = x[i].qh;
		float *y = dst + i * QK_K;
		for (int j = 0; j < QK_K / 64; j++) {
			uint8_t sc, m;
			kern_k4_scale_min(2 * j, x[i].scales, &sc, &m);
			const float d1 = d * sc, m1 = dmin * m;
			kern_k4_scale_min(2 * j + 1, x[i].scales, &sc, &m);
			const float d2 = d * sc, m2 = dmin * m;
			const uint8_t u1 = (uint8_t)(1u << (2 * j)), u2 = (uint8_t)(2u << (2 * j));
			for (int l = 0; l < 32; l++)
				y[64 * j + l] = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++)
				y[64 * j + 32 + l] = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
			ql += 32;
		}
	}
}

/* Q6_K: in each half of 128 weights, weight w has low 4 bits in ql (w <
 * 64: low nibble of ql[w], else high nibble of ql[w - 64]), high 2 bits in
 * qh[w % 32] at bit 2 * (w / 32), and scale sc[w / 16]. */
static void deq_q6_K(const void *src, float *dst, int64_t n)
{
	const struct block_q6_K *x = src;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d = kern_h2f(x[i].d);
		float *y = dst + i * QK_K;
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
			const int8_t *sc = x[i].scales + 8 * h;
			for (int w = 0; w < 128; w++) {
				const int lo = w < 64 ? (ql[w] & 0xF) : (ql[w - 64] >> 4);
				const int hi = (qh[w % 32] >> (2 * (w / 32))) & 3;
				y[128 * h + w] = d * (float)sc[w / 16] * (float)((lo | (hi << 4)) - 32);
			}
		}
	}
}

/* ---- quantize activations --------------------------------------------- */

/* As ggml-cpu's quantize_row_q8_0 on x86 (what llama.cpp runs here):
 * d = max|x| / 127 stored as F16, q = x * (127 / max|x|) rounded half to
 * even. (quantize_row_q8_0_ref multiplies by 1/d and rounds half away
 * from zero; a few quants per row differ by one, and a model whose
 * activations have outliers is sensitive to them.) */
static void quant_q8_0(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *y = dst;
	for (int64_t i = 0; i < n / 32; i++) {
		float amax = 0;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[i * 32 + j]));
		const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
		y[i].d = kern_fp32_to_fp16(d);
		for (int j = 0; j < 32; j++)
			y[i].qs[j] = (int8_t)lrintf(x[i * 32 + j] * id);
	}
}

/* As Q8_0, plus s = d * sum(q) stored as F16 (ggml-cpu x86). */
static void quant_q8_1(const float *x, void *dst, int64_t n)
{
	struct block_q8_1 *y = dst;
	for (int64_t i = 0; i < n / 32; i++) {
		float amax = 0;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[i * 32 + j]));
		const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
		int sum = 0;
		for (int j = 0; j < 32; j++) {
			y[i].qs[j] = (int8_t)lrintf(x[i * 32 + j] * id);
			sum += y[i].qs[j];
		}
		y[i].d = kern_fp32_to_fp16(d);
		y[i].s = kern_fp32_to_fp16((float)sum * d);
	}
}

/* ggml quantize_row_q8_K_ref: the value of largest magnitude maps to
 * -127 (iscale = -127 / max), round to nearest even, clamp at 127; float
 * scale d = 1 / iscale; bsums: sums of each 16 quants. */
static void quant_q8_K(const float *x, void *dst, int64_t n)
{
	struct block_q8_K *y = dst;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float *xb = x + i * QK_K;
		float amax = 0, max = 0;
		for (int j = 0; j < QK_K; j++) {
			if (fabsf(xb[j]) > amax) {
				amax = fabsf(xb[j]);
				max = xb[j];
			}
		}
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		const float iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++) {
			long v = lrintf(iscale * xb[j]);
			y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
		}
		for (int j = 0; j < QK_K / 16; j++) {
			int s = 0;
			for (int l = 0; l < 16; l++)
				s += y[i].qs[16 * j + l];
			y[i].bsums[j] = (int16_t)s;
		}
		y[i].d = 1.0f / iscale;
	}
}

/* ---- dot products ----------------------------------------------------- */

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)x[i] * y[i];
	return (float)s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)kern_h2f(x[i]) * y[i];
	return (float)s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w;
	const float *y = a;
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)kern_bf16_to_fp32(x[i]) * y[i];
	return (float)s;
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	const struct block_q4_0 *x = w;
	const struct block_q8_0 *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / 32; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j];
			sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
		}
		s += (float)sumi * kern_h2f(x[i].d) * kern_h2f(y[i].d);
	}
	return s;
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	const struct block_q4_1 *x = w;
	const struct block_q8_1 *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / 32; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			sumi += (x[i].qs[j] & 0xF) * y[i].qs[j];
			sumi += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
		}
		s += (float)sumi * kern_h2f(x[i].d) * kern_h2f(y[i].d) +
		     kern_h2f(x[i].m) * kern_h2f(y[i].s);
	}
	return s;
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	const struct block_q5_0 *x = w;
	const struct block_q8_0 *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / 32; i++) {
		uint32_t qh;
		memcpy(&qh, x[i].qh, 4);
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			const int h0 = (int)((qh >> j) & 1) << 4;
			const int h1 = (int)((qh >> (j + 16)) & 1) << 4;
			sumi += (((x[i].qs[j] & 0xF) | h0) - 16) * y[i].qs[j];
			sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + 16];
		}
		s += (float)sumi * kern_h2f(x[i].d) * kern_h2f(y[i].d);
	}
	return s;
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	const struct block_q8_0 *x = w;
	const struct block_q8_0 *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / 32; i++) {
		int sumi = 0;
		for (int j = 0; j < 32; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		s += (float)sumi * kern_h2f(x[i].d) * kern_h2f(y[i].d);
	}
	return s;
}

/* Q4_K . Q8_K: per super-block d * sum_j sc_j * (q4 . q8)_j minus
 * dmin * sum_j m_j * (sum of q8 in sub-block j, from bsums). */
static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int sumi = 0, summ = 0;
		for (int j = 0; j < QK_K / 32; j++) {
			uint8_t sc, m;
			kern_k4_scale_min(j, x[i].scales, &sc, &m);
			const uint8_t *q = x[i].qs + 32 * (j / 2);
			const int8_t *q8 = y[i].qs + 32 * j;
			int sj = 0;
			for (int l = 0; l < 32; l++)
				sj += (j & 1 ? q[l] >> 4 : q[l] & 0xF) * q8[l];
			sumi += sc * sj;
			summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		}
		s += y[i].d * (kern_h2f(x[i].d) * (float)sumi - kern_h2f(x[i].dmin) * (float)summ);
	}
	return s;
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	const struct block_q5_K *x = w;
	const struct block_q8_K *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int sumi = 0, summ = 0;
		for (int j = 0; j < QK_K / 32; j++) {
			uint8_t sc, m;
			kern_k4_scale_min(j, x[i].scales, &sc, &m);
			const uint8_t *q = x[i].qs + 32 * (j / 2);
			const int8_t *q8 = y[i].qs + 32 * j;
			int sj = 0;
			for (int l = 0; l < 32; l++) {
				const int lo = j & 1 ? q[l] >> 4 : q[l] & 0xF;
				const int hi = (x[i].qh[l] >> j) & 1;
				sj += (lo | (hi << 4)) * q8[l];
			}
			sumi += sc * sj;
			summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		}
		s += y[i].d * (kern_h2f(x[i].d) * (float)sumi - kern_h2f(x[i].dmin) * (float)summ);
	}
	return s;
}

static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	float s = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int sumi = 0;
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
			const int8_t *sc = x[i].scales + 8 * h;
			const int8_t *q8 = y[i].qs + 128 * h;
			for (int g = 0; g < 8; g++) {
				int sg = 0;
				for (int l = 0; l < 16; l++) {
					const int wi = 16 * g + l;
					const int lo = wi < 64 ? (ql[wi] & 0xF) : (ql[wi - 64] >> 4);
					const int hi = (qh[wi % 32] >> (2 * (wi / 32))) & 3;
					sg += ((lo | (hi << 4)) - 32) * q8[wi];
				}
				sumi += sc[g] * sg;
			}
		}
		s += kern_h2f(x[i].d) * y[i].d * (float)sumi;
	}
	return s;
}

/* ---- packed products (layout: kern_internal.h) ------------------------ */

/* One activation record: ggml's x86 Q8_0 / Q8_1 quantization of 32 values
 * (d = max|x| / 127 through F16, q = x * 127 / max|x| rounded half to
 * even); returns the sum of the quants, sets *d32 to d before rounding. */
static int qa_block(const float *x, struct kern_qa *r, float *d32)
{
	float amax = 0;
	for (int j = 0; j < 32; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
	int sum = 0;
	for (int j = 0; j < 32; j++) {
		r->qs[j] = (int8_t)lrintf(x[j] * id);
		sum += r->qs[j];
	}
	r->d = kern_h2f(kern_fp32_to_fp16(d));
	*d32 = d;
	return sum;
}

static void qact_q4_0(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		float d;
		dst[b * stride].c = -8 * qa_block(x + 32 * b, &dst[b * stride], &d);
	}
}

static void qact_q8_0(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		float d;
		dst[b * stride].c = -128 * qa_block(x + 32 * b, &dst[b * stride], &d);
	}
}

static void qact_q4_1(const float *x, int64_t n, void *out, int64_t stride)
{
	struct kern_qa *dst = out;
	for (int64_t b = 0; b < n / 32; b++) {
		float d;
		const int sum = qa_block(x + 32 * b, &dst[b * stride], &d);
		dst[b * stride].s = kern_h2f(kern_fp32_to_fp16((float)sum * d));
	}
}

/* The 16 rows' weights of one packed block as the signed values the
 * block's scale multiplies (Q4_0: nibble - 8; Q4_1: nibble; Q8_0: the
 * quant): chunk c, row r, byte j holds k = 4c + j (and for Q4 k = 16 + 4c
 * + j in its high nibble). */
static void unpack_block(int type, const uint8_t *qs, int8_t wv[KERN_PACK_ROWS][32])
{
	const int chunks = (int)(kern_pack_qs_bytes(type) / 64), off = type == QT_Q4_0 ? 8 : 0;
	for (int c = 0; c < chunks; c++)
		for (int r = 0; r < KERN_PACK_ROWS; r++)
			for (int j = 0; j < 4; j++) {
				const uint8_t byte = qs[64 * c + 4 * r + j];
				if (type == QT_Q8_0) {
					wv[r][4 * c + j] = (int8_t)byte;
				} else {
					wv[r][4 * c + j] = (int8_t)((byte & 0xF) - off);
					wv[r][16 + 4 * c + j] = (int8_t)((byte >> 4) - off);
				}
			}
}

/* The plain-C reference of the packed product: per block, the 16 rows'
 * weights unpacked to ints once, then per row and token the exact integer
 * dot, scaled in float as the row dot kernels do. */
static void gemm_ref(int type, int64_t nb, const void *w, int64_t ng, const void *act, int nt,
		     float *y, int64_t ldy, int64_t nrows)
{
	const struct kern_qa *a = act;
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const size_t gb = kern_pack_group_bytes(type, nb);
	for (int64_t g = 0; g < ng; g++) {
		const uint8_t *grp = (const uint8_t *)w + (size_t)g * gb;
		float s[KERN_PACK_ROWS][KERN_PACK_TOKENS] = {{0}};
		for (int64_t b = 0; b < nb; b++) {
			const uint8_t *qs = grp + b * qsb;
			const uint16_t *sc = (const uint16_t *)(grp + nb * qsb + b * scb);
			int8_t wv[KERN_PACK_ROWS][32];
			float d[KERN_PACK_ROWS], m[KERN_PACK_ROWS];
			unpack_block(type, qs, wv);
			for (int r = 0; r < KERN_PACK_ROWS; r++) {
				d[r] = kern_h2f(sc[r]);
				m[r] = type == QT_Q4_1 ? kern_h2f(sc[KERN_PACK_ROWS + r]) : 0.0f;
			}
			for (int t = 0; t < nt; t++) {
				const struct kern_qa *ab = &a[b * nt + t];
				for (int r = 0; r < KERN_PACK_ROWS; r++) {
					int sumi = 0;
					for (int k = 0; k < 32; k++)
						sumi += wv[r][k] * ab->qs[k];
					s[r][t] += (float)sumi * d[r] * ab->d;
					if (type == QT_Q4_1)
						s[r][t] += m[r] * ab->s;
				}
			}
		}
		for (int r = 0; r < KERN_PACK_ROWS && g * KERN_PACK_ROWS + r < nrows; r++)
			for (int t = 0; t < nt; t++)
				y[t * ldy + g * KERN_PACK_ROWS + r] = s[r][t];
	}
}

/* ---- packed k-quants ---------------------------------------------------- */

/* Q8_K quantization (quant_q8_K) plus the sums the packed k-quant
 * products read (kern_internal.h). */
static void qact_k(int type, const float *x, int64_t n, struct kern_qk *dst, int64_t stride)
{
	for (int64_t b = 0; b < n / QK_K; b++) {
		struct block_q8_K q;
		struct kern_qk *r = &dst[b * stride];
		quant_q8_K(x + b * QK_K, &q, QK_K);
		memcpy(r->qs, q.qs, QK_K);
		r->d = q.d;
		memset(r->x, 0, sizeof r->x);
		for (int i = 0; type == QT_Q4_K && i < 4; i++) {
			const int s0 = q.bsums[4 * i] + q.bsums[4 * i + 1];
			const int s1 = q.bsums[4 * i + 2] + q.bsums[4 * i + 3];
			r->x[i] = (int32_t)((uint32_t)(uint16_t)s0 | (uint32_t)(uint16_t)s1 << 16);
		}
		for (int j = 0; type == QT_Q6_K && j < 16; j++)
			r->x[j] = -32 * q.bsums[j];
	}
}

static void qact_q4_K(const float *x, int64_t n, void *out, int64_t stride)
{
	qact_k(QT_Q4_K, x, n, out, stride);
}

static void qact_q6_K(const float *x, int64_t n, void *out, int64_t stride)
{
	qact_k(QT_Q6_K, x, n, out, stride);
}

/* Row r's 256 quants of a packed k-quant block: Q4_K 0..15, Q6_K the
 * signed value (q - 32). */
static void unpack_k(int type, const uint8_t *qs, int r, int8_t q[QK_K])
{
#define PB(base, j) (qs[(base) + 64 * ((j) / 4) + 4 * r + (j) % 4])
	if (type == QT_Q4_K) {
		for (int j = 0; j < 128; j++) {
			const uint8_t b = PB(0, j);
			q[64 * (j / 32) + j % 32] = (int8_t)(b & 0xF);
			q[64 * (j / 32) + j % 32 + 32] = (int8_t)(b >> 4);
		}
		return;
	}
	for (int n = 0; n < 2; n++)
		for (int l = 0; l < 32; l++) {
			const uint8_t a = PB(0, 64 * n + l), b = PB(0, 64 * n + 32 + l), h = PB(2048, 32 * n + l);
			q[128 * n + l] = (int8_t)(((a & 0xF) | ((h & 3) << 4)) - 32);
			q[128 * n + l + 32] = (int8_t)(((b & 0xF) | (((h >> 2) & 3) << 4)) - 32);
			q[128 * n + l + 64] = (int8_t)(((a >> 4) | (((h >> 4) & 3) << 4)) - 32);
			q[128 * n + l + 96] = (int8_t)(((b >> 4) | (((h >> 6) & 3) << 4)) - 32);
		}
#undef PB
}

/* The plain-C reference of the packed k-quant products, as the row dot
 * kernels compute them: Q4_K d x sum_j sc_j (q . a)_j - dmin x sum_j m_j
 * (sum of a in j), sub-blocks of 32; Q6_K d x sum_j sc_j (q - 32 . a)_j,
 * sub-blocks of 16; both times the activations' d. */
static void gemm_ref_k(int type, int64_t nb, const void *w, int64_t ng, const void *act, int nt, float *y,
		       int64_t ldy, int64_t nrows)
{
	const struct kern_qk *a = act;
	const int64_t qsb = kern_pack_qs_bytes(type), scb = kern_pack_sc_bytes(type);
	const size_t gb = kern_pack_group_bytes(type, nb);
	for (int64_t g = 0; g < ng; g++) {
		const uint8_t *grp = (const uint8_t *)w + (size_t)g * gb;
		for (int r = 0; r < KERN_PACK_ROWS && g * KERN_PACK_ROWS + r < nrows; r++) {
			float s[KERN_PACK_TOKENS] = {0};
			for (int64_t b = 0; b < nb; b++) {
				const uint8_t *sc = grp + nb * qsb + b * scb;
				const uint16_t *d = (const uint16_t *)sc;
				int8_t q[QK_K];
				unpack_k(type, grp + b * qsb, r, q);
				for (int t = 0; t < nt; t++) {
					const struct kern_qk *ab = &a[b * nt + t];
					if (type == QT_Q4_K) {
						int sumi = 0, summ = 0;
						for (int j = 0; j < 8; j++) {
							int dot = 0, asum = 0;
							for (int k = 32 * j; k < 32 * j + 32; k++) {
								dot += q[k] * ab->qs[k];
								asum += ab->qs[k];
							}
							sumi += sc[64 + 16 * j + r] * dot;
							summ += sc[192 + 32 * (j / 2) + 2 * r + j % 2] * asum;
						}
						s[t] += kern_h2f(d[r]) * ab->d * (float)sumi -
							kern_h2f(d[KERN_PACK_ROWS + r]) * ab->d * (float)summ;
					} else {
						int sumi = 0;
						for (int j = 0; j < 16; j++) {
							int dot = 0;
							for (int k = 16 * j; k < 16 * j + 16; k++)
								dot += q[k] * ab->qs[k];
							sumi += (int8_t)sc[32 + 16 * j + r] * dot;
						}
						s[t] += kern_h2f(d[r]) * ab->d * (float)sumi;
					}
				}
			}
			for (int t = 0; t < nt; t++)
				y[t * ldy + g * KERN_PACK_ROWS + r] = s[t];
		}
	}
}

static void gemm_q4_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y, int64_t ldy,
		      int64_t nrows)
{
	gemm_ref_k(QT_Q4_K, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q6_K(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y, int64_t ldy,
		      int64_t nrows)
{
	gemm_ref_k(QT_Q6_K, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_ref(QT_Q4_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q4_1(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_ref(QT_Q4_1, nb, w, ng, a, nt, y, ldy, nrows);
}

static void gemm_q8_0(int64_t nb, const void *w, int64_t ng, const void *a, int nt, float *y,
		      int64_t ldy, int64_t nrows)
{
	gemm_ref(QT_Q8_0, nb, w, ng, a, nt, y, ldy, nrows);
}

static void axpy_f32(int64_t n, float a, const void *x, float *y)
{
	const float *v = x;
	for (int64_t i = 0; i < n; i++)
		y[i] += a * v[i];
}

static void axpy_f16(int64_t n, float a, const void *x, float *y)
{
	const uint16_t *v = x;
	for (int64_t i = 0; i < n; i++)
		y[i] += a * kern_h2f(v[i]);
}

const struct kern_backend kern_backend_generic = {
	.name = "generic",
	.requires = 0,
	.to_float = {
		[QT_F32] = deq_f32, [QT_F16] = deq_f16, [QT_BF16] = deq_bf16,
		[QT_Q4_0] = deq_q4_0, [QT_Q4_1] = deq_q4_1, [QT_Q5_0] = deq_q5_0,
		[QT_Q8_0] = deq_q8_0, [QT_Q8_1] = deq_q8_1, [QT_Q8_K] = deq_q8_K,
		[QT_Q4_K] = deq_q4_K, [QT_Q5_K] = deq_q5_K, [QT_Q6_K] = deq_q6_K,
	},
	.quantize = {
		[QT_Q8_0] = quant_q8_0, [QT_Q8_1] = quant_q8_1, [QT_Q8_K] = quant_q8_K,
	},
	.dot = {
		[QT_F32] = dot_f32, [QT_F16] = dot_f16, [QT_BF16] = dot_bf16,
		[QT_Q4_0] = dot_q4_0, [QT_Q4_1] = dot_q4_1, [QT_Q5_0] = dot_q5_0,
		[QT_Q8_0] = dot_q8_0,
		[QT_Q4_K] = dot_q4_K, [QT_Q5_K] = dot_q5_K, [QT_Q6_K] = dot_q6_K,
	},
	.axpy = {[QT_F32] = axpy_f32, [QT_F16] = axpy_f16},
	.qact = {[QT_Q4_0] = qact_q4_0, [QT_Q4_1] = qact_q4_1, [QT_Q8_0] = qact_q8_0,
		 [QT_Q4_K] = qact_q4_K, [QT_Q6_K] = qact_q6_K},
	.gemm = {[QT_Q4_0] = gemm_q4_0, [QT_Q4_1] = gemm_q4_1, [QT_Q8_0] = gemm_q8_0,
		 [QT_Q4_K] = gemm_q4_K, [QT_Q6_K] = gemm_q6_K},
	.swiglu = kern_swiglu,
};

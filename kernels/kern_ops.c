/*
 * kernels: transformer ops on float rows, as ggml-cpu computes them
 * (ggml_compute_forward_rms_norm, rope, soft_max, swiglu): sums in
 * double, exp/sin/cos from libm.
 */
#include <math.h>
#include <string.h>

#include "kernels/kern_internal.h"

void kern_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)x[i] * x[i];
	const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
	if (w) {
		for (int64_t i = 0; i < n; i++)
			out[i] = x[i] * scale * w[i];
	} else {
		for (int64_t i = 0; i < n; i++)
			out[i] = x[i] * scale;
	}
}

/* As ggml's rope_cache_init: theta starts at pos and is multiplied by
 * theta_scale = base^(-2/n_rot) in float for each pair, cos/sin in float;
 * this is what llama.cpp computes (the float products drift from the
 * exact angle by about i * 2^-24 relative). */
void kern_rope(float *x, int n_head, int head_dim, int n_rot, int64_t pos, float freq_base,
	       enum kern_rope_mode mode)
{
	const int half = n_rot / 2;
	float cs[512][2];
	const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
	float theta = (float)pos;
	for (int i = 0; i < half && i < 512; i++) {
		cs[i][0] = cosf(theta);
		cs[i][1] = sinf(theta);
		theta *= theta_scale;
	}
	for (int h = 0; h < n_head; h++) {
		float *v = x + (int64_t)h * head_dim;
		for (int i = 0; i < half && i < 512; i++) {
			const int a = mode == KERN_ROPE_NEOX ? i : 2 * i;
			const int b = mode == KERN_ROPE_NEOX ? i + half : 2 * i + 1;
			const float x0 = v[a], x1 = v[b];
			v[a] = x0 * cs[i][0] - x1 * cs[i][1];
			v[b] = x0 * cs[i][1] + x1 * cs[i][0];
		}
	}
}

void kern_softmax(float *x, int64_t n)
{
	float max = -INFINITY;
	for (int64_t i = 0; i < n; i++)
		max = fmaxf(max, x[i]);
	double sum = 0;
	for (int64_t i = 0; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	const float inv = (float)(1.0 / sum);
	for (int64_t i = 0; i < n; i++)
		x[i] *= inv;
}

void kern_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		const float g = gate[i];
		out[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

void kern_kv_store(struct kern_kv *kv, int pos, const float *k, const float *v)
{
	const int64_t row = (int64_t)kv->n_head_kv * kv->head_dim;
	if (kv->type == QT_F16) {
		uint16_t *kd = (uint16_t *)kv->k + pos * row, *vd = (uint16_t *)kv->v + pos * row;
		for (int64_t i = 0; i < row; i++) {
			kd[i] = kern_fp32_to_fp16(k[i]);
			vd[i] = kern_fp32_to_fp16(v[i]);
		}
	} else {
		memcpy((float *)kv->k + pos * row, k, (size_t)row * sizeof(float));
		memcpy((float *)kv->v + pos * row, v, (size_t)row * sizeof(float));
	}
}

/* With an F16 cache, as llama.cpp's attention without flash attention:
 * q is rounded to F16 for the K dot (ggml converts it to K's type) and the
 * probabilities to F16 for the V sum (V is read transposed, dotted with
 * the F16 probabilities); sums in float. */
void kern_attention(const struct kern_table *t, const struct kern_kv *kv, int n_head,
		    const float *q, int n_pos, float *out, float *scratch, int h0, int h1)
{
	const int hd = kv->head_dim, group = n_head / kv->n_head_kv;
	const size_t esz = kv->type == QT_F16 ? 2 : 4;
	const size_t row = (size_t)kv->n_head_kv * (size_t)hd * esz;  /* bytes per position */
	const float scale = 1.0f / sqrtf((float)hd);
	const kern_dot_fn dot = t->dot[kv->type];
	const kern_axpy_fn axpy = t->axpy[kv->type];
	float qr[1024];
	for (int h = h0; h < h1; h++) {
		const int kh = h / group;
		const float *qh = q + (int64_t)h * hd;
		float *o = out + (int64_t)h * hd;
		if (kv->type == QT_F16) {
			for (int i = 0; i < hd && i < 1024; i++)
				qr[i] = kern_h2f(kern_fp32_to_fp16(qh[i]));
			qh = qr;
		}
		const uint8_t *kb = (const uint8_t *)kv->k + (size_t)kh * (size_t)hd * esz;
		const uint8_t *vb = (const uint8_t *)kv->v + (size_t)kh * (size_t)hd * esz;
		for (int p = 0; p < n_pos; p++)
			scratch[p] = dot(hd, kb + (size_t)p * row, qh) * scale;
		kern_softmax(scratch, n_pos);
		memset(o, 0, (size_t)hd * sizeof(float));
		for (int p = 0; p < n_pos; p++) {
			const float w = kv->type == QT_F16 ? kern_h2f(kern_fp32_to_fp16(scratch[p])) : scratch[p];
			axpy(hd, w, vb + (size_t)p * row, o);
		}
	}
}

void kern_attention_gqa(const struct kern_table *t, const struct kern_kv *kv, int n_head,
			const float *q, int n_pos, float *out, float *scratch, int h0, int h1)
{
	const int group = n_head / kv->n_head_kv, hd = kv->head_dim;
	if (!t->attn[kv->type] || hd % 16) {
		kern_attention(t, kv, n_head, q, n_pos, out, scratch, h0, h1);
		return;
	}
	for (int h = h0; h < h1;) {
		const int kh = h / group, end = (kh + 1) * group < h1 ? (kh + 1) * group : h1;
		t->attn[kv->type](kv, kh, end - h, q + (int64_t)h * hd, n_pos, out + (int64_t)h * hd, scratch);
		h = end;
	}
}

/* model_db/model: parameter counts from the architecture.
 *
 * Per layer: the mixer (attention, MLA, Gated DeltaNet or Mamba-2 with
 * every projection, bias, conv and per-head parameter the Hugging Face
 * implementations hold), the FFN (dense gated: gate, up, down; or MoE:
 * router + routed experts + shared experts) and the norms. Plus the token
 * embedding, the untied output head and the final norm. */
#include <math.h>
#include <string.h>

#include "model_db/model.h"

const char *mdb_attn_kind_name(enum mdb_attn_kind k)
{
	switch (k) {
	case MDB_ATTN_MHA: return "mha";
	case MDB_ATTN_GQA: return "gqa";
	case MDB_ATTN_MLA: return "mla";
	case MDB_ATTN_SLIDING: return "sliding";
	case MDB_ATTN_HYBRID: return "hybrid";
	}
	return "?";
}

const char *mdb_linear_kind_name(enum mdb_linear_kind k)
{
	switch (k) {
	case MDB_LINEAR_NONE: return "none";
	case MDB_LINEAR_GATED_DELTANET: return "gated_deltanet";
	case MDB_LINEAR_MAMBA2: return "mamba2";
	}
	return "?";
}

int mdb_model_is_moe(const struct mdb_model *m)
{
	return m->moe.n_experts > 1;
}

int mdb_model_layer_is_moe(const struct mdb_model *m, int i)
{
	if (!mdb_model_is_moe(m) || i < 0 || i >= m->n_layer || i >= MDB_MAX_LAYERS)
		return 0;
	int every = m->moe.moe_every > 0 ? m->moe.moe_every : 1;
	return i >= m->moe.first_k_dense && (i + 1) % every == 0 && !m->moe.dense_layers[i];
}

int mdb_model_count_layers(const struct mdb_model *m, enum mdb_layer_kind k)
{
	int n = 0;
	for (int i = 0; i < m->n_layer && m->layer_kinds[i]; i++)
		n += m->layer_kinds[i] == (char)k;
	return n;
}

/* Weights of one layer's mixer split into the llama.cpp roles q, k, v, o
 * (by what each projection feeds), plus small vectors (biases, norms,
 * conv, per-head scalars) in *small. */
static void mixer_params(const struct mdb_model *m, char kind, double *q, double *k, double *v,
			 double *o, double *small)
{
	double h = m->hidden;
	*q = *k = *v = *o = *small = 0;
	if (kind == MDB_LAYER_DELTANET) {
		const struct mdb_linear *l = &m->lin;
		double kd = (double)l->k_heads * l->k_head_dim, vd = (double)l->v_heads * l->v_head_dim;
		*q = h * kd;                          /* in_proj_qkvz: q */
		*k = h * kd;                          /* k */
		*v = h * vd * 2 + h * 2 * l->v_heads; /* v, z gate; in_proj_ba */
		*o = vd * h;                          /* out_proj */
		*small = (2 * kd + vd) * l->conv_kernel /* conv1d (no bias) */
			+ 2.0 * l->v_heads              /* dt_bias, A_log */
			+ l->v_head_dim;                /* gated RMSNorm */
		return;
	}
	if (kind == MDB_LAYER_MAMBA2) {
		const struct mdb_linear *l = &m->lin;
		double di = (double)l->v_heads * l->v_head_dim;
		double bc = 2.0 * l->groups * l->state_size;
		*q = h * di;                          /* in_proj: x */
		*k = h * bc;                          /* B, C */
		*v = h * (di + l->v_heads);           /* z gate, dt */
		*o = di * h;                          /* out_proj */
		*small = (di + bc) * (l->conv_kernel + 1) /* conv1d weight + bias */
			+ 3.0 * l->v_heads              /* dt_bias, A_log, D */
			+ di;                           /* gated RMSNorm */
		return;
	}
	if (m->attn == MDB_ATTN_MLA) {
		const struct mdb_mla *a = &m->mla;
		double qk = a->qk_nope_head_dim + a->qk_rope_head_dim;
		if (a->q_lora_rank > 0) {
			*q = h * a->q_lora_rank + (double)a->q_lora_rank * m->n_head * qk;
			*small += a->q_lora_rank;     /* q_a_layernorm */
		} else {
			*q = h * m->n_head * qk;
		}
		*k = h * (a->kv_lora_rank + a->qk_rope_head_dim); /* kv_a_proj_with_mqa */
		*v = (double)a->kv_lora_rank * m->n_head * (a->qk_nope_head_dim + a->v_head_dim);
		*o = (double)m->n_head * a->v_head_dim * h;
		*small += a->kv_lora_rank;            /* kv_a_layernorm */
		return;
	}
	double qd = (double)m->n_head * m->head_dim, kvd = (double)m->n_head_kv * m->head_dim;
	*q = h * qd * (m->attn_gate ? 2 : 1);
	*k = h * kvd;
	*v = h * kvd;
	*o = qd * h;
	if (m->qkv_bias)
		*small += qd + 2 * kvd;
	if (m->o_bias)
		*small += h;
	if (m->qk_norm)
		*small += 2.0 * m->head_dim;
}

/* One layer's weights by part and by llama.cpp role. */
struct layer_parts {
	double attn, norms, router, experts, active_experts, shared, dense_ffn;
	double r[MDB_ROLE_COUNT];
};

static void layer_parts(const struct mdb_model *m, int i, struct layer_parts *lp)
{
	memset(lp, 0, sizeof *lp);
	double h = m->hidden;
	double *r = lp->r;
	double q, k, v, o, small;
	char kind = m->layer_kinds[i] ? m->layer_kinds[i] : MDB_LAYER_GLOBAL;
	mixer_params(m, kind, &q, &k, &v, &o, &small);
	lp->attn = q + k + v + o + small;
	r[MDB_ROLE_ATTN_Q] = q;
	r[MDB_ROLE_ATTN_K] = k;
	r[MDB_ROLE_ATTN_V] = v;
	r[MDB_ROLE_ATTN_OUTPUT] = o;
	r[MDB_ROLE_NORM] = small;
	int norms = m->norms_per_layer > 0 ? m->norms_per_layer : 2;
	lp->norms = norms * h;
	r[MDB_ROLE_NORM] += norms * h;
	if (mdb_model_layer_is_moe(m, i)) {
		const struct mdb_moe *e = &m->moe;
		double one = h * e->expert_ffn;
		double bias = e->expert_bias ? 2.0 * e->expert_ffn + h : 0;
		double router = h * e->n_experts + (e->expert_bias ? e->n_experts : 0);
		lp->router = router;
		r[MDB_ROLE_NORM] += router;
		lp->experts = e->n_experts * (3 * one + bias);
		lp->active_experts = e->experts_per_token * (3 * one + bias);
		r[MDB_ROLE_FFN_GATE_EXPS] = e->n_experts * (one + e->expert_ffn * (e->expert_bias ? 1.0 : 0));
		r[MDB_ROLE_FFN_UP_EXPS] = e->n_experts * (one + e->expert_ffn * (e->expert_bias ? 1.0 : 0));
		r[MDB_ROLE_FFN_DOWN_EXPS] = e->n_experts * (one + (e->expert_bias ? h : 0));
		double sh = (double)e->n_shared_experts * h * e->shared_ffn;
		lp->shared = 3 * sh;
		r[MDB_ROLE_FFN_GATE] = sh;
		r[MDB_ROLE_FFN_UP] = sh;
		r[MDB_ROLE_FFN_DOWN] = sh;
	} else if (m->ffn > 0) {
		double f = h * m->ffn;
		lp->dense_ffn = 3 * f;
		r[MDB_ROLE_FFN_GATE] = f;
		r[MDB_ROLE_FFN_UP] = f;
		r[MDB_ROLE_FFN_DOWN] = f;
	}
}

void mdb_model_layer_roles(const struct mdb_model *m, int i, double roles[MDB_ROLE_COUNT])
{
	struct layer_parts lp;
	layer_parts(m, i, &lp);
	memcpy(roles, lp.r, sizeof lp.r);
}

static void sum_roles(const struct mdb_model *m, struct mdb_params *p, double *roles)
{
	memset(p, 0, sizeof *p);
	double h = m->hidden;
	p->embed = (double)m->vocab * h;
	p->output = m->tied_embd ? 0 : p->embed;
	p->norms = h; /* final norm */
	double r[MDB_ROLE_COUNT] = {0};
	double active_experts = 0;
	for (int i = 0; i < m->n_layer; i++) {
		struct layer_parts lp;
		layer_parts(m, i, &lp);
		p->attn += lp.attn;
		p->norms += lp.norms;
		p->router += lp.router;
		p->experts += lp.experts;
		active_experts += lp.active_experts;
		p->shared += lp.shared;
		p->dense_ffn += lp.dense_ffn;
		for (int j = 0; j < MDB_ROLE_COUNT; j++)
			r[j] += lp.r[j];
	}
	p->total = p->embed + p->output + p->attn + p->dense_ffn + p->experts + p->shared + p->router
		+ p->norms;
	p->active = p->total - p->experts + active_experts;
	r[MDB_ROLE_TOKEN_EMBD] = p->embed;
	r[MDB_ROLE_OUTPUT] = p->output;
	r[MDB_ROLE_NORM] += h;
	if (roles)
		memcpy(roles, r, sizeof r);
}

void mdb_model_params(const struct mdb_model *m, struct mdb_params *p)
{
	sum_roles(m, p, NULL);
}

void mdb_model_qshape(const struct mdb_model *m, struct mdb_qshape *s)
{
	struct mdb_params p;
	double r[MDB_ROLE_COUNT];
	sum_roles(m, &p, r);
	memset(s, 0, sizeof *s);
	s->n_layer = m->n_layer;
	s->n_head = m->n_head;
	s->n_head_kv = m->attn == MDB_ATTN_MLA ? m->n_head : m->n_head_kv;
	s->n_expert = m->moe.n_experts;
	s->tied_embd = m->tied_embd;
	for (int i = 0; i < MDB_ROLE_COUNT; i++) {
		if (mdb_role_per_layer((enum mdb_role)i))
			s->params[i] = m->n_layer > 0 ? r[i] / m->n_layer : 0;
		else
			s->params[i] = r[i];
	}
}

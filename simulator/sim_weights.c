/* simulator: the weights as stored — bytes per layer from a llama.cpp
 * file mix's per-tensor rules, or from a GGUF file's own tensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/sim.h"

static int check_layers(const struct mdb_model *m, char *err, size_t errlen)
{
	if (m->n_layer <= 0 || m->n_layer > MDB_MAX_LAYERS) {
		snprintf(err, errlen, "model %s has %d layers; the simulator handles 1 to %d", m->id,
			 m->n_layer, MDB_MAX_LAYERS);
		return -2;
	}
	return 0;
}

int sim_weights_from_mix(const struct mdb_model *m, const struct mdb_qmix *mix,
			 struct sim_weights *w, char *err, size_t errlen)
{
	if (check_layers(m, err, errlen))
		return -2;
	memset(w, 0, sizeof *w);
	struct mdb_qshape s;
	mdb_model_qshape(m, &s);
	w->n_layer = m->n_layer;
	snprintf(w->quant, sizeof w->quant, "%s", mix->name);
	snprintf(w->source, sizeof w->source,
		 "computed: llama.cpp %s per-tensor rules applied to the architecture", mix->name);
	const struct mdb_qtraits *bt = mdb_qtype(mix->base);
	w->float_weights = bt && !bt->quantized;
	w->main_type = mix->base;
	w->kld = mix->kld;
	w->embd_bytes = s.params[MDB_ROLE_TOKEN_EMBD] *
		mdb_qtype_bpw(mdb_qmix_tensor_type(mix, MDB_ROLE_TOKEN_EMBD, 0, &s)) / 8;
	w->output_bytes = s.params[MDB_ROLE_OUTPUT] *
		mdb_qtype_bpw(mdb_qmix_tensor_type(mix, MDB_ROLE_OUTPUT, 0, &s)) / 8
		+ 4.0 * m->hidden; /* output_norm, F32 */
	double total = w->embd_bytes + w->output_bytes;
	for (int i = 0; i < m->n_layer; i++) {
		double r[MDB_ROLE_COUNT];
		mdb_model_layer_roles(m, i, r);
		for (int j = 0; j < MDB_ROLE_COUNT; j++) {
			if (r[j] <= 0 || !mdb_role_per_layer((enum mdb_role)j))
				continue;
			double b = r[j] * mdb_qtype_bpw(mdb_qmix_tensor_type(mix, (enum mdb_role)j, i, &s)) / 8;
			if (j == MDB_ROLE_FFN_GATE_EXPS || j == MDB_ROLE_FFN_UP_EXPS ||
			    j == MDB_ROLE_FFN_DOWN_EXPS)
				w->expert_bytes[i] += b;
			else
				w->layer_bytes[i] += b;
		}
		total += w->layer_bytes[i] + w->expert_bytes[i];
	}
	w->total_bytes = total;
	return 0;
}

/* Layer index of "blk.N.rest", or -1 for tensors outside the layers. */
static int tensor_layer(const char *name)
{
	if (strncmp(name, "blk.", 4) != 0)
		return -1;
	char *end;
	long n = strtol(name + 4, &end, 10);
	if (end == name + 4 || *end != '.' || n < 0 || n > 100000)
		return -2;
	return (int)n;
}

int sim_weights_from_gguf(const struct mdb_model *m, const struct mdb_gguf *g,
			  struct sim_weights *w, char *err, size_t errlen)
{
	if (check_layers(m, err, errlen))
		return -2;
	memset(w, 0, sizeof *w);
	w->n_layer = m->n_layer;
	w->kld = NAN;
	struct mdb_gguf_type_total tt[4];
	int nt = mdb_gguf_type_totals(g, tt, 4);
	int used = 0;
	used += snprintf(w->quant, sizeof w->quant, "GGUF ");
	for (int i = 0; i < nt && i < 3; i++)
		used += snprintf(w->quant + used, used < (int)sizeof w->quant ? sizeof w->quant - used : 0,
				 "%s%s", i ? "+" : "", tt[i].name ? tt[i].name : "?");
	if (nt > 3 && used < (int)sizeof w->quant)
		snprintf(w->quant + used, sizeof w->quant - used, "+...");
	snprintf(w->source, sizeof w->source, "measured: the GGUF file's own tensor types and sizes");
	w->main_type = nt > 0 ? (int)tt[0].type : -1;
	int float_bytes = 0, quant_bytes = 0;
	int64_t n = mdb_gguf_tensor_count(g);
	for (int64_t t = 0; t < n; t++) {
		const struct mdb_gguf_tensor *x = mdb_gguf_tensor(g, t);
		double b = (double)x->bytes;
		const struct mdb_qtraits *tr = mdb_qtype((int)x->type);
		if (x->n_dims >= 2) {
			if (tr && tr->quantized)
				quant_bytes += 1;
			else
				float_bytes += 1;
		}
		int l = tensor_layer(x->name);
		if (l == -2 || l >= m->n_layer) {
			snprintf(err, errlen,
				 "tensor %s names a layer outside the model's %d layers; the file does "
				 "not match its own block_count", x->name, m->n_layer);
			return -2;
		}
		if (l < 0) {
			if (strcmp(x->name, "token_embd.weight") == 0)
				w->embd_bytes += b;
			else
				w->output_bytes += b; /* output, output_norm, rope tables */
		} else if (strstr(x->name, "_exps")) {
			w->expert_bytes[l] += b;
		} else {
			w->layer_bytes[l] += b;
		}
		w->total_bytes += b;
	}
	w->float_weights = quant_bytes == 0 && float_bytes > 0;
	return 0;
}

int sim_weights_pure(const struct mdb_model *m, int type, struct sim_weights *w, char *err,
		     size_t errlen)
{
	if (check_layers(m, err, errlen))
		return -2;
	const struct mdb_qtraits *qt = mdb_qtype(type);
	if (!qt) {
		snprintf(err, errlen, "unknown tensor type %d", type);
		return -2;
	}
	memset(w, 0, sizeof *w);
	struct mdb_qshape s;
	mdb_model_qshape(m, &s);
	double bpw = mdb_qtype_bpw(type);
	w->n_layer = m->n_layer;
	snprintf(w->quant, sizeof w->quant, "%s", qt->name);
	snprintf(w->source, sizeof w->source,
		 "computed: every matrix %s, norms F32 (a synthetic file as llmcap synth writes it)",
		 qt->name);
	w->float_weights = !qt->quantized;
	w->main_type = type;
	w->embd_bytes = s.params[MDB_ROLE_TOKEN_EMBD] * bpw / 8;
	w->output_bytes = s.params[MDB_ROLE_OUTPUT] * bpw / 8 + 4.0 * m->hidden;
	double total = w->embd_bytes + w->output_bytes;
	for (int i = 0; i < m->n_layer; i++) {
		double r[MDB_ROLE_COUNT];
		mdb_model_layer_roles(m, i, r);
		for (int j = 0; j < MDB_ROLE_COUNT; j++) {
			if (r[j] <= 0 || !mdb_role_per_layer((enum mdb_role)j))
				continue;
			double b = r[j] * (j == MDB_ROLE_NORM ? 32.0 : bpw) / 8;
			if (j == MDB_ROLE_FFN_GATE_EXPS || j == MDB_ROLE_FFN_UP_EXPS ||
			    j == MDB_ROLE_FFN_DOWN_EXPS)
				w->expert_bytes[i] += b;
			else
				w->layer_bytes[i] += b;
		}
		total += w->layer_bytes[i] + w->expert_bytes[i];
	}
	w->total_bytes = total;
	return 0;
}

double sim_decode_weight_bytes(const struct mdb_model *m, const struct sim_weights *w)
{
	double b = 0;
	double share = m->moe.n_experts > 0 ? (double)m->moe.experts_per_token / m->moe.n_experts : 1.0;
	for (int i = 0; i < m->n_layer && i < MDB_MAX_LAYERS; i++)
		b += w->layer_bytes[i] + w->expert_bytes[i] * share;
	b += m->tied_embd ? w->embd_bytes + w->output_bytes : w->output_bytes;
	if (!m->tied_embd && m->vocab > 0)
		b += w->embd_bytes / m->vocab; /* one row of the embedding */
	return b;
}

/*
 * reports: the model derived from a GGUF header (`llmcap inspect
 * FILE.gguf`): its architecture as `llmcap models` shows it, and the
 * check of the parameter count computed from that architecture against
 * the count of the file's tensors. Nothing computed here beyond the
 * difference of the two counts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "reports/report.h"

void rep_model_text(const struct mdb_model *m, const struct mdb_params *p, FILE *out)
{
	fprintf(out, "architecture: %s (family %s), %d layers, hidden %d, %d heads / %d KV, "
		"attention %s\n\n", m->arch, m->family, m->n_layer, m->hidden, m->n_head,
		m->n_head_kv, mdb_attn_kind_name(m->attn));
	rep_models_text(m, p, 1, out);
}

static double rel_diff(double computed, uint64_t in_file)
{
	return in_file ? computed / (double)in_file - 1 : NAN;
}

/* split.count of one part of a model cut by gguf-split; 1 otherwise. Its
 * tensors are a part of the model's: the counts are not comparable. */
static int64_t split_count(const struct mdb_gguf *g)
{
	int64_t v;
	if (mdb_gguf_kv_int(g, mdb_gguf_find(g, "split.count"), &v) != 0 || v < 1)
		return 1;
	return v;
}

void rep_gguf_model_text(const struct mdb_gguf *g, const struct mdb_model *m,
			 const struct mdb_params *p, const char *model_err, FILE *out)
{
	fputc('\n', out);
	rep_section(out, "Model (derived from the header)");
	if (!m) {
		rep_wrap(out, "  not derived: ", 15, 4, model_err ? model_err : "unknown reason");
		return;
	}
	rep_model_text(m, p, out);
	uint64_t in_file = mdb_gguf_total_params(g);
	double d = rel_diff(p->total, in_file);
	int match = isfinite(d) && fabs(d) <= REP_PARAMS_MATCH;
	int64_t parts = split_count(g);
	if (parts > 1) {
		fprintf(out, "\nparams from architecture %.0f vs params in this part %" PRIu64 ": not "
			"comparable, the file is one of %" PRId64 " parts (split.count) and the others "
			"hold the rest\n", p->total, in_file, parts);
		return;
	}
	fprintf(out, "\nparams from architecture %.0f vs params in file %" PRIu64 ": %s "
		"(%+.3f%%, tolerance %.1f%%)\n", p->total, in_file, match ? "match" : "MISMATCH",
		isfinite(d) ? 100 * d : 0.0, 100 * REP_PARAMS_MATCH);
}

char *rep_gguf_model_json(const struct mdb_gguf *g, const char *path, const struct mdb_model *m,
			  const struct mdb_params *p, const char *model_err, int pretty)
{
	char *text = rep_gguf_json(g, path, 0);
	cJSON *root = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!root)
		return NULL;
	if (!m) {
		cJSON_AddNullToObject(root, "model");
		cJSON_AddStringToObject(root, "model_error", model_err ? model_err : "");
	} else {
		text = rep_models_json(m, p, 1, 0);
		cJSON *cat = text ? cJSON_Parse(text) : NULL;
		free(text);
		cJSON *arr = cat ? cJSON_GetObjectItemCaseSensitive(cat, "models") : NULL;
		cJSON *mo = arr ? cJSON_DetachItemFromArray(arr, 0) : NULL;
		cJSON_Delete(cat);
		if (!mo) {
			cJSON_Delete(root);
			return NULL;
		}
		uint64_t in_file = mdb_gguf_total_params(g);
		double d = rel_diff(p->total, in_file);
		cJSON *pc = cJSON_AddObjectToObject(mo, "params_check");
		if (pc) {
			cJSON_AddNumberToObject(pc, "from_architecture", p->total);
			cJSON_AddNumberToObject(pc, "in_file", (double)in_file);
			if (isfinite(d))
				cJSON_AddNumberToObject(pc, "difference", d);
			else
				cJSON_AddNullToObject(pc, "difference");
			cJSON_AddNumberToObject(pc, "tolerance", REP_PARAMS_MATCH);
			cJSON_AddNumberToObject(pc, "split_count", (double)split_count(g));
			if (split_count(g) > 1)   /* one part's tensors: not comparable */
				cJSON_AddNullToObject(pc, "match");
			else
				cJSON_AddBoolToObject(pc, "match", isfinite(d)
						      && fabs(d) <= REP_PARAMS_MATCH);
		}
		cJSON_AddItemToObject(root, "model", mo);
	}
	char *s = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/*
 * reports: rendering only. Text tables, key/value sections, unit
 * formatting, JSON (through cJSON, which no other module sees except
 * model_db), atomic file output. No computation of figures here.
 *
 * Ownership: functions returning char * return a malloc'd string the
 * caller frees with free(); NULL means out of memory.
 * Errors: int functions return 0 on success, negative on failure and
 * write a message naming the problem and the fix into err when given.
 */
#ifndef LLMCAP_REPORT_H
#define LLMCAP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "probe/probe.h"

struct hw_spec;

/* ---- text tables --------------------------------------------------- */
enum rep_align { REP_LEFT = 0, REP_RIGHT = 1 };

struct rep_table;
/* A table with ncols columns and these headers (copied). NULL on OOM. */
struct rep_table *rep_table_new(int ncols, const char *const *headers);
void rep_table_align(struct rep_table *t, int col, enum rep_align a);
/* Adds a row; cells are copied; a NULL cell prints as "-". 0 or -1. */
int rep_table_add(struct rep_table *t, const char *const *cells);
/* Adds a row from printf-style cells separated by '\t' in the result. */
int rep_table_addf(struct rep_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints with columns padded to their widest cell (UTF-8 aware), a
 * header line and a rule under it. */
void rep_table_print(const struct rep_table *t, FILE *out);
void rep_table_delete(struct rep_table *t);

/* ---- key/value text ------------------------------------------------ */
void rep_section(FILE *out, const char *title);
void rep_kv(FILE *out, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- units (write into buf, return buf) ------------------------------ */
char *rep_fmt_bytes(char *buf, size_t n, uint64_t bytes);  /* "23.5 GiB" */
char *rep_fmt_gbps(char *buf, size_t n, double gbps);      /* "41.2 GB/s", "unknown" for NAN */
char *rep_fmt_num(char *buf, size_t n, double v, int decimals); /* "unknown" for NAN */
char *rep_fmt_tps(char *buf, size_t n, double tps);        /* "92.4", "1722", "-" when none */

/* ---- profile (llmcap.profile/1) -------------------------------------- */
/* The profile as JSON text; pretty != 0 indents. */
char *rep_profile_json(const struct probe_profile *p, int pretty);
/* Parses a profile written by rep_profile_json. Returns 0, or -2 when the
 * text is not valid JSON or not a llmcap.profile/1 object (err says
 * which field). Unknown fields are ignored; missing ones are unknown. */
int rep_profile_from_json(const char *text, size_t len,
			  struct probe_profile *p, char *err, size_t errlen);
/* The human-readable profile, every figure labelled measured/reported. */
void rep_profile_text(const struct probe_profile *p, FILE *out);

/* ---- files ----------------------------------------------------------- */
/* Writes data to path through a temporary file in the same directory and
 * rename(2): an interrupted run leaves no partial file. Creates no
 * directories. 0, or -1 with err naming path and cause. */
int rep_write_atomic(const char *path, const char *data, size_t len,
		     char *err, size_t errlen);
/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd
 * buffer. 0, -1 on I/O error, -2 when larger than max. */
int rep_read_file(const char *path, size_t max, char **out, size_t *len,
		  char *err, size_t errlen);

/* ---- hardware description (llmcap.hardware/1) ------------------------ */
/* The hardware description as JSON text (DESIGN.md schema; unknown
 * numbers omitted, a "measured" block when built from a profile). */
char *rep_hw_json(const struct hw_spec *h, int pretty);
/* `llmcap probe --json`: the profile with the hardware description it
 * converts to under "hardware". */
char *rep_probe_json(const struct probe_profile *p, const struct hw_spec *h, int pretty);

/* ---- hardware catalog (llmcap hardware) -------------------------------- */
#define HW_CATALOG_SCHEMA "llmcap.hardware-catalog/1"
/* {"schema": "llmcap.hardware-catalog/1", "hardware": [llmcap.hardware/1
 * objects in list order]}. */
char *rep_hw_catalog_json(const struct hw_spec *const *list, int n, int pretty);
/* The table: id, name, memory, bandwidth, FP16 TFLOPS, price and date, in
 * list order, under a line saying the figures are spec. */
void rep_hw_catalog_text(const struct hw_spec *const *list, int n, FILE *out);

/* ---- quantization catalog (llmcap.quants/1) --------------------------- */
/* The catalog of model_db/quant.h: tensor types, file mixes, other
 * formats, KV-cache types. mix_bpw / mix_gib: the typical bits per weight
 * and GiB of each mix in mdb_qmixes() order, computed by the caller for
 * the shape described by shape (NULL arrays print as unknown). */
char *rep_quants_json(const double *mix_bpw, const double *mix_gib, const char *shape, int pretty);
void rep_quants_text(const double *mix_bpw, const double *mix_gib, const char *shape, FILE *out);

/* ---- GGUF files (llmcap inspect) -------------------------------------- */
struct mdb_gguf;
/* What was read from a GGUF file for people: file, architecture summary,
 * per-type totals, the first 40 tensors, metadata with short values. */
void rep_gguf_text(const struct mdb_gguf *g, const char *path, FILE *out);
/* The same as one JSON object (schema llmcap.gguf/1), every tensor listed;
 * strings longer than 256 bytes are cut and marked "truncated". */
char *rep_gguf_json(const struct mdb_gguf *g, const char *path, int pretty);
/* The model derived from a GGUF header (mdb_model_from_gguf) beside the
 * file (reports/rep_gguf_model.c). m NULL: it could not be derived and
 * why is model_err. p: mdb_model_params(m). The parameter check matches
 * when the count from the architecture is within REP_PARAMS_MATCH
 * (relative) of the file's tensors. */
#define REP_PARAMS_MATCH 0.001
struct mdb_model;
struct mdb_params;
/* "architecture: ... attention gqa", a blank line, then the model as
 * `llmcap models` shows it (also used for config.json). */
void rep_model_text(const struct mdb_model *m, const struct mdb_params *p, FILE *out);
/* Section "Model (derived from the header)": rep_model_text and the
 * parameter check, or why the model could not be derived. */
void rep_gguf_model_text(const struct mdb_gguf *g, const struct mdb_model *m,
			 const struct mdb_params *p, const char *model_err, FILE *out);
/* rep_gguf_json's object plus "model": the llmcap.models/1 model object
 * with "params_check": {"from_architecture", "in_file", "difference",
 * "tolerance", "split_count", "match"} ("match" null for one part of a
 * split model: its tensors are not the whole model's); or "model": null
 * and "model_error". */
char *rep_gguf_model_json(const struct mdb_gguf *g, const char *path, const struct mdb_model *m,
			  const struct mdb_params *p, const char *model_err, int pretty);

/* ---- model catalog (llmcap models, llmcap.models/1) ------------------- */
struct mdb_model;
struct mdb_params;
/* {"schema": "llmcap.models/1", "models": [...]}: every model's
 * architecture as the catalog holds it plus computed "total_params",
 * "active_params" and the published figures. params[i] are the counts of
 * models[i], computed by the caller (mdb_model_params). */
char *rep_models_json(const struct mdb_model *models, const struct mdb_params *params, int n,
		      int pretty);
/* The catalog as a table: id, name, params (computed), active, layers,
 * context, attention, MoE summary, published and the difference. */
void rep_models_text(const struct mdb_model *models, const struct mdb_params *params, int n,
		     FILE *out);

/* ---- predictions (llmcap plan, fit, buy, compare) ---------------------- */
struct sim_weights;
struct sim_workload;
struct sim_pred;
#define REP_PLAN_SCHEMA "llmcap.plan/1"
/* One prediction with what it was made for (all borrowed). */
struct rep_plan {
	const struct hw_spec *hw;
	const struct mdb_model *model;
	const struct sim_weights *weights;
	const struct sim_workload *wl;
	const struct sim_pred *pred;
};
/* `llmcap plan`: memory breakdown, placement and why, prefill/decode
 * with the error band, the bottleneck, decode against context, the
 * assumptions. Every speed is marked predicted. */
void rep_plan_text(const struct rep_plan *r, FILE *out);
/* The llmcap.plan/1 object (docs/plan-schema.md). */
char *rep_plan_json(const struct rep_plan *r, int pretty);

/* `llmcap fit`: catalog models x quantizations on one machine. rows are
 * in rank order (the caller ranks); best marks the row chosen for its
 * model. */
#define REP_FIT_SCHEMA "llmcap.fit/1"
struct rep_fit_row {
	const struct mdb_model *model;
	const struct sim_weights *weights;
	const struct sim_pred *pred;
	double capability;          /* sim_capability: parameters, the ranking heuristic */
	int meets;                  /* fits and decode >= min_tps */
	int best;                   /* the row shown for its model */
};
struct rep_fit {
	const struct hw_spec *hw;
	const struct sim_workload *wl;
	double min_tps;
	int all;                    /* text: every row, not only each model's best */
	int n;
	const struct rep_fit_row *rows;
	double elapsed_s;           /* time the predictions took */
};
void rep_fit_text(const struct rep_fit *f, FILE *out);
char *rep_fit_json(const struct rep_fit *f, int pretty);

/* `llmcap buy` and `llmcap compare`: one model on several machines. */
#define REP_BUY_SCHEMA "llmcap.buy/1"
#define REP_COMPARE_SCHEMA "llmcap.compare/1"
struct rep_buy_row {
	const struct hw_spec *hw;
	const struct sim_pred *pred;
	int meets;                  /* fits, decode >= min_tps, within budget */
};
struct rep_buy {
	const char *schema;         /* REP_BUY_SCHEMA or REP_COMPARE_SCHEMA */
	const struct mdb_model *model;
	const struct sim_weights *weights;
	const struct sim_workload *wl;
	double min_tps, budget;     /* NAN: not given */
	int n;
	const struct rep_buy_row *rows;
};
void rep_buy_text(const struct rep_buy *b, FILE *out);
void rep_compare_text(const struct rep_buy *b, FILE *out);
char *rep_buy_json(const struct rep_buy *b, int pretty);

/* ---- the shareable report (llmcap report, llmcap.report/1) ------------- */
/* Markdown, HTML with inline SVG charts, or JSON (docs/report-schema.md).
 * Everything here is computed by the caller (cli/) and only drawn here:
 * reports/rep_report.c (Markdown, JSON), rep_report_html.c, and
 * rep_report_svg.c (the charts). */
#define REP_REPORT_SCHEMA "llmcap.report/1"
/* A line of the roofline chart. A bandwidth ceiling is value GB/s times
 * the arithmetic intensity; a compute ceiling is value GFLOP/s. Ceilings
 * of one device and one kind (peak or achieved) clip each other. */
struct rep_ceiling {
	char label[96];             /* "host memory read (measured)" */
	int compute;                /* 0 bandwidth (GB/s), 1 compute (GFLOP/s) */
	double value;
	int device;                 /* 0 host, 1.. accelerator */
	int achieved;               /* 1: peak x the engine's efficiency (dashed) */
};
/* A model's operating point: FLOP per byte moved against FLOP/s reached
 * (predicted). */
struct rep_roof_pt {
	int model;                  /* index into rep_report.top */
	int prefill;                /* 0 decode, 1 prefill */
	double intensity;           /* FLOP/byte */
	double gflops;              /* GFLOP/s */
};
struct rep_report {
	const struct hw_spec *hw;
	const struct rep_fit *fit;  /* the ranked fit (as llmcap fit) */
	int max_fit_rows;           /* best rows that fit shown in md/html (0: all) */
	int n_top;                  /* top models: decode against context, roofline */
	const struct rep_plan *top; /* each predicted at a longer context for its curve */
	int n_ceil;
	const struct rep_ceiling *ceil;
	int n_pts;
	const struct rep_roof_pt *pts;
	const char *roof_note;      /* how the operating points were counted */
	int n_buy;                  /* one per --model, catalog machines ranked as llmcap buy */
	const struct rep_buy *buy;
	const char *verify_note;    /* verification: what exists (never fake figures) */
};
/* The whole report; malloc'd, NULL on OOM. */
char *rep_report_md(const struct rep_report *r);
char *rep_report_html(const struct rep_report *r);
char *rep_report_json(const struct rep_report *r, int pretty);
/* The charts as standalone SVG documents (well-formed XML, no external
 * references): decode tokens/s against context for the top models, and
 * the roofline. malloc'd, NULL on OOM. */
char *rep_svg_decode(const struct rep_report *r);
char *rep_svg_roofline(const struct rep_report *r);
/* Series colours of the charts in model order (n: REP_N_COLORS). */
#define REP_N_COLORS 6
const char *rep_series_color(int i);

#endif

/* tui: the dashboard (see tui.h). One state struct, passed explicitly;
 * the only file-scope variables are the signal flag and what the crash
 * handler needs, which a signal handler cannot receive any other way. */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "reports/report.h"
#include "tui/tui.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define NQ 7
static const char *const tui_quants[NQ] = {"Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M",
					   "Q2_K"};

enum view { V_FIT, V_DETAIL, V_MACHINES, V_COMPARE, V_BUY, V_VERIFY };
enum sortkey { S_RANK, S_NAME, S_MEMORY, S_DECODE, S_PREFILL, S_COUNT };
static const char *const sort_names[S_COUNT] = {"rank", "name", "memory", "decode", "prefill"};

enum { C_OK = 1, C_WARN, C_BAD, C_DIM, C_HEAD, C_BAR1, C_BAR2, C_BAR3, C_SEL };

struct mrow {                      /* one model on the selected machine */
	struct sim_weights w[NQ];
	struct sim_pred p[NQ];
	int ok[NQ];
	int best;                  /* quant index fit would choose */
	int qsel;                  /* -1: best; else the user's choice */
	int gpu_layers;            /* -1 auto */
	int cls;                   /* 0 meets, 1 slow, 2 does not fit */
	double cap;
};

struct tui {
	const struct tui_options *o;
	struct mdb_models models;
	struct mdb_hw_catalog cat;
	struct hw_spec this_hw;
	int have_this;
	struct hw_spec user_hw;
	int have_user;
	/* machines list: 0 = this (when have_this), then user file, then catalog */
	int n_mach;
	const struct hw_spec *mach[512];
	int hw_sel, hw_mark;       /* indexes into mach; hw_mark -1: none */
	struct sim_eff eff;
	struct sim_workload wl;
	double min_tps;
	struct mrow *rows;         /* one per model */
	int *order;                /* visible models in display order */
	int n_order;
	int sel, top;              /* selected position in order, first shown */
	int msel, mtop;            /* machines view */
	enum view view;
	int help;
	enum sortkey sort;
	char filter[64];
	int filtering;
	char status[256];
	int color;
	double last_ms;
	int table_y;               /* screen row of the fit table's header */
	/* verify: the last result, for vmodel at vquant */
	int vmodel;                /* model index, -1 none */
	char vquant[16];
	double v_pred_pp, v_pred_tg, v_meas_pp, v_meas_tg, v_err_pp, v_err_tg;
	double v_tg_min, v_tg_max;
	char vnote[160];
	/* buy view */
	struct sim_pred *buy;      /* one per catalog machine */
	int *buy_order;
	int buy_n;
};

/* ---- signals ------------------------------------------------------------ */
static volatile sig_atomic_t tui_stop;
static volatile sig_atomic_t tui_curses_on;

static void on_stop(int sig)
{
	(void)sig;
	tui_stop = 1;
}

static void on_crash(int sig)
{
	if (tui_curses_on)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

static void restore_signals(void)
{
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		signal(sigs[i], SIG_DFL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- computing ------------------------------------------------------------ */
static const struct hw_spec *cur_hw(const struct tui *t)
{
	return t->mach[t->hw_sel];
}

static int qidx(const struct mrow *r)
{
	return r->qsel >= 0 ? r->qsel : r->best;
}

static void compute_model(struct tui *t, int i)
{
	struct mrow *r = &t->rows[i];
	const struct mdb_model *m = &t->models.v[i];
	struct mdb_params mp;
	mdb_model_params(m, &mp);
	r->cap = sim_capability(&mp);
	char err[256];
	r->best = -1;
	r->cls = 2;
	for (int q = 0; q < NQ; q++) {
		r->ok[q] = 0;
		const struct mdb_qmix *mix = mdb_qmix_by_name(tui_quants[q]);
		if (!mix || sim_weights_from_mix(m, mix, &r->w[q], err, sizeof err))
			continue;
		struct sim_workload wl = t->wl;
		wl.gpu_layers = r->gpu_layers;
		if (wl.gpu_layers > m->n_layer)
			wl.gpu_layers = m->n_layer;
		sim_workload_for_model(&wl, m);
		if (sim_predict(cur_hw(t), m, &r->w[q], &wl, &t->eff, &r->p[q], err, sizeof err))
			continue;
		r->ok[q] = 1;
		int c = !r->p[q].fits ? 2 : r->p[q].decode_tps >= t->min_tps ? 0 : 1;
		if (r->best < 0 || c < r->cls || (c == r->cls && c == 1 && r->p[q].decode_tps > r->p[r->best].decode_tps) ||
		    (c == r->cls && c == 2))
			r->best = q, r->cls = c;
	}
	if (r->best < 0)
		r->best = 0;
	if (r->qsel >= 0 && r->ok[r->qsel]) {
		const struct sim_pred *p = &r->p[r->qsel];
		r->cls = !p->fits ? 2 : p->decode_tps >= t->min_tps ? 0 : 1;
	}
}

static struct tui *sort_ctx;

static double sort_val(const struct tui *t, int i)
{
	const struct mrow *r = &t->rows[i];
	const struct sim_pred *p = &r->p[qidx(r)];
	switch (t->sort) {
	case S_MEMORY: return p->mem.total_bytes;
	case S_DECODE: return p->fits ? p->decode_tps : -1;
	case S_PREFILL: return p->fits ? p->prefill_tps : -1;
	default: return r->cls == 1 ? p->decode_tps : r->cap;
	}
}

static int cmp_rows(const void *a, const void *b)
{
	const struct tui *t = sort_ctx;
	int i = *(const int *)a, j = *(const int *)b;
	if (t->sort == S_NAME)
		return strcasecmp(t->models.v[i].id, t->models.v[j].id);
	if (t->sort == S_RANK && t->rows[i].cls != t->rows[j].cls)
		return t->rows[i].cls - t->rows[j].cls;
	double x = sort_val(t, i), y = sort_val(t, j);
	return x > y ? -1 : x < y ? 1 : i - j;
}

static int matches(const struct tui *t, int i)
{
	if (!t->filter[0])
		return 1;
	return strcasestr(t->models.v[i].id, t->filter) || strcasestr(t->models.v[i].name, t->filter) ||
		strcasestr(t->models.v[i].family, t->filter);
}

static void reorder(struct tui *t)
{
	int keep = t->n_order > 0 && t->sel < t->n_order ? t->order[t->sel] : -1;
	t->n_order = 0;
	for (int i = 0; i < t->models.n; i++)
		if (matches(t, i))
			t->order[t->n_order++] = i;
	sort_ctx = t; /* qsort has no user pointer; only this thread sorts */
	qsort(t->order, (size_t)t->n_order, sizeof *t->order, cmp_rows);
	sort_ctx = NULL;
	t->sel = 0;
	for (int k = 0; k < t->n_order; k++)
		if (t->order[k] == keep)
			t->sel = k;
}

static void compute_all(struct tui *t)
{
	for (int i = 0; i < t->models.n; i++)
		compute_model(t, i);
	reorder(t);
}

static int selected(const struct tui *t)
{
	return t->n_order > 0 ? t->order[t->sel] : -1;
}

static int cmp_buy_idx(const void *a, const void *b)
{
	const struct tui *t = sort_ctx;
	int i = *(const int *)a, j = *(const int *)b;
	const struct sim_pred *x = &t->buy[i], *y = &t->buy[j];
	int mx = x->fits && x->decode_tps >= t->min_tps, my = y->fits && y->decode_tps >= t->min_tps;
	if (mx != my)
		return my - mx;
	if (mx) {
		double px = t->cat.items[i].price_usd > 0 ? t->cat.items[i].price_usd : INFINITY;
		double py = t->cat.items[j].price_usd > 0 ? t->cat.items[j].price_usd : INFINITY;
		if (px != py)
			return px < py ? -1 : 1;
	}
	double dx = x->fits ? x->decode_tps : -1, dy = y->fits ? y->decode_tps : -1;
	return dx > dy ? -1 : dx < dy ? 1 : i - j;
}

static void compute_buy(struct tui *t)
{
	int i = selected(t);
	if (i < 0)
		return;
	const struct mrow *r = &t->rows[i];
	const struct mdb_model *m = &t->models.v[i];
	char err[256];
	struct sim_workload wl = t->wl;
	sim_workload_for_model(&wl, m);
	t->buy_n = 0;
	for (int k = 0; k < t->cat.n; k++) {
		if (sim_predict(&t->cat.items[k], m, &r->w[qidx(r)], &wl, &t->eff, &t->buy[k], err,
				sizeof err))
			memset(&t->buy[k], 0, sizeof t->buy[k]);
		t->buy_order[t->buy_n++] = k;
	}
	sort_ctx = t;
	qsort(t->buy_order, (size_t)t->buy_n, sizeof *t->buy_order, cmp_buy_idx);
	sort_ctx = NULL;
}

/* ---- drawing helpers -------------------------------------------------------- */
static void on(const struct tui *t, int pair)
{
	if (t->color)
		attron(COLOR_PAIR(pair));
	else if (pair == C_DIM)
		attron(A_DIM);
	else if (pair == C_BAD || pair == C_HEAD)
		attron(A_BOLD);
}

static void off(const struct tui *t, int pair)
{
	if (t->color)
		attroff(COLOR_PAIR(pair));
	else if (pair == C_DIM)
		attroff(A_DIM);
	else if (pair == C_BAD || pair == C_HEAD)
		attroff(A_BOLD);
}

/* printf at (y, x), clipped to the screen width. */
static void put(int y, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(int y, int x, const char *fmt, ...)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* clip by display columns (UTF-8 continuation bytes take none) */
	int cols = COLS - x, w = 0;
	size_t n = 0;
	for (; buf[n]; n++) {
		if (((unsigned char)buf[n] & 0xC0) != 0x80) {
			if (w == cols)
				break;
			w++;
		}
	}
	buf[n] = 0;
	mvaddstr(y, x, buf);
}

static const char *src_tag(enum probe_src s, int measured)
{
	return measured && s == PROBE_SRC_MEASURED ? "measured" : "spec";
}

static int speed_color(const struct tui *t, const struct sim_pred *p)
{
	if (!p->fits)
		return C_DIM;
	if (p->decode_tps >= t->min_tps)
		return C_OK;
	return p->decode_tps >= t->min_tps / 2 ? C_WARN : C_BAD;
}

/* Wraps text into width columns from (y, x), at most maxl lines. Returns
 * lines used. */
static int wrap(int y, int x, int width, int maxl, const char *text)
{
	int used = 0;
	const char *s = text;
	while (*s && used < maxl && width > 10) {
		int len = (int)strlen(s);
		int cut = len;
		if (len > width) {
			cut = width;
			while (cut > 0 && s[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = width;
		}
		char line[512];
		snprintf(line, sizeof line, "%.*s", cut < (int)sizeof line - 1 ? cut : (int)sizeof line - 1, s);
		put(y + used, x, "%s", line);
		used++;
		s += cut;
		while (*s == ' ')
			s++;
	}
	return used;
}

/* ---- panels ---------------------------------------------------------------------- */
static void draw_header(struct tui *t)
{
	const struct hw_spec *h = cur_hw(t);
	on(t, C_HEAD);
	attron(A_REVERSE);
	mvhline(0, 0, ' ', COLS);
	put(0, 0, " llmcap  %s  [%s]  target %.1f t/s  ctx %lld  batch %d  KV %s  engine %s", h->name,
	    h->measured ? "measured" : "spec", t->min_tps, (long long)t->wl.ctx, t->wl.batch,
	    t->wl.kv_quant, t->eff.engine);
	attroff(A_REVERSE);
	off(t, C_HEAD);
}

static int draw_machine(struct tui *t, int y)
{
	const struct hw_spec *h = cur_hw(t);
	int m = h->measured;
	char a[32];
	put(y, 1, "CPU %s, %d cores   memory %.0f GiB%s", h->host.cpu[0] ? h->host.cpu : "?", h->host.cores,
	    h->host.memory_gb, isfinite(h->host.memory_available_gb) ? "" : " (spec)");
	if (isfinite(h->host.memory_available_gb))
		printw(", %.1f GiB available (measured)", h->host.memory_available_gb);
	put(y + 1, 1, "memory bandwidth %.1f GB/s (%s)   FP32 %s GFLOPS (%s)   INT8 %s GOPS (%s)",
	    h->host.memory_bandwidth_gbps, src_tag(h->host.memory_bandwidth_src, m),
	    isfinite(h->host.fp32_gflops) ? (snprintf(a, sizeof a, "%.0f", h->host.fp32_gflops), a) : "?",
	    isfinite(h->host.fp32_gflops) ? src_tag(h->host.fp32_src, m) : "unknown",
	    isfinite(h->host.int8_gops) ? (snprintf(a + 16, 16, "%.0f", h->host.int8_gops), a + 16) : "?",
	    isfinite(h->host.int8_gops) ? src_tag(h->host.int8_src, m) : "unknown");
	char st[64];
	if (h->storage_read_gbps > 0)
		snprintf(st, sizeof st, "%.2f GB/s (%s)", h->storage_read_gbps, m ? "measured" : "spec");
	else
		snprintf(st, sizeof st, "unknown%s", m ? " (llmcap probe --storage)" : "");
	int y2 = y + 2;
	int shown = 0;
	for (int i = 0; i < h->n_accel && shown < 2; i++, shown++) {
		const struct hw_accel *g = &h->accel[i];
		put(y2++, 1, "%s %s: %.0f GiB%s, %.0f GB/s, FP16 %s (spec)", g->kind, g->name, g->memory_gb,
		    g->unified_memory ? " unified" : "", g->memory_bandwidth_gbps,
		    g->fp16_tflops > 0 ? (snprintf(a, sizeof a, "%.0f TFLOPS", g->fp16_tflops), a) : "unknown");
	}
	if (!h->n_accel)
		put(y2++, 1, "no accelerator%s", m ? " found (GPU probing arrives with the accelerators work)" : "");
	put(y2++, 1, "storage read %s", st);
	return y2 - y;
}

static void draw_fit_table(struct tui *t, int y, int h, int width)
{
	t->table_y = y;
	on(t, C_HEAD);
	put(y, 0, " %-22s %-7s %8s %-14s %8s %8s", "model", "quant", "memory", "placement", "prefill",
	    "decode");
	off(t, C_HEAD);
	mvhline(y + 1, 0, ACS_HLINE, width);
	int rows = h - 2;
	if (rows < 1)
		return;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + rows)
		t->top = t->sel - rows + 1;
	for (int k = 0; k < rows && t->top + k < t->n_order; k++) {
		int i = t->order[t->top + k];
		const struct mrow *r = &t->rows[i];
		int q = qidx(r);
		const struct sim_pred *p = &t->rows[i].p[q];
		char pl[32], pf[16], dc[16];
		if (p->place == SIM_PLACE_SPLIT)
			snprintf(pl, sizeof pl, "split %d/%d", p->gpu_layers, p->n_layer);
		else if (p->place == SIM_PLACE_NONE)
			snprintf(pl, sizeof pl, "does not fit");
		else
			snprintf(pl, sizeof pl, "%s", sim_place_name(p->place));
		int c = speed_color(t, p);
		int is_sel = t->top + k == t->sel;
		if (is_sel)
			attron(A_REVERSE);
		on(t, c);
		put(y + 2 + k, 0, "%c%-22.22s %-7s %6.1fG  %-14.14s %8s %8s", is_sel ? '>' : ' ',
		    t->models.v[i].id, tui_quants[q], p->mem.total_bytes / GIB, pl,
		    rep_fmt_tps(pf, sizeof pf, p->fits ? p->prefill_tps : NAN),
		    rep_fmt_tps(dc, sizeof dc, p->fits ? p->decode_tps : NAN));
		off(t, c);
		if (is_sel)
			attroff(A_REVERSE);
	}
}

/* A horizontal memory bar: weights, KV, other, against capacity. */
static void draw_membar(struct tui *t, int y, int x, int width, const struct sim_pred *p)
{
	double cap = p->mem.host_usable;
	if (isfinite(p->mem.gpu_usable) && p->place != SIM_PLACE_CPU && p->place != SIM_PLACE_SSD)
		cap = p->place == SIM_PLACE_GPU || p->place == SIM_PLACE_UNIFIED ? p->mem.gpu_usable
										 : p->mem.gpu_usable + p->mem.host_usable;
	double tot = fmax(cap, p->mem.total_bytes);
	int bw = width - 2;
	if (bw < 10 || !(tot > 0))
		return;
	double parts[3] = {p->mem.weights_bytes, p->mem.kv_bytes + p->mem.state_bytes,
			   p->mem.buffers_bytes + p->mem.overhead_bytes};
	int pairs[3] = {C_BAR1, C_BAR2, C_BAR3};
	int col = 0;
	put(y, x, "[");
	for (int k = 0; k < 3; k++) {
		int n = (int)(parts[k] / tot * bw + 0.5);
		on(t, pairs[k]);
		for (int j = 0; j < n && col < bw; j++, col++)
			put(y, x + 1 + col, t->color ? "\u2588" : (k == 0 ? "W" : k == 1 ? "K" : "b"));
		off(t, pairs[k]);
	}
	int capcol = (int)(cap / tot * bw + 0.5);
	for (; col < bw; col++)
		put(y, x + 1 + col, col == capcol - 1 ? "|" : "\u00b7");
	put(y, x + bw + 1, "]");
	put(y + 1, x, "weights %.1f  KV %.2f  buffers %.2f  of %.1f GiB usable%s", parts[0] / GIB,
	    parts[1] / GIB, parts[2] / GIB, cap / GIB, p->mem.total_bytes > cap ? " (over)" : "");
}

/* Decode tokens/s against context: a line chart of the curve points. */
static void draw_chart(struct tui *t, int y, int x, int w, int h, const struct sim_pred *p)
{
	if (h < 4 || w < 24 || p->n_curve < 2)
		return;
	double mx = 0;
	for (int i = 0; i < p->n_curve; i++)
		mx = fmax(mx, p->curve[i].decode_tps);
	if (!(mx > 0))
		return;
	int ph = h - 2, pw = w - 9;
	put(y, x, "decode tokens/s against context (predicted)");
	for (int r = 0; r < ph; r++) {
		double v = mx * (ph - 1 - r) / (ph - 1);
		if (r == 0 || r == ph - 1 || r == ph / 2)
			put(y + 1 + r, x, "%6.1f", v);
		put(y + 1 + r, x + 7, "\u2502");
	}
	put(y + 1 + ph, x + 7, "\u2514");
	for (int c = 0; c < pw; c++)
		put(y + 1 + ph, x + 8 + c, "\u2500");
	/* x: log2 of context between the first and last points */
	double lx0 = log2((double)p->curve[0].ctx), lx1 = log2((double)p->curve[p->n_curve - 1].ctx);
	if (lx1 <= lx0)
		lx1 = lx0 + 1;
	on(t, C_OK);
	for (int c = 0; c < pw; c++) {
		double lx = lx0 + (lx1 - lx0) * c / (pw - 1);
		int k = 0;
		while (k < p->n_curve - 2 && log2((double)p->curve[k + 1].ctx) < lx)
			k++;
		double a = log2((double)p->curve[k].ctx), b = log2((double)p->curve[k + 1].ctx);
		double f = b > a ? (lx - a) / (b - a) : 0;
		double v = p->curve[k].decode_tps + f * (p->curve[k + 1].decode_tps - p->curve[k].decode_tps);
		int r = ph - 1 - (int)(v / mx * (ph - 1) + 0.5);
		if (r < 0)
			r = 0;
		put(y + 1 + r, x + 8 + c, "\u2022");
	}
	off(t, C_OK);
	put(y + 2 + ph, x + 8, "%lld", (long long)p->curve[0].ctx);
	char lab[32];
	snprintf(lab, sizeof lab, "%lld tokens", (long long)p->curve[p->n_curve - 1].ctx);
	put(y + 2 + ph, x + 8 + pw - (int)strlen(lab), "%s", lab);
}

static void draw_detail(struct tui *t, int y, int x, int w, int h)
{
	int i = selected(t);
	if (i < 0) {
		put(y, x, "no model matches the filter");
		return;
	}
	struct mrow *r = &t->rows[i];
	int q = qidx(r);
	const struct sim_pred *p = &r->p[q];
	const struct mdb_model *m = &t->models.v[i];
	int yy = y;
	on(t, C_HEAD);
	put(yy++, x, "%s, %s%s", m->name[0] ? m->name : m->id, tui_quants[q], r->qsel < 0 ? " (best)" : "");
	off(t, C_HEAD);
	char gl[16];
	snprintf(gl, sizeof gl, r->gpu_layers < 0 ? "auto (%d)" : "%d",
		 r->gpu_layers < 0 ? p->gpu_layers : r->gpu_layers);
	put(yy++, x, "ctx %lld, batch %d, GPU layers %s   ([ ] quant, g/G GPU layers, +/- ctx, b/B batch)",
	    (long long)t->wl.ctx, t->wl.batch, gl);
	draw_membar(t, yy, x, w > 70 ? 70 : w, p);
	yy += 2;
	put(yy++, x, "placement %s: ", sim_place_name(p->place));
	yy += wrap(yy - 1, x + 12 + (int)strlen(sim_place_name(p->place)), w - 14 - (int)strlen(sim_place_name(p->place)), 2, p->why) - 1;
	char a[16], b[16];
	if (p->fits) {
		int c = speed_color(t, p);
		on(t, c);
		put(yy++, x, "decode %s t/s (+-%.0f%%)   prefill %s t/s   first token %.2f s", rep_fmt_tps(a, sizeof a, p->decode_tps),
		    100 * p->band, rep_fmt_tps(b, sizeof b, p->prefill_tps), p->ttft_s);
		off(t, c);
		if (t->wl.batch > 1)
			put(yy++, x, "all %d streams: %s t/s", t->wl.batch, rep_fmt_tps(a, sizeof a, p->decode_tps_total));
		put(yy++, x, "bottleneck: %s", sim_bound_name(p->bottleneck));
		if (isfinite(p->expert_hit_rate))
			put(yy++, x, "expert cache hit rate %.1f%%, %.2f GiB from SSD per token",
			    100 * p->expert_hit_rate, p->ssd_bytes_per_token / GIB);
		int ch = h - (yy - y) - 4;
		if (ch > 12)
			ch = 12;
		if (ch >= 5) {
			yy++;
			draw_chart(t, yy, x, w > 90 ? 90 : w, ch, p);
			yy += ch + 1;
		}
	} else {
		on(t, C_BAD);
		put(yy++, x, "does not fit: no speed to predict");
		off(t, C_BAD);
	}
	if (yy < y + h - 1) {
		put(yy++, x, "assumptions:");
		for (int k = 0; k < p->n_assume && yy < y + h; k++)
			yy += wrap(yy, x + 2, w - 2, y + h - yy, p->assume[k]);
	}
}

static void draw_status(struct tui *t)
{
	int y = LINES - 1;
	mvhline(y, 0, ' ', COLS);
	if (t->filtering)
		put(y, 0, "/%s_   (Enter keeps, Esc clears)", t->filter);
	else if (t->status[0])
		put(y, 0, "%s", t->status);
	else
		put(y, 0, "%s%s%s?:help q:quit /:filter s:sort(%s) Enter:detail m:machines y:buy v:verify "
		    "p:probe", t->filter[0] ? "filter: " : "", t->filter, t->filter[0] ? "  " : "",
		    sort_names[t->sort]);
}

static void draw_machines(struct tui *t, int y, int h)
{
	on(t, C_HEAD);
	put(y, 0, "  %-30s %8s %9s %10s %9s", "machine", "memory", "GB/s", "GPU mem", "price");
	off(t, C_HEAD);
	mvhline(y + 1, 0, ACS_HLINE, COLS);
	int rows = h - 3;
	if (t->msel < t->mtop)
		t->mtop = t->msel;
	if (t->msel >= t->mtop + rows)
		t->mtop = t->msel - rows + 1;
	for (int k = 0; k < rows && t->mtop + k < t->n_mach; k++) {
		int j = t->mtop + k;
		const struct hw_spec *m = t->mach[j];
		double gm = 0;
		for (int a = 0; a < m->n_accel; a++)
			if (!strcmp(m->accel[a].kind, "gpu"))
				gm = fmax(gm, m->accel[a].memory_gb);
		char pr[16];
		if (m->price_usd > 0)
			snprintf(pr, sizeof pr, "$%.0f", m->price_usd);
		else
			snprintf(pr, sizeof pr, "-");
		if (j == t->msel)
			attron(A_REVERSE);
		put(y + 2 + k, 0, "%c%c%-30.30s %7.0fG %9.0f %9.0fG %9s", j == t->msel ? '>' : ' ',
		    j == t->hw_sel ? '*' : j == t->hw_mark ? '+' : ' ', m->id, m->host.memory_gb,
		    m->host.memory_bandwidth_gbps, gm, pr);
		if (j == t->msel)
			attroff(A_REVERSE);
	}
	put(y + h - 1, 0, "* shown  + compare   Enter: show this machine  c: mark to compare, x: compare  Esc: back");
}

static void compare_col(struct tui *t, int x, int y, const struct hw_spec *h, const struct sim_pred *p)
{
	char a[16];
	on(t, C_HEAD);
	put(y, x, "%.34s", h->id);
	off(t, C_HEAD);
	put(y + 1, x, "%s", h->price_usd > 0 ? (snprintf(a, sizeof a, "$%.0f", h->price_usd), a) : "price unknown");
	put(y + 2, x, "needs %.1f GiB", p->mem.total_bytes / GIB);
	put(y + 3, x, "%s", sim_place_name(p->place));
	int c = speed_color(t, p);
	on(t, c);
	put(y + 4, x, "decode %s t/s", rep_fmt_tps(a, sizeof a, p->fits ? p->decode_tps : NAN));
	off(t, c);
	put(y + 5, x, "prefill %s t/s", rep_fmt_tps(a, sizeof a, p->fits ? p->prefill_tps : NAN));
	put(y + 6, x, "first token %s", p->fits ? (snprintf(a, sizeof a, "%.2f s", p->ttft_s), a) : "-");
	put(y + 7, x, "%.34s", p->fits ? sim_bound_name(p->bottleneck) : "-");
}

static void draw_compare(struct tui *t, int y)
{
	int i = selected(t);
	if (i < 0 || t->hw_mark < 0) {
		put(y, 1, "Mark a second machine in the machines view (m, then c on it), then press x.");
		return;
	}
	struct mrow *r = &t->rows[i];
	const struct mdb_model *m = &t->models.v[i];
	int q = qidx(r);
	struct sim_pred *other = calloc(1, sizeof *other);
	if (!other)
		return;
	char err[256];
	struct sim_workload wl = t->wl;
	sim_workload_for_model(&wl, m);
	int ok = sim_predict(t->mach[t->hw_mark], m, &r->w[q], &wl, &t->eff, other, err, sizeof err) == 0;
	put(y, 1, "%s, %s on two machines (predicted)", m->name, tui_quants[q]);
	put(y + 2, 1, "machine");
	put(y + 3, 1, "price");
	put(y + 4, 1, "memory");
	put(y + 5, 1, "placement");
	put(y + 6, 1, "decode");
	put(y + 7, 1, "prefill");
	put(y + 8, 1, "TTFT");
	put(y + 9, 1, "bottleneck");
	int cw = (COLS - 14) / 2;
	if (cw < 20)
		cw = 20;
	compare_col(t, 14, y + 2, cur_hw(t), &r->p[q]);
	if (ok)
		compare_col(t, 14 + cw, y + 2, t->mach[t->hw_mark], other);
	else
		put(y + 2, 14 + cw, "%s", err);
	free(other);
	put(y + 11, 1, "Esc: back");
}

static void draw_buy(struct tui *t, int y, int h)
{
	int i = selected(t);
	if (i < 0)
		return;
	const struct mrow *r = &t->rows[i];
	put(y, 1, "What to buy for %s, %s at %.1f t/s decode (predicted; catalog prices)", t->models.v[i].id,
	    tui_quants[qidx(r)], t->min_tps);
	on(t, C_HEAD);
	put(y + 1, 0, " %-28s %7s %-12s %7s %8s %8s", "machine", "price", "placement", "decode", "prefill",
	    "t/s/$1k");
	off(t, C_HEAD);
	for (int k = 0; k < h - 3 && k < t->buy_n; k++) {
		int j = t->buy_order[k];
		const struct hw_spec *m = &t->cat.items[j];
		const struct sim_pred *p = &t->buy[j];
		char pr[16], d[16], pf[16], per[16];
		snprintf(pr, sizeof pr, m->price_usd > 0 ? "$%.0f" : "-", m->price_usd);
		if (p->fits && m->price_usd > 0)
			snprintf(per, sizeof per, "%.2f", 1000 * p->decode_tps / m->price_usd);
		else
			snprintf(per, sizeof per, "-");
		int c = speed_color(t, p);
		on(t, c);
		put(y + 2 + k, 0, " %-28.28s %7s %-12.12s %7s %8s %8s", m->id, pr, sim_place_name(p->place),
		    rep_fmt_tps(d, sizeof d, p->fits ? p->decode_tps : NAN),
		    rep_fmt_tps(pf, sizeof pf, p->fits ? p->prefill_tps : NAN), per);
		off(t, c);
	}
}

static void draw_help(struct tui *t)
{
	static const char *const lines[] = {
		"llmcap dashboard keys",
		"",
		"up/down j/k PgUp/PgDn Home/End   move",
		"Enter          detail of the selected model (wide screens show it always)",
		"/              filter by typing (Esc clears)",
		"s              sort: rank, name, memory, decode, prefill",
		"[ ]            quantization of the selected model",
		"+ -            context window x2 / /2",
		"b B            batch (concurrent streams) up / down",
		"g G            GPU layers of the selected model up / down (auto below 0)",
		"t T            target decode speed up / down",
		"m              machines: this machine and the catalog; c marks, x compares",
		"y              what to buy for the selected model, by price",
		"v              verify: llmcap's kernels run the selected model (Enter)",
		"p              probe this machine (quick), with progress",
		"?              this help      q  quit (Esc: back)",
		"",
		"Colours: green reaches the target, yellow half of it, red below, grey does not fit.",
		"Every speed is predicted; machine figures say measured or spec.",
	};
	int n = (int)(sizeof lines / sizeof *lines);
	int w = 84 < COLS - 2 ? 84 : COLS - 2, h = n + 2 < LINES - 2 ? n + 2 : LINES - 2;
	int y0 = (LINES - h) / 2, x0 = (COLS - w) / 2;
	for (int r = 0; r < h; r++)
		mvhline(y0 + r, x0, ' ', w);
	attron(A_BOLD);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
	mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
	mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
	mvvline(y0 + 1, x0, ACS_VLINE, h - 2);
	mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, h - 2);
	attroff(A_BOLD);
	for (int k = 0; k < n && k < h - 2; k++) {
		char line[128];
		snprintf(line, sizeof line, "%.*s", w - 4, lines[k]);
		mvaddstr(y0 + 1 + k, x0 + 2, line);
	}
}

/* ---- verify: `llmcap verify --json` in a child process ----------------- */
/* The one tensor type of the synthetic file for the model's row: the
 * base type of the row's mix ("q4_K" for Q4_K_M). */
static const char *verify_type(const struct tui *t, int i)
{
	const struct mdb_qmix *mix = mdb_qmix_by_name(tui_quants[qidx(&t->rows[i])]);
	const struct mdb_qtraits *q = mix ? mdb_qtype(mix->base) : NULL;
	return q ? q->name : "q4_0";
}

static double jnum2(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
	return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void verify_progress(double secs)
{
	int w = COLS - 10 < 60 ? COLS - 10 : 60;
	int y = LINES / 2, x = (COLS - w) / 2;
	mvhline(y, x - 2, ' ', w + 4);
	put(y, x, "running llmcap verify ... %.0f s   (Esc cancels)", secs);
	refresh();
}

static void run_verify(struct tui *t)
{
	int i = selected(t);
	if (i < 0)
		return;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		snprintf(t->status, sizeof t->status, "cannot find the llmcap program to run verify");
		return;
	}
	exe[n] = 0;
	const char *type = verify_type(t, i);
	int fd[2];
	if (pipe(fd) != 0) {
		snprintf(t->status, sizeof t->status, "cannot run verify: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		snprintf(t->status, sizeof t->status, "cannot run verify: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int dn = open("/dev/null", O_RDWR);
		dup2(fd[1], 1);
		if (dn >= 0) {
			dup2(dn, 0);
			dup2(dn, 2);
		}
		close(fd[0]);
		execl(exe, exe, "verify", "--model", t->models.v[i].id, "--quant", type, "--runs", "3",
		      "--json", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	double t0 = now_ms();
	int status = 0, done = 0, cancelled = 0;
	while (!done && buf) {
		struct pollfd pf = {fd[0], POLLIN, 0};
		if (poll(&pf, 1, 200) > 0) {
			if (len + 4096 > cap) {
				char *nb = realloc(buf, cap *= 2);
				if (!nb)
					break;
				buf = nb;
			}
			ssize_t r = read(fd[0], buf + len, cap - len - 1);
			if (r > 0)
				len += (size_t)r;
			else
				done = 1;
		}
		verify_progress((now_ms() - t0) / 1000);
		timeout(0);
		int ch = getch();
		timeout(200);
		if (ch == 27 || ch == 'q' || tui_stop) {
			kill(pid, SIGTERM);
			cancelled = 1;
			done = 1;
		}
	}
	close(fd[0]);
	waitpid(pid, &status, 0);
	if (cancelled || !buf) {
		snprintf(t->status, sizeof t->status, "verify %s", cancelled ? "cancelled" : "ran out of memory");
		free(buf);
		return;
	}
	buf[len] = 0;
	cJSON *o = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? cJSON_Parse(buf) : NULL;
	free(buf);
	if (!o) {
		snprintf(t->status, sizeof t->status, "verify failed (%s %d); run llmcap verify --model %s in a shell "
			 "to see why", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), t->models.v[i].id);
		return;
	}
	t->vmodel = i;
	snprintf(t->vquant, sizeof t->vquant, "%s", type);
	t->v_pred_pp = jnum2(o, "predicted", "prefill_tps");
	t->v_pred_tg = jnum2(o, "predicted", "decode_tps");
	t->v_meas_pp = jnum2(o, "measured", "prefill_tps");
	t->v_meas_tg = jnum2(o, "measured", "decode_tps");
	t->v_err_pp = jnum2(o, "error_pct", "prefill");
	t->v_err_tg = jnum2(o, "error_pct", "decode");
	t->v_tg_min = jnum2(o, "measured", "decode_tps_min");
	t->v_tg_max = jnum2(o, "measured", "decode_tps_max");
	const cJSON *lr = cJSON_GetObjectItemCaseSensitive(o, "layers_run");
	const cJSON *lm = cJSON_GetObjectItemCaseSensitive(o, "layers_model");
	if (cJSON_IsNumber(lr) && cJSON_IsNumber(lm) && lr->valueint < lm->valueint)
		snprintf(t->vnote, sizeof t->vnote, "Timed on %d of %d layers.", lr->valueint, lm->valueint);
	else
		t->vnote[0] = 0;
	cJSON_Delete(o);
}

static void draw(struct tui *t)
{
	erase();
	draw_header(t);
	int y = 1;
	if (t->view == V_FIT || t->view == V_DETAIL) {
		y += draw_machine(t, y);
		int body = LINES - 1 - y;
		if (t->view == V_DETAIL) {
			draw_detail(t, y, 1, COLS - 2, body);
		} else if (COLS >= 150) {
			draw_fit_table(t, y, body, 72);
			mvvline(y, 73, ACS_VLINE, body);
			draw_detail(t, y, 75, COLS - 76, body);
		} else if (LINES >= 44) {
			int th = body / 2;
			draw_fit_table(t, y, th, COLS);
			mvhline(y + th, 0, ACS_HLINE, COLS);
			draw_detail(t, y + th + 1, 1, COLS - 2, body - th - 1);
		} else {
			draw_fit_table(t, y, body, COLS);
		}
	} else if (t->view == V_MACHINES) {
		put(y, 1, "Machines: this machine and the hardware catalog (%d)", t->n_mach);
		draw_machines(t, y + 1, LINES - 2 - y);
	} else if (t->view == V_COMPARE) {
		draw_compare(t, y + 1);
	} else if (t->view == V_BUY) {
		draw_buy(t, y + 1, LINES - 3 - y);
	} else if (t->view == V_VERIFY) {
		int i = selected(t);
		put(y + 1, 1, "Verify %s: llmcap's kernels run it here; predicted beside measured",
		    i >= 0 ? t->models.v[i].id : "");
		put(y + 2, 1, "(a synthetic file of its shape in %s, engine llmcap; Enter runs it, about a minute at most)",
		    i >= 0 ? verify_type(t, i) : "");
		if (i >= 0 && t->vmodel == i && !strcmp(t->vquant, verify_type(t, i))) {
			char a[16], b[16];
			put(y + 4, 1, "%-10s %12s %12s", "", "prefill t/s", "decode t/s");
			put(y + 5, 1, "%-10s %12s %12s", "predicted", rep_fmt_tps(a, sizeof a, t->v_pred_pp),
			    rep_fmt_tps(b, sizeof b, t->v_pred_tg));
			put(y + 6, 1, "%-10s %12s %12s", "measured", rep_fmt_tps(a, sizeof a, t->v_meas_pp),
			    rep_fmt_tps(b, sizeof b, t->v_meas_tg));
			put(y + 7, 1, "%-10s %+11.1f%% %+11.1f%%", "error", t->v_err_pp, t->v_err_tg);
			put(y + 8, 1, "decode range over the runs: %.1f - %.1f t/s. %s", t->v_tg_min, t->v_tg_max, t->vnote);
		} else {
			put(y + 4, 1, "not run yet for this model: press Enter");
		}
		put(y + 10, 1, "Enter: run verify   Esc: back");
	}
	if (t->help)
		draw_help(t);
	draw_status(t);
}

/* ---- probe with progress ---------------------------------------------------- */
struct probe_ui { struct tui *t; };

static void probe_progress(const char *step, double f, void *user)
{
	struct probe_ui *u = user;
	(void)u;
	int w = COLS - 10 < 60 ? COLS - 10 : 60;
	int y = LINES / 2, x = (COLS - w) / 2;
	mvhline(y - 1, x - 2, ' ', w + 4);
	mvhline(y, x - 2, ' ', w + 4);
	mvhline(y + 1, x - 2, ' ', w + 4);
	put(y - 1, x, "probing this machine: %s", step ? step : "");
	int n = (int)(f * (w - 2));
	put(y, x, "[");
	for (int i = 0; i < w - 2; i++)
		put(y, x + 1 + i, i < n ? "#" : ".");
	put(y, x + w - 1, "] %3.0f%%", 100 * f);
	refresh();
}

static void run_probe(struct tui *t)
{
	if (!t->o->probe) {
		snprintf(t->status, sizeof t->status, "probing is not available here");
		return;
	}
	struct probe_ui u = {t};
	char err[512] = "";
	struct hw_spec h;
	probe_progress("starting", 0, &u);
	if (t->o->probe(&h, probe_progress, &u, t->o->probe_user, err, sizeof err) != 0) {
		snprintf(t->status, sizeof t->status, "probe failed: %.200s", err);
		return;
	}
	t->this_hw = h;
	if (!t->have_this) {
		/* this machine goes first in the list */
		memmove(&t->mach[1], &t->mach[0], (size_t)t->n_mach * sizeof t->mach[0]);
		t->n_mach++;
		t->hw_sel++;
		if (t->hw_mark >= 0)
			t->hw_mark++;
		t->have_this = 1;
	}
	t->mach[0] = &t->this_hw;
	t->hw_sel = 0;
	compute_all(t);
	snprintf(t->status, sizeof t->status, "probed: memory %.1f GB/s measured; predictions updated",
		 h.host.memory_bandwidth_gbps);
}

/* ---- keys ---------------------------------------------------------------------- */
static void handle_key(struct tui *t, int ch)
{
	t->status[0] = 0;
	if (t->filtering) {
		size_t n = strlen(t->filter);
		if (ch == 27) {
			t->filter[0] = 0;
			t->filtering = 0;
		} else if (ch == '\n' || ch == KEY_ENTER) {
			t->filtering = 0;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n)
				t->filter[n - 1] = 0;
		} else if (ch >= 32 && ch < 127 && n + 1 < sizeof t->filter) {
			t->filter[n] = (char)ch;
			t->filter[n + 1] = 0;
		}
		reorder(t);
		return;
	}
	if (t->help) {
		t->help = 0;
		if (ch != 'q')
			return;
	}
	int i = selected(t);
	int page = LINES - 10 > 1 ? LINES - 10 : 1;
	if (t->view == V_MACHINES) {
		switch (ch) {
		case KEY_UP: case 'k': if (t->msel > 0) t->msel--; return;
		case KEY_DOWN: case 'j': if (t->msel + 1 < t->n_mach) t->msel++; return;
		case KEY_PPAGE: t->msel = t->msel > page ? t->msel - page : 0; return;
		case KEY_NPAGE: t->msel = t->msel + page < t->n_mach ? t->msel + page : t->n_mach - 1; return;
		case '\n': case KEY_ENTER:
			t->hw_sel = t->msel;
			compute_all(t);
			t->view = V_FIT;
			return;
		case 'c': t->hw_mark = t->msel; return;
		case 'x': t->view = V_COMPARE; return;
		case 27: t->view = V_FIT; return;
		}
	}
	switch (ch) {
	case 'q': tui_stop = 1; return;
	case '?': t->help = 1; return;
	case 27: t->view = V_FIT; return;
	case KEY_UP: case 'k': if (t->sel > 0) t->sel--; break;
	case KEY_DOWN: case 'j': if (t->sel + 1 < t->n_order) t->sel++; break;
	case KEY_PPAGE: t->sel = t->sel > page ? t->sel - page : 0; break;
	case KEY_NPAGE: t->sel = t->sel + page < t->n_order ? t->sel + page : (t->n_order ? t->n_order - 1 : 0); break;
	case KEY_HOME: t->sel = 0; break;
	case KEY_END: t->sel = t->n_order ? t->n_order - 1 : 0; break;
	case '\n': case KEY_ENTER:
		if (t->view == V_VERIFY)
			run_verify(t);
		else
			t->view = t->view == V_DETAIL ? V_FIT : V_DETAIL;
		break;
	case '/': t->filtering = 1; t->view = V_FIT; break;
	case 's': t->sort = (t->sort + 1) % S_COUNT; reorder(t); break;
	case '[': case ']':
		if (i >= 0) {
			struct mrow *r = &t->rows[i];
			int q = qidx(r) + (ch == ']' ? 1 : -1);
			r->qsel = q < 0 ? 0 : q >= NQ ? NQ - 1 : q;
			compute_model(t, i);
		}
		break;
	case '+': case '=':
		if (t->wl.ctx < (1 << 20)) {
			t->wl.ctx *= 2;
			compute_all(t);
		}
		break;
	case '-': case '_':
		if (t->wl.ctx > 1024) {
			t->wl.ctx /= 2;
			if (t->wl.prompt + t->wl.gen > t->wl.ctx) {
				t->wl.prompt = t->wl.ctx / 2;
				t->wl.gen = t->wl.ctx / 8;
			}
			compute_all(t);
		}
		break;
	case 'b': if (t->wl.batch < 256) { t->wl.batch *= 2; compute_all(t); } break;
	case 'B': if (t->wl.batch > 1) { t->wl.batch /= 2; compute_all(t); } break;
	case 't': t->min_tps = t->min_tps < 1 ? 1 : t->min_tps * 2; compute_all(t); break;
	case 'T': t->min_tps = t->min_tps / 2; compute_all(t); break;
	case 'g': case 'G':
		if (i >= 0) {
			struct mrow *r = &t->rows[i];
			const struct sim_pred *p = &r->p[qidx(r)];
			int n = r->gpu_layers < 0 ? p->gpu_layers : r->gpu_layers;
			n += ch == 'g' ? 1 : -1;
			r->gpu_layers = n < 0 ? -1 : n > t->models.v[i].n_layer ? t->models.v[i].n_layer : n;
			compute_model(t, i);
		}
		break;
	case 'm': t->view = V_MACHINES; t->msel = t->hw_sel; break;
	case 'x': t->view = V_COMPARE; break;
	case 'y': compute_buy(t); t->view = V_BUY; break;
	case 'v': t->view = V_VERIFY; break;
	case 'p': run_probe(t); break;
	case KEY_RESIZE: break;
	case KEY_MOUSE: {
		MEVENT ev;
		if (getmouse(&ev) == OK && t->view == V_FIT) {
			if (ev.bstate & BUTTON4_PRESSED) {
				if (t->sel > 0)
					t->sel--;
			} else if (ev.bstate & BUTTON5_PRESSED) {
				if (t->sel + 1 < t->n_order)
					t->sel++;
			} else if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)) {
				/* rows start two lines below the table's top */
				int k = ev.y - t->table_y - 2;
				if (k >= 0 && t->top + k < t->n_order)
					t->sel = t->top + k;
				if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
					t->view = V_DETAIL;
			}
		}
		break;
	}
	default: break;
	}
}

/* ---- setup ---------------------------------------------------------------------- */
static int setup(struct tui *t, const struct tui_options *o, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->o = o;
	if (mdb_models_load(&t->models, NULL, err, errlen) != 0)
		return -1;
	if (mdb_hw_catalog_load(&t->cat, err, errlen) != 0)
		return -1;
	if (o->eff)
		t->eff = *o->eff;
	else if (sim_eff_default(o->engine, &t->eff, err, errlen) != 0)
		return -1;
	sim_workload_default(&t->wl);
	if (o->ctx > 0)
		t->wl.ctx = o->ctx;
	if (t->wl.prompt + t->wl.gen > t->wl.ctx) {
		t->wl.prompt = t->wl.ctx * 4 / 5;
		t->wl.gen = t->wl.ctx - t->wl.prompt;
	}
	t->min_tps = o->min_tps > 0 ? o->min_tps : 10;
	t->hw_mark = -1;
	t->vmodel = -1;
	if (o->this_hw) {
		t->this_hw = *o->this_hw;
		t->have_this = 1;
		t->mach[t->n_mach++] = &t->this_hw;
	}
	if (o->start_spec) {
		t->user_hw = *o->start_spec;
		t->have_user = 1;
		t->mach[t->n_mach++] = &t->user_hw;
	}
	for (int k = 0; k < t->cat.n && t->n_mach < (int)(sizeof t->mach / sizeof *t->mach); k++)
		t->mach[t->n_mach++] = &t->cat.items[k];
	t->hw_sel = 0;
	if (o->start_spec)
		t->hw_sel = t->have_this ? 1 : 0;
	else if (o->start_hw && strcmp(o->start_hw, "this") != 0) {
		for (int k = 0; k < t->n_mach; k++)
			if (!strcasecmp(t->mach[k]->id, o->start_hw))
				t->hw_sel = k;
	}
	if (t->n_mach == 0) {
		snprintf(err, errlen, "no machine to show");
		return -1;
	}
	t->rows = calloc((size_t)(t->models.n ? t->models.n : 1), sizeof *t->rows);
	t->order = calloc((size_t)(t->models.n ? t->models.n : 1), sizeof *t->order);
	t->buy = calloc((size_t)(t->cat.n ? t->cat.n : 1), sizeof *t->buy);
	t->buy_order = calloc((size_t)(t->cat.n ? t->cat.n : 1), sizeof *t->buy_order);
	if (!t->rows || !t->order || !t->buy || !t->buy_order) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < t->models.n; i++)
		t->rows[i].qsel = t->rows[i].gpu_layers = -1;
	compute_all(t);
	return 0;
}

static void teardown(struct tui *t)
{
	free(t->rows);
	free(t->order);
	free(t->buy);
	free(t->buy_order);
	mdb_models_free(&t->models);
	mdb_hw_catalog_free(&t->cat);
}

static void init_colors(struct tui *t)
{
	const char *nc = getenv("NO_COLOR");
	t->color = has_colors() && !(nc && nc[0]);
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(C_OK, COLOR_GREEN, -1);
	init_pair(C_WARN, COLOR_YELLOW, -1);
	init_pair(C_BAD, COLOR_RED, -1);
	init_pair(C_DIM, COLOR_BLUE, -1);
	init_pair(C_HEAD, COLOR_CYAN, -1);
	init_pair(C_BAR1, COLOR_BLUE, -1);
	init_pair(C_BAR2, COLOR_MAGENTA, -1);
	init_pair(C_BAR3, COLOR_YELLOW, -1);
	init_pair(C_SEL, COLOR_BLACK, COLOR_CYAN);
}

int tui_run(const struct tui_options *o, char *err, size_t errlen)
{
	if (!isatty(0) || !isatty(1)) {
		snprintf(err, errlen, "the dashboard needs a terminal; use llmcap fit for text output");
		return -1;
	}
	struct tui *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (setup(t, o, err, errlen) != 0) {
		teardown(t);
		free(t);
		return -1;
	}
	FILE *log = o->timing_log ? fopen(o->timing_log, "a") : NULL;
	setlocale(LC_ALL, "");
	tui_stop = 0;
	install_signals();
	if (!initscr()) {
		restore_signals();
		snprintf(err, errlen, "cannot start the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		teardown(t);
		free(t);
		return -1;
	}
	tui_curses_on = 1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	timeout(200);
	mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	init_colors(t);
	if (!t->have_this && (!o->start_hw || !strcmp(o->start_hw, "this")) && !o->start_spec && o->probe) {
		draw(t);
		refresh();
		run_probe(t);
	}
	draw(t);
	refresh();
	while (!tui_stop) {
		int ch = getch();
		if (ch == ERR)
			continue;
		double t0 = now_ms();
		handle_key(t, ch);
		draw(t);
		refresh();
		t->last_ms = now_ms() - t0;
		if (log) {
			fprintf(log, "%d %.3f\n", ch, t->last_ms);
			fflush(log);
		}
	}
	endwin();
	tui_curses_on = 0;
	restore_signals();
	if (log)
		fclose(log);
	teardown(t);
	free(t);
	return 0;
}

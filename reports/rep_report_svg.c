/* reports: the report's charts as SVG, drawn here from the figures the
 * caller computed: decode tokens/s against context (log2 x axis) and the
 * roofline of the machine (log-log). Each chart is a standalone SVG
 * document (well-formed XML, no external references, no script) whose
 * colours follow the page's CSS variables when inlined in HTML, with
 * light-mode fallbacks when viewed alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"
#include "simulator/sim.h"

/* Chart geometry (SVG user units): the plot area and the legend column. */
#define W 860
#define H 440
#define PL 78                  /* plot left */
#define PR 610                 /* plot right */
#define PT 40                  /* plot top */
#define PB 370                 /* plot bottom */
#define LEGX 630               /* legend column */

/* Distinct in light and dark mode (mid lightness, no pure black/white). */
static const char *const colors[REP_N_COLORS] = {"#3b7dd8", "#e0662f", "#2a9d5b", "#a05fd0",
						  "#c9a227", "#d0457a"};

const char *rep_series_color(int i)
{
	return colors[((i % REP_N_COLORS) + REP_N_COLORS) % REP_N_COLORS];
}

/* XML text with & < > " escaped. */
static void xml_text(FILE *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", o); break;
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '"': fputs("&quot;", o); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc(' ', o);
			else
				fputc(*s, o);
		}
	}
}

static void svg_open(FILE *o, const char *title, const char *desc)
{
	fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" role=\"img\" class=\"chart\" font-family=\"system-ui, sans-serif\" "
		"font-size=\"13\">\n<title>", W, H, W, H);
	xml_text(o, title);
	fputs("</title>\n<desc>", o);
	xml_text(o, desc);
	fputs("</desc>\n", o);
	/* CSS variables of the page, light-mode fallbacks standalone */
	fputs("<style>"
	      ".bg{fill:var(--chart-bg,#ffffff)}"
	      ".fg{fill:var(--fg,#1d1f23)}"
	      ".mute{fill:var(--muted,#5b6270)}"
	      ".axis{stroke:var(--fg,#1d1f23);stroke-width:1.2;fill:none}"
	      ".grid{stroke:var(--grid,#d9dde3);stroke-width:1;fill:none}"
	      ".ceil{stroke:var(--ceil,#0f7c8c);stroke-width:2.2;fill:none}"
	      ".ach{stroke-dasharray:7 5;stroke-width:1.8}"
	      "</style>\n", o);
	fprintf(o, "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" rx=\"6\"/>\n", W, H);
	fprintf(o, "<text class=\"fg\" x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"600\">", PL);
	xml_text(o, title);
	fputs("</text>\n", o);
}

static void axis_titles(FILE *o, const char *xt, const char *yt)
{
	fprintf(o, "<path class=\"axis\" d=\"M%d %d V%d H%d\"/>\n", PL, PT, PB, PR);
	fprintf(o, "<text class=\"fg axis-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (PL + PR) / 2,
		PB + 48);
	xml_text(o, xt);
	fputs("</text>\n", o);
	fprintf(o, "<text class=\"fg axis-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 %d %d)\">", 20, (PT + PB) / 2, 20, (PT + PB) / 2);
	xml_text(o, yt);
	fputs("</text>\n", o);
}

static void xtick(FILE *o, double x, const char *label)
{
	fprintf(o, "<path class=\"grid\" d=\"M%.1f %d V%d\"/>", x, PT, PB);
	fprintf(o, "<path class=\"axis\" d=\"M%.1f %d v5\"/>", x, PB);
	fprintf(o, "<text class=\"mute\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
		PB + 20, label);
}

static void ytick(FILE *o, double y, const char *label)
{
	fprintf(o, "<path class=\"grid\" d=\"M%d %.1f H%d\"/>", PL, y, PR);
	fprintf(o, "<path class=\"axis\" d=\"M%d %.1f h-5\"/>", PL, y);
	fprintf(o, "<text class=\"mute\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", PL - 8,
		y + 4, label);
}

static void legend_line(FILE *o, int row, const char *color, int dashed, const char *label,
			const char *marker)
{
	double y = PT + 8 + row * 22;
	if (color)
		fprintf(o, "<path d=\"M%d %.1f h26\" stroke=\"%s\" stroke-width=\"2.5\" fill=\"none\"%s/>",
			LEGX, y, color, dashed ? " stroke-dasharray=\"7 5\"" : "");
	else
		fprintf(o, "<path class=\"ceil%s\" d=\"M%d %.1f h26\"/>", dashed ? " ach" : "", LEGX, y);
	if (marker)
		fputs(marker, o);
	fprintf(o, "<text class=\"fg\" x=\"%d\" y=\"%.1f\">", LEGX + 34, y + 4);
	char clip[64];
	xml_text(o, rep_clip(clip, sizeof clip, label, 30));
	fputs("</text>\n", o);
}

static char *close_mem(FILE *o, char **buf)
{
	if (fclose(o) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

static void fmt_ctx(char *b, size_t n, double v)
{
	if (v >= 1048576 && fmod(v, 1048576) == 0)
		snprintf(b, n, "%.0fM", v / 1048576);
	else if (v >= 1024 && fmod(v, 1024) == 0)
		snprintf(b, n, "%.0fK", v / 1024);
	else
		snprintf(b, n, "%.0f", v);
}

/* A "nice" step (1, 2, 5 x 10^k) giving about n intervals up to mx. */
static double nice_step(double mx, int n)
{
	double raw = mx / n, p = pow(10, floor(log10(raw))), f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

char *rep_svg_decode(const struct rep_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	if (!o)
		return NULL;
	double xmin = INFINITY, xmax = 0, ymax = 0;
	for (int i = 0; i < r->n_top; i++) {
		const struct sim_pred *p = r->top[i].pred;
		for (int j = 0; p->fits && j < p->n_curve; j++) {
			xmin = fmin(xmin, (double)p->curve[j].ctx);
			xmax = fmax(xmax, (double)p->curve[j].ctx);
			ymax = fmax(ymax, p->curve[j].decode_tps);
		}
	}
	if (!(xmax > 0)) {
		xmin = 128;
		xmax = 4096;
	}
	if (xmax <= xmin)
		xmax = xmin * 2;
	if (!(ymax > 0))
		ymax = 1;
	double ystep = nice_step(ymax, 5), ytop = ceil(ymax * 1.05 / ystep) * ystep;
	double lx0 = log2(xmin), lx1 = log2(xmax);
#define XD(v) (PL + (log2(v) - lx0) / (lx1 - lx0) * (PR - PL))
#define YD(v) (PB - (v) / ytop * (PB - PT))
	svg_open(o, "Decode speed against context (predicted)",
		 "Decode tokens per second of one stream against the tokens already in context, "
		 "for the top models that fit; predicted by the simulator.");
	for (double v = pow(2, ceil(lx0)); v <= xmax * 1.0001; v *= 2) {
		char l[16];
		fmt_ctx(l, sizeof l, v);
		xtick(o, XD(v), l);
	}
	for (double v = 0; v <= ytop * 1.0001; v += ystep) {
		char l[32];
		snprintf(l, sizeof l, ystep < 1 ? "%.1f" : "%.0f", v);
		ytick(o, YD(v), l);
	}
	axis_titles(o, "context (tokens in the KV cache, log scale)", "decode (tokens/s, predicted)");
	int row = 0;
	for (int i = 0; i < r->n_top; i++) {
		const struct sim_pred *p = r->top[i].pred;
		if (!p->fits || p->n_curve == 0)
			continue;
		const char *c = rep_series_color(i);
		fprintf(o, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
			"stroke-linejoin=\"round\" points=\"", c);
		for (int j = 0; j < p->n_curve; j++)
			fprintf(o, "%s%.1f,%.1f", j ? " " : "", XD((double)p->curve[j].ctx),
				YD(p->curve[j].decode_tps));
		fputs("\"/>\n", o);
		for (int j = 0; j < p->n_curve; j++)
			fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>",
				XD((double)p->curve[j].ctx), YD(p->curve[j].decode_tps), c);
		fputc('\n', o);
		char lab[160];
		snprintf(lab, sizeof lab, "%s %s", r->top[i].model->id, r->top[i].weights->quant);
		legend_line(o, row++, c, 0, lab, NULL);
	}
	if (row == 0)
		fprintf(o, "<text class=\"mute\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no model fits "
			"this machine</text>\n", (PL + PR) / 2, (PT + PB) / 2);
#undef XD
#undef YD
	fputs("</svg>\n", o);
	return close_mem(o, &buf);
}

static void fmt_flops(char *b, size_t n, double gflops)
{
	if (gflops >= 1e6)
		snprintf(b, n, "%gP", gflops / 1e6);
	else if (gflops >= 1e3)
		snprintf(b, n, "%gT", gflops / 1e3);
	else if (gflops >= 1)
		snprintf(b, n, "%gG", gflops);
	else
		snprintf(b, n, "%gM", gflops * 1e3);
}

char *rep_svg_roofline(const struct rep_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	if (!o)
		return NULL;
	/* ranges: every point with room left of it for the bandwidth slope,
	 * every ceiling, ten times the highest ridge point to the right */
	double pxmin = INFINITY, pxmax = 0, pymin = INFINITY, pymax = 0, cmax = 0, bmax = 0;
	for (int i = 0; i < r->n_pts; i++) {
		const struct rep_roof_pt *p = &r->pts[i];
		if (!(p->intensity > 0) || !(p->gflops > 0))
			continue;
		pxmin = fmin(pxmin, p->intensity);
		pxmax = fmax(pxmax, p->intensity);
		pymin = fmin(pymin, p->gflops);
		pymax = fmax(pymax, p->gflops);
	}
	for (int i = 0; i < r->n_ceil; i++) {
		const struct rep_ceiling *c = &r->ceil[i];
		if (c->value > 0 && c->compute)
			cmax = fmax(cmax, c->value);
		else if (c->value > 0)
			bmax = fmax(bmax, c->value);
	}
	if (!isfinite(pxmin)) {
		pxmin = 1;
		pxmax = 100;
	}
	if (!(cmax > 0))
		cmax = fmax(pymax, 1000);
	if (!(bmax > 0))
		bmax = cmax / 10;
	if (!isfinite(pymin))
		pymin = fmin(cmax, bmax) / 10;
	double lx0 = floor(log10(pxmin / 20));
	double lx1 = ceil(log10(fmax(pxmax * 3, 10 * cmax / bmax)));
	double ly0 = floor(log10(fmin(pymin / 5, cmax / 10)));
	double ly1 = log10(fmax(cmax, pymax) * 1.8);
	if (ly1 <= ly0 + 1)
		ly1 = ly0 + 1;
#define XR(v) (PL + (log10(v) - lx0) / (lx1 - lx0) * (PR - PL))
#define YR(v) (PB - (log10(v) - ly0) / (ly1 - ly0) * (PB - PT))
	svg_open(o, "Roofline of the machine (operating points predicted)",
		 "Memory-bandwidth and compute ceilings of the machine on log-log axes, with the decode "
		 "and prefill operating points of the top models: arithmetic intensity against FLOP/s.");
	for (double e = lx0; e <= lx1 + 1e-9; e++) {
		char l[16];
		snprintf(l, sizeof l, "%g", pow(10, e));
		xtick(o, XR(pow(10, e)), l);
	}
	for (double e = ly0; e <= floor(ly1 + 1e-9); e++) {
		char l[16];
		fmt_flops(l, sizeof l, pow(10, e));
		ytick(o, YR(pow(10, e)), l);
	}
	axis_titles(o, "arithmetic intensity (FLOP/byte, log scale)",
		    "performance (FLOP/s, log scale)");
	fprintf(o, "<clipPath id=\"plotclip\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
		"</clipPath>\n<g clip-path=\"url(#plotclip)\">\n", PL, PT, PR - PL, PB - PT);
	double X0 = pow(10, lx0), X1 = pow(10, lx1);
	for (int i = 0; i < r->n_ceil; i++) {
		const struct rep_ceiling *c = &r->ceil[i];
		if (!(c->value > 0))
			continue;
		/* the other kind's largest ceiling of the same device and kind clips it */
		double other = 0;
		for (int j = 0; j < r->n_ceil; j++) {
			const struct rep_ceiling *d = &r->ceil[j];
			if (d->compute != c->compute && d->device == c->device && d->achieved == c->achieved)
				other = fmax(other, d->value);
		}
		double xa, xb, ya, yb;
		if (c->compute) {
			xa = other > 0 ? c->value / other : X0;
			xb = X1;
			ya = yb = c->value;
		} else {
			xa = X0;
			xb = other > 0 ? other / c->value : X1;
			ya = c->value * xa;
			yb = c->value * xb;
		}
		fprintf(o, "<path class=\"ceil%s\" d=\"M%.1f %.1f L%.1f %.1f\"/>\n", c->achieved ? " ach" : "",
			XR(xa), YR(ya), XR(xb), YR(yb));
		/* compute ceilings: the name and value just right of the ridge,
		 * above the line (achieved ones below it); bandwidth ceilings: the
		 * value along the slope where it enters the plot */
		char v[160];
		double tx, ty;
		if (c->compute) {
			snprintf(v, sizeof v, "%s %.0f GFLOP/s", c->label, c->value);
			tx = XR(xa) + 8;
			ty = c->achieved ? YR(ya) + 14 : YR(ya) - 6;
		} else {
			snprintf(v, sizeof v, "%.1f GB/s%s", c->value, c->achieved ? " achieved" : "");
			double xs = fmax(xa, pow(10, ly0) / c->value);
			double xm = xs * pow(10, 0.12 * (lx1 - lx0) / 4);
			tx = XR(xm) + (c->achieved ? 8 : -2);
			ty = YR(c->value * xm) + (c->achieved ? 14 : -7);
		}
		/* a bandwidth line rises one decade per decade: its angle on screen */
		double ang = atan2((PB - PT) / (ly1 - ly0), (PR - PL) / (lx1 - lx0)) * 180 / M_PI;
		fprintf(o, "<text class=\"mute\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\"", tx, ty);
		if (c->compute)
			fputs(">", o);
		else
			fprintf(o, " transform=\"rotate(%.1f %.1f %.1f)\">", -ang, tx, ty);
		xml_text(o, v);
		fputs("</text>\n", o);
	}
	for (int i = 0; i < r->n_pts; i++) {
		const struct rep_roof_pt *p = &r->pts[i];
		if (!(p->intensity > 0) || !(p->gflops > 0))
			continue;
		const char *col = rep_series_color(p->model);
		double x = XR(p->intensity), y = YR(p->gflops);
		if (p->prefill)
			fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\" "
				"stroke=\"var(--chart-bg,#fff)\"/>\n", x - 5, y - 5, col);
		else
			fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" "
				"stroke=\"var(--chart-bg,#fff)\"/>\n", x, y, col);
	}
	fputs("</g>\n", o);
	int row = 0;
	for (int i = 0; i < r->n_top; i++) {
		char lab[160];
		snprintf(lab, sizeof lab, "%s %s", r->top[i].model->id, r->top[i].weights->quant);
		legend_line(o, row++, rep_series_color(i), 0, lab, NULL);
	}
	row++;
	{
		char m[200];
		double y = PT + 8 + row * 22;
		snprintf(m, sizeof m, "<circle cx=\"%d\" cy=\"%.1f\" r=\"6\" class=\"fg\"/>", LEGX + 13, y);
		fprintf(o, "%s<text class=\"fg\" x=\"%d\" y=\"%.1f\">decode (one token)</text>\n", m,
			LEGX + 34, y + 4);
		row++;
		y = PT + 8 + row * 22;
		fprintf(o, "<rect x=\"%d\" y=\"%.1f\" width=\"10\" height=\"10\" class=\"fg\"/>"
			"<text class=\"fg\" x=\"%d\" y=\"%.1f\">prefill (micro-batch)</text>\n", LEGX + 8,
			y - 5, LEGX + 34, y + 4);
		row++;
	}
	int any_ach = 0;
	for (int i = 0; i < r->n_ceil; i++)
		any_ach |= r->ceil[i].achieved;
	legend_line(o, row++, NULL, 0, "peak (measured or spec)", NULL);
	if (any_ach)
		legend_line(o, row++, NULL, 1, "achieved by the engine", NULL);
	(void)row;
#undef XR
#undef YR
	fputs("</svg>\n", o);
	return close_mem(o, &buf);
}

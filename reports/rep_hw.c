/* reports: the hardware description (llmcap.hardware/1) as JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"
#include "reports/rep_internal.h"

static void num(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
}

/* Rounded for people: GB/s and GFLOPS to 0.1, GiB to 0.01. */
static double r1(double v) { return isfinite(v) ? round(v * 10) / 10 : v; }
static double r2(double v) { return isfinite(v) ? round(v * 100) / 100 : v; }

static cJSON *hw_object(const struct hw_spec *h)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "schema", HW_SCHEMA);
	cJSON_AddStringToObject(o, "id", h->id);
	cJSON_AddStringToObject(o, "name", h->name);
	num(o, "price_usd", h->price_usd);
	if (h->price_date[0])
		cJSON_AddStringToObject(o, "price_date", h->price_date);
	num(o, "power_w", h->power_w);
	if (h->source[0])
		cJSON_AddStringToObject(o, "source", h->source);
	cJSON *host = cJSON_AddObjectToObject(o, "host");
	if (host) {
		cJSON_AddStringToObject(host, "cpu", h->host.cpu);
		cJSON_AddNumberToObject(host, "cores", h->host.cores);
		num(host, "memory_gb", r2(h->host.memory_gb));
		num(host, "memory_bandwidth_gbps", r1(h->host.memory_bandwidth_gbps));
		num(host, "fp32_gflops", r1(h->host.fp32_gflops));
		num(host, "int8_gops", r1(h->host.int8_gops));
	}
	cJSON *acc = cJSON_AddArrayToObject(o, "accelerators");
	for (int i = 0; acc && i < h->n_accel && i < HW_MAX_ACCEL; i++) {
		const struct hw_accel *a = &h->accel[i];
		cJSON *x = cJSON_CreateObject();
		if (!x)
			break;
		cJSON_AddStringToObject(x, "name", a->name);
		cJSON_AddStringToObject(x, "kind", a->kind);
		if (a->backend[0])
			cJSON_AddStringToObject(x, "backend", a->backend);
		num(x, "memory_gb", a->memory_gb);
		num(x, "memory_bandwidth_gbps", a->memory_bandwidth_gbps);
		num(x, "fp16_tflops", a->fp16_tflops);
		num(x, "int8_tops", a->int8_tops);
		cJSON_AddBoolToObject(x, "unified_memory", a->unified_memory);
		num(x, "link_gbps", a->link_gbps);
		cJSON_AddItemToArray(acc, x);
	}
	num(o, "storage_read_gbps", h->storage_read_gbps);
	if (h->measured) {
		cJSON *m = cJSON_AddObjectToObject(o, "measured");
		if (m) {
			char when[32] = "";
			time_t t = (time_t)h->measured_unix;
			struct tm tm;
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			cJSON_AddStringToObject(m, "when", when);
			cJSON_AddStringToObject(m, "how", h->measured_method);
			cJSON_AddStringToObject(m, "fingerprint", h->fingerprint);
			num(m, "memory_available_gb", r2(h->host.memory_available_gb));
			cJSON_AddStringToObject(m, "memory_bandwidth_gbps",
						probe_src_name(h->host.memory_bandwidth_src));
			cJSON_AddStringToObject(m, "fp32_gflops", probe_src_name(h->host.fp32_src));
			cJSON_AddStringToObject(m, "int8_gops", probe_src_name(h->host.int8_src));
			cJSON *acc_src = cJSON_AddArrayToObject(m, "accelerators");
			for (int i = 0; acc_src && i < h->n_accel && i < HW_MAX_ACCEL; i++) {
				const struct hw_accel *a = &h->accel[i];
				cJSON *x = cJSON_CreateObject();
				if (!x)
					break;
				cJSON_AddStringToObject(x, "memory_bandwidth_gbps",
							probe_src_name(a->memory_bandwidth_src));
				cJSON_AddStringToObject(x, "fp16_tflops", probe_src_name(a->fp16_src));
				cJSON_AddStringToObject(x, "link_gbps", probe_src_name(a->link_src));
				cJSON_AddItemToArray(acc_src, x);
			}
		}
	}
	return o;
}

static char *print(cJSON *o, int pretty)
{
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

char *rep_hw_json(const struct hw_spec *h, int pretty)
{
	cJSON *o = hw_object(h);
	return o ? print(o, pretty) : NULL;
}

char *rep_probe_json(const struct probe_profile *p, const struct hw_spec *h, int pretty)
{
	cJSON *o = rep_profile_cjson(p);
	cJSON *hw = o ? hw_object(h) : NULL;
	if (!hw) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddItemToObject(o, "hardware", hw);
	return print(o, pretty);
}

char *rep_hw_catalog_json(const struct hw_spec *const *list, int n, int pretty)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "hardware") : NULL;
	if (!arr || !cJSON_AddStringToObject(o, "schema", HW_CATALOG_SCHEMA)) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddStringToObject(o, "figures", "spec, from each entry's source; fp16_tflops dense "
				"(no sparsity); prices are list/launch prices in USD with their month");
	for (int i = 0; i < n; i++) {
		cJSON *x = hw_object(list[i]);
		if (!x) {
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToArray(arr, x);
	}
	return print(o, pretty);
}

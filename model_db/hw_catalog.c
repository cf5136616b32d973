/*
 * model_db: the hardware catalog. Parses and validates llmcap.hardware/1
 * objects (DESIGN.md) from the built-in catalog (model_db/data/
 * hardware.json, compiled in), from user files under
 * $XDG_CONFIG_HOME/llmcap/hardware/ and from --hw FILE, into struct
 * hw_spec. Every error names the input, the entry id, the field and what
 * was expected.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "model_db/model_db.h"

extern const char mdb_data_hardware[];
extern const unsigned long mdb_data_hardware_len;

#define BUILTIN "built-in catalog"
#define CATALOG_SCHEMA "llmcap.hardware-catalog/1"
#define MAX_FILE_BYTES (4u << 20)
#define MAX_ENTRIES 10000

/* Where an entry is being read: for messages. */
struct ctx {
	const char *origin;
	char id[64];
	int index;                   /* position in a catalog, -1 for a single object */
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		char what[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof what, fmt, ap);
		va_end(ap);
		char entry[96];
		if (c->id[0])
			snprintf(entry, sizeof entry, "entry \"%s\"", c->id);
		else if (c->index >= 0)
			snprintf(entry, sizeof entry, "entry #%d (no valid id)", c->index + 1);
		else
			snprintf(entry, sizeof entry, "entry (no valid id)");
		snprintf(c->err, c->errlen, "%s: %s: field \"%s\": %s", c->origin, entry, field, what);
	}
	return -2;
}

static const char *type_name(const cJSON *j)
{
	if (!j)
		return "nothing";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsObject(j))
		return "an object";
	return "an invalid value";
}

/* A string field into dst (size n). required: absent is an error. */
static int get_str(struct ctx *c, const cJSON *o, const char *key, const char *field,
		   int required, char *dst, size_t n)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!j) {
		if (required)
			return fail(c, field, "missing; expected a string");
		dst[0] = 0;
		return 0;
	}
	if (!cJSON_IsString(j) || !j->valuestring)
		return fail(c, field, "expected a string, got %s", type_name(j));
	size_t len = strlen(j->valuestring);
	if (required && len == 0)
		return fail(c, field, "expected a non-empty string");
	if (len >= n)
		return fail(c, field, "expected a string of at most %zu bytes, got %zu", n - 1, len);
	memcpy(dst, j->valuestring, len + 1);
	return 0;
}

enum range { GT0, GE0 };

/* A number field: absent -> NAN (or an error when required); must be
 * finite, in range and at most max. */
static int get_num(struct ctx *c, const cJSON *o, const char *key, const char *field,
		   int required, enum range r, double max, double *dst)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	*dst = NAN;
	if (!j) {
		if (required)
			return fail(c, field, "missing; expected a number %s", r == GT0 ? "> 0" : ">= 0");
		return 0;
	}
	if (!cJSON_IsNumber(j))
		return fail(c, field, "expected a number, got %s", type_name(j));
	double v = j->valuedouble;
	if (!isfinite(v) || (r == GT0 ? !(v > 0) : !(v >= 0)) || v > max)
		return fail(c, field, "expected a number %s and at most %g, got %g",
			    r == GT0 ? "> 0" : ">= 0", max, v);
	*dst = v;
	return 0;
}

static int valid_id(const char *s)
{
	if (!s[0])
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static int valid_month(const char *s)
{
	if (strlen(s) != 7 || s[4] != '-')
		return 0;
	for (int i = 0; i < 7; i++)
		if (i != 4 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int y = atoi(s), m = atoi(s + 5);
	return y >= 1990 && y <= 2100 && m >= 1 && m <= 12;
}

static int parse_accel(struct ctx *c, const cJSON *o, int i, const struct hw_host *host,
		       struct hw_accel *a)
{
	char f[64];
#define FLD(k) (snprintf(f, sizeof f, "accelerators[%d].%s", i, k), f)
	if (!cJSON_IsObject(o)) {
		snprintf(f, sizeof f, "accelerators[%d]", i);
		return fail(c, f, "expected an object, got %s", type_name(o));
	}
	if (get_str(c, o, "name", FLD("name"), 1, a->name, sizeof a->name) ||
	    get_str(c, o, "kind", FLD("kind"), 1, a->kind, sizeof a->kind))
		return -2;
	if (strcmp(a->kind, "gpu") && strcmp(a->kind, "npu"))
		return fail(c, FLD("kind"), "expected \"gpu\" or \"npu\", got \"%s\"", a->kind);
	if (get_str(c, o, "backend", FLD("backend"), 0, a->backend, sizeof a->backend))
		return -2;
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "unified_memory");
	if (u && !cJSON_IsBool(u))
		return fail(c, FLD("unified_memory"), "expected true or false, got %s", type_name(u));
	a->unified_memory = u && cJSON_IsTrue(u);
	int req = !a->unified_memory;
	if (get_num(c, o, "memory_gb", FLD("memory_gb"), req, GE0, 1e6, &a->memory_gb) ||
	    get_num(c, o, "memory_bandwidth_gbps", FLD("memory_bandwidth_gbps"), req, GT0, 1e6,
		    &a->memory_bandwidth_gbps) ||
	    get_num(c, o, "fp16_tflops", FLD("fp16_tflops"), 0, GT0, 1e6, &a->fp16_tflops) ||
	    get_num(c, o, "int8_tops", FLD("int8_tops"), 0, GT0, 1e7, &a->int8_tops) ||
	    get_num(c, o, "link_gbps", FLD("link_gbps"), 0, GT0, 1e6, &a->link_gbps))
		return -2;
	if (a->unified_memory) {
		/* shares the host's memory and bandwidth */
		if (isnan(a->memory_gb))
			a->memory_gb = host->memory_gb;
		if (isnan(a->memory_bandwidth_gbps))
			a->memory_bandwidth_gbps = host->memory_bandwidth_gbps;
		if (a->memory_gb > host->memory_gb)
			return fail(c, FLD("memory_gb"),
				    "a unified-memory accelerator shares the host's memory: expected "
				    "at most host.memory_gb (%g), got %g", host->memory_gb, a->memory_gb);
	}
#undef FLD
	return 0;
}

/* One llmcap.hardware/1 object. */
static int parse_object(struct ctx *c, const cJSON *o, struct hw_spec *h)
{
	mdb_hw_init(h);
	c->id[0] = 0;
	if (!cJSON_IsObject(o))
		return fail(c, "(top level)", "expected a llmcap.hardware/1 object, got %s",
			    type_name(o));
	/* the id first, so later messages can name the entry */
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (!id)
		return fail(c, "id", "missing; expected a string of a-z 0-9 - _ . (at most %zu bytes)",
			    sizeof h->id - 1);
	if (!cJSON_IsString(id) || !id->valuestring)
		return fail(c, "id", "expected a string, got %s", type_name(id));
	if (strlen(id->valuestring) >= sizeof h->id || !valid_id(id->valuestring))
		return fail(c, "id", "expected 1 to %zu of a-z 0-9 - _ . , got \"%.40s\"",
			    sizeof h->id - 1, id->valuestring);
	snprintf(c->id, sizeof c->id, "%s", id->valuestring);
	memcpy(h->id, c->id, strlen(c->id) + 1);

	char schema[40];
	if (get_str(c, o, "schema", "schema", 1, schema, sizeof schema))
		return -2;
	if (strcmp(schema, HW_SCHEMA))
		return fail(c, "schema", "expected \"%s\", got \"%s\"", HW_SCHEMA, schema);
	if (!strcmp(h->id, "this"))
		return fail(c, "id", "\"this\" is reserved for the probed machine; choose another id");
	if (get_str(c, o, "name", "name", 1, h->name, sizeof h->name) ||
	    get_str(c, o, "source", "source", 0, h->source, sizeof h->source) ||
	    get_num(c, o, "price_usd", "price_usd", 0, GE0, 1e8, &h->price_usd) ||
	    get_str(c, o, "price_date", "price_date", 0, h->price_date, sizeof h->price_date) ||
	    get_num(c, o, "power_w", "power_w", 0, GT0, 1e6, &h->power_w) ||
	    get_num(c, o, "storage_read_gbps", "storage_read_gbps", 0, GT0, 1e4,
		    &h->storage_read_gbps))
		return -2;
	if (h->price_date[0] && !valid_month(h->price_date))
		return fail(c, "price_date", "expected \"YYYY-MM\", got \"%s\"", h->price_date);

	const cJSON *host = cJSON_GetObjectItemCaseSensitive(o, "host");
	if (!host)
		return fail(c, "host", "missing; expected an object with cores, memory_gb and "
			    "memory_bandwidth_gbps");
	if (!cJSON_IsObject(host))
		return fail(c, "host", "expected an object, got %s", type_name(host));
	if (get_str(c, host, "cpu", "host.cpu", 0, h->host.cpu, sizeof h->host.cpu))
		return -2;
	double cores;
	if (get_num(c, host, "cores", "host.cores", 1, GT0, 100000, &cores))
		return -2;
	if (cores != floor(cores))
		return fail(c, "host.cores", "expected a whole number, got %g", cores);
	h->host.cores = (int)cores;
	if (get_num(c, host, "memory_gb", "host.memory_gb", 1, GT0, 1e6, &h->host.memory_gb) ||
	    get_num(c, host, "memory_bandwidth_gbps", "host.memory_bandwidth_gbps", 1, GT0, 1e6,
		    &h->host.memory_bandwidth_gbps) ||
	    get_num(c, host, "fp32_gflops", "host.fp32_gflops", 0, GT0, 1e9, &h->host.fp32_gflops) ||
	    get_num(c, host, "int8_gops", "host.int8_gops", 0, GT0, 1e9, &h->host.int8_gops))
		return -2;
	h->host.memory_bandwidth_src = h->host.fp32_src = h->host.int8_src = PROBE_SRC_SPEC;

	const cJSON *acc = cJSON_GetObjectItemCaseSensitive(o, "accelerators");
	if (acc) {
		if (!cJSON_IsArray(acc))
			return fail(c, "accelerators", "expected an array, got %s", type_name(acc));
		int n = 0;
		for (const cJSON *x = acc->child; x; x = x->next)
			if (++n > HW_MAX_ACCEL)
				return fail(c, "accelerators", "expected at most %d entries",
					    HW_MAX_ACCEL);
		int i = 0;
		for (const cJSON *x = acc->child; x; x = x->next, i++)
			if (parse_accel(c, x, i, &h->host, &h->accel[i]))
				return -2;
		h->n_accel = n;
	}
	return 0;
}

static cJSON *parse_json(struct ctx *c, const char *text, size_t len)
{
	cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
		fail(c, "(top level)", "not valid JSON (near byte %zu)", off);
	}
	return j;
}

int mdb_hw_parse(const char *text, size_t len, const char *origin,
		 struct hw_spec *out, char *err, size_t errlen)
{
	struct ctx c = {origin ? origin : "input", "", -1, err, errlen};
	cJSON *j = parse_json(&c, text, len);
	if (!j) {
		mdb_hw_init(out);
		return -2;
	}
	int rc = parse_object(&c, j, out);
	cJSON_Delete(j);
	return rc;
}

void mdb_hw_catalog_free(struct mdb_hw_catalog *c)
{
	free(c->items);
	c->items = NULL;
	c->n = c->n_builtin = 0;
}

const struct hw_spec *mdb_hw_catalog_find(const struct mdb_hw_catalog *c, const char *id)
{
	for (int i = 0; id && i < c->n; i++)
		if (!strcmp(c->items[i].id, id))
			return &c->items[i];
	return NULL;
}

/* Adds h; a duplicate id is an error within one source (dup_is_error),
 * a replacement otherwise. 0, -1 OOM, -2. */
static int add(struct mdb_hw_catalog *c, int *cap, const struct hw_spec *h,
	       int dup_is_error, struct ctx *x)
{
	for (int i = 0; i < c->n; i++) {
		if (strcmp(c->items[i].id, h->id))
			continue;
		if (dup_is_error || i >= c->n_builtin)
			return fail(x, "id", "duplicate id \"%s\"; ids must be unique", h->id);
		c->items[i] = *h;
		return 0;
	}
	if (c->n >= MAX_ENTRIES)
		return fail(x, "(top level)", "expected at most %d catalog entries", MAX_ENTRIES);
	if (c->n == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		struct hw_spec *p = realloc(c->items, (size_t)ncap * sizeof *p);
		if (!p) {
			if (x->err && x->errlen)
				snprintf(x->err, x->errlen, "out of memory loading the hardware catalog");
			return -1;
		}
		c->items = p;
		*cap = ncap;
	}
	c->items[c->n++] = *h;
	return 0;
}

/* A catalog text: {"schema": "llmcap.hardware-catalog/1", "hardware": [...]}
 * or a single llmcap.hardware/1 object. */
static int load_text(struct mdb_hw_catalog *c, int *cap, const char *text, size_t len,
		     const char *origin, int dup_is_error, char *err, size_t errlen)
{
	struct ctx x = {origin, "", -1, err, errlen};
	struct hw_spec *h = malloc(sizeof *h);
	if (!h) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory loading the hardware catalog");
		return -1;
	}
	cJSON *j = parse_json(&x, text, len);
	int rc = -2;
	if (!j)
		goto out;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "schema");
	if (cJSON_IsString(s) && s->valuestring && !strcmp(s->valuestring, CATALOG_SCHEMA)) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "hardware");
		if (!cJSON_IsArray(arr)) {
			rc = fail(&x, "hardware", "expected an array of llmcap.hardware/1 objects, "
				  "got %s", type_name(arr));
			goto out;
		}
		x.index = 0;
		for (const cJSON *e = arr->child; e; e = e->next, x.index++) {
			if ((rc = parse_object(&x, e, h)) || (rc = add(c, cap, h, dup_is_error, &x)))
				goto out;
		}
		rc = 0;
	} else {
		if ((rc = parse_object(&x, j, h)) == 0)
			rc = add(c, cap, h, dup_is_error, &x);
	}
out:
	cJSON_Delete(j);
	free(h);
	return rc;
}

int mdb_hw_catalog_load_builtin(struct mdb_hw_catalog *c, char *err, size_t errlen)
{
	int cap = 0;
	c->items = NULL;
	c->n = c->n_builtin = 0;
	int rc = load_text(c, &cap, mdb_data_hardware, mdb_data_hardware_len, BUILTIN, 1,
			   err, errlen);
	if (rc)
		mdb_hw_catalog_free(c);
	else
		c->n_builtin = c->n;
	return rc;
}

int mdb_hw_user_dir(char *buf, size_t n)
{
	const char *x = getenv("XDG_CONFIG_HOME");
	if (x && x[0] == '/') {
		snprintf(buf, n, "%s/llmcap/hardware", x);
		return 0;
	}
	const char *home = getenv("HOME");
	if (!home || !home[0])
		return -1;
	snprintf(buf, n, "%s/.config/llmcap/hardware", home);
	return 0;
}

/* Reads a whole regular file of at most MAX_FILE_BYTES. 0, or -2 with err. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -2;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
		if (err && errlen)
			snprintf(err, errlen, "%s: expected a regular file of at most %u bytes",
				 path, MAX_FILE_BYTES);
		fclose(f);
		return -2;
	}
	char *b = malloc((size_t)st.st_size + 1);
	if (!b) {
		fclose(f);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	size_t got = fread(b, 1, (size_t)st.st_size, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		return -2;
	}
	b[got] = 0;
	*out = b;
	*len = got;
	return 0;
}

static int json_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

int mdb_hw_catalog_load(struct mdb_hw_catalog *c, char *err, size_t errlen)
{
	int rc = mdb_hw_catalog_load_builtin(c, err, errlen);
	if (rc)
		return rc;
	int cap = c->n;
	char dir[4096];
	if (mdb_hw_user_dir(dir, sizeof dir) != 0)
		return 0;
	struct dirent **list = NULL;
	int n = scandir(dir, &list, json_name, alphasort);
	if (n < 0)
		return 0;                    /* no user directory: nothing added */
	for (int i = 0; i < n; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		char *text = NULL;
		size_t len = 0;
		if (rc == 0 && (rc = read_file(path, &text, &len, err, errlen)) == 0) {
			rc = load_text(c, &cap, text, len, path, 0, err, errlen);
			if (rc == -2 && err && errlen) {
				size_t l = strlen(err);
				snprintf(err + l, errlen - l, " (fix or remove this user hardware file)");
			}
		}
		free(text);
		free(list[i]);
	}
	free(list);
	if (rc)
		mdb_hw_catalog_free(c);
	return rc;
}

int mdb_hw_resolve(const char *h, struct hw_spec *out, char *err, size_t errlen)
{
	if (!h || !h[0]) {
		if (err && errlen)
			snprintf(err, errlen, "--hw: expected this, a catalog id or a hardware JSON file");
		return -2;
	}
	if (!strcmp(h, "this"))
		return MDB_HW_THIS;
	int looks_like_path = strchr(h, '/') || strstr(h, ".json");
	if (!looks_like_path) {
		struct mdb_hw_catalog c;
		int rc = mdb_hw_catalog_load(&c, err, errlen);
		if (rc)
			return rc;
		const struct hw_spec *e = mdb_hw_catalog_find(&c, h);
		if (e)
			*out = *e;
		mdb_hw_catalog_free(&c);
		if (e)
			return 0;
		struct stat st;
		if (stat(h, &st) != 0) {
			if (err && errlen)
				snprintf(err, errlen, "--hw %s: not a catalog id ('llmcap hardware' "
					 "lists them) nor a hardware JSON file", h);
			return -2;
		}
	}
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(h, &text, &len, err, errlen);
	if (rc == 0)
		rc = mdb_hw_parse(text, len, h, out, err, errlen);
	free(text);
	return rc;
}

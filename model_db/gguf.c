/*
 * model_db: the GGUF reader. See model_db/gguf.h for the contract and
 * ggml's docs/gguf.md for the format:
 *
 *   "GGUF" u32 version | u64 tensor_count | u64 kv_count
 *   kv_count x (string key, u32 value type, value)
 *   tensor_count x (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type,
 *                   u64 offset relative to the data section)
 *   padding to general.alignment (default 32) | tensor data
 *
 * A string is a u64 length and that many bytes (no NUL). An array is a u32
 * element type, a u64 count and the elements. Every read goes through
 * struct rd, which checks the bytes remain before touching them; a count
 * is compared with what remains before anything is allocated for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_db/model_db.h"

#define MAX_NEST 4  /* arrays of arrays: deeper nesting is refused */

/* ---- ggml types: elements per block, bytes per block ------------------ */
struct ggml_type_info {
	const char *name;
	uint16_t block;
	uint16_t bytes;
};

/* Indexed by ggml type; checked against ggml's ggml.h / ggml-common.h. */
static const struct ggml_type_info ggml_types[] = {
	[0] = {"F32", 1, 4},         [1] = {"F16", 1, 2},
	[2] = {"Q4_0", 32, 18},      [3] = {"Q4_1", 32, 20},
	[6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},
	[8] = {"Q8_0", 32, 34},      [9] = {"Q8_1", 32, 36},
	[10] = {"Q2_K", 256, 84},    [11] = {"Q3_K", 256, 110},
	[12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
	[14] = {"Q6_K", 256, 210},   [15] = {"Q8_K", 256, 292},
	[16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
	[18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
	[20] = {"IQ4_NL", 32, 18},   [21] = {"IQ3_S", 256, 110},
	[22] = {"IQ2_S", 256, 82},   [23] = {"IQ4_XS", 256, 136},
	[24] = {"I8", 1, 1},         [25] = {"I16", 1, 2},
	[26] = {"I32", 1, 4},        [27] = {"I64", 1, 8},
	[28] = {"F64", 1, 8},        [29] = {"IQ1_M", 256, 56},
	[30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},
	[35] = {"TQ2_0", 256, 66},   [39] = {"MXFP4", 32, 17},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *mdb_gguf_type_name(uint32_t t)
{
	return t < N_GGML_TYPES ? ggml_types[t].name : NULL;
}

int mdb_gguf_type_size(uint32_t t, uint32_t *block, uint32_t *bytes)
{
	if (!mdb_gguf_type_name(t))
		return -1;
	if (block)
		*block = ggml_types[t].block;
	if (bytes)
		*bytes = ggml_types[t].bytes;
	return 0;
}

/* ---- value types ------------------------------------------------------ */
static const char *const vtype_names[] = {
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
	"STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};
/* Bytes of a fixed-size value; 0 for STRING and ARRAY. */
static const uint8_t vtype_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
#define N_VTYPES 13

const char *mdb_gguf_vtype_name(enum mdb_gguf_vtype t)
{
	return (unsigned)t < N_VTYPES ? vtype_names[t] : "?";
}

/* ---- the handle ------------------------------------------------------- */
struct kv {
	char *key;
	uint32_t type;
	uint64_t off;     /* value; for an array, its first element */
	uint32_t elem;    /* arrays: element type and count */
	uint64_t count;
};

struct mdb_gguf {
	const uint8_t *p;
	uint64_t size;
	void *map;        /* non-NULL when mmapped by mdb_gguf_open */
	size_t map_len;
	uint32_t version, alignment;
	uint64_t data_offset;
	int64_t n_kv, n_tensors;
	struct kv *kv;                    /* (n_kv) */
	struct mdb_gguf_tensor *t;        /* (n_tensors) */
	uint64_t total_params, total_bytes;
};

/* ---- bounds-checked reading ------------------------------------------- */
struct rd {
	const uint8_t *p;
	uint64_t size, pos;
	const char *name;
	char *err;
	size_t errlen;
};

static int bad(struct rd *r, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct rd *r, uint64_t at, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		char what[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof what, fmt, ap);
		va_end(ap);
		snprintf(r->err, r->errlen, "%s: %s at byte %llu; %s", r->name, what,
			 (unsigned long long)at, MDB_GGUF_FIX);
	}
	return -2;
}

static uint64_t left(const struct rd *r)
{
	return r->size - r->pos;
}

static int need(struct rd *r, uint64_t n, const char *what)
{
	if (n > left(r))
		return bad(r, r->pos, "%s needs %llu bytes but the file ends after %llu", what,
			   (unsigned long long)n, (unsigned long long)left(r));
	return 0;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what)
{
	if (need(r, 4, what))
		return -2;
	*v = (uint32_t)le(r->p + r->pos, 4);
	r->pos += 4;
	return 0;
}

static int rd_u64(struct rd *r, uint64_t *v, const char *what)
{
	if (need(r, 8, what))
		return -2;
	*v = le(r->p + r->pos, 8);
	r->pos += 8;
	return 0;
}

/* A string: its bytes start at *off and are *len long. */
static int rd_str(struct rd *r, uint64_t *off, uint64_t *len, const char *what)
{
	uint64_t at = r->pos;
	if (rd_u64(r, len, what))
		return -2;
	if (*len > left(r))
		return bad(r, at, "%s is %llu bytes long but the file ends after %llu", what,
			   (unsigned long long)*len, (unsigned long long)left(r));
	*off = r->pos;
	r->pos += *len;
	return 0;
}

static char *dup_bytes(const uint8_t *p, uint64_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Skips the elements of an array whose type and count were just read. */
static int skip_value(struct rd *r, uint32_t type, int depth, const char *what);

static int skip_array(struct rd *r, uint32_t elem, uint64_t count, uint64_t at, int depth,
		      const char *what)
{
	if (elem >= N_VTYPES)
		return bad(r, at, "%s: unknown array element type %u", what, elem);
	if (elem == MDB_GGUF_ARRAY && depth + 1 >= MAX_NEST)
		return bad(r, at, "%s: arrays nested deeper than %d levels", what, MAX_NEST);
	/* the least bytes one element takes: a string its length, an array
	 * its element type and count */
	uint64_t min = elem == MDB_GGUF_STRING ? 8 : elem == MDB_GGUF_ARRAY ? 12 : vtype_size[elem];
	if (count > left(r) / min)
		return bad(r, at, "%s: array of %llu %s needs at least %llu bytes per element "
			   "but the file ends after %llu", what, (unsigned long long)count,
			   vtype_names[elem], (unsigned long long)min, (unsigned long long)left(r));
	if (elem != MDB_GGUF_STRING && elem != MDB_GGUF_ARRAY) {
		r->pos += count * min;
		return 0;
	}
	for (uint64_t j = 0; j < count; j++)
		if (skip_value(r, elem, depth + 1, what))
			return -2;
	return 0;
}

static int skip_value(struct rd *r, uint32_t type, int depth, const char *what)
{
	uint64_t at = r->pos, off, len, count;
	uint32_t elem;
	switch (type) {
	case MDB_GGUF_STRING:
		return rd_str(r, &off, &len, what);
	case MDB_GGUF_ARRAY:
		if (rd_u32(r, &elem, what) || rd_u64(r, &count, what))
			return -2;
		return skip_array(r, elem, count, at, depth, what);
	default:
		return need(r, vtype_size[type], what) ? -2 : (r->pos += vtype_size[type], 0);
	}
}

/* ---- parsing ---------------------------------------------------------- */
static int parse_header(struct mdb_gguf *g, struct rd *r, uint64_t *n_tensors, uint64_t *n_kv)
{
	if (r->size < 4)
		return bad(r, 0, "the file is %llu bytes, too short for the GGUF magic",
			   (unsigned long long)r->size);
	if (memcmp(r->p, "GGUF", 4) != 0) {
		char m[16];
		for (int i = 0; i < 4; i++)
			m[i] = r->p[i] >= 0x20 && r->p[i] < 0x7f ? (char)r->p[i] : '.';
		m[4] = 0;
		return bad(r, 0, "the magic is \"%s\" (%02x %02x %02x %02x), not \"GGUF\"", m,
			   r->p[0], r->p[1], r->p[2], r->p[3]);
	}
	r->pos = 4;
	if (rd_u32(r, &g->version, "the version"))
		return -2;
	if (g->version == 1) {
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen,
				 "%s: GGUF version 1 (at byte 4) is not supported, only versions 2 "
				 "and 3; convert the model again with a current llama.cpp or "
				 "download a recent GGUF", r->name);
		return -2;
	}
	if (g->version != 2 && g->version != 3) {
		uint32_t sw = __builtin_bswap32(g->version);
		if (sw == 2 || sw == 3)
			return bad(r, 4, "big-endian GGUF (version %u byte-swapped) is not supported",
				   sw);
		return bad(r, 4, "version %u is not supported (only 2 and 3)", g->version);
	}
	if (rd_u64(r, n_tensors, "the tensor count") || rd_u64(r, n_kv, "the metadata count"))
		return -2;
	/* a key/value pair takes at least 13 bytes (key length, type, a byte),
	 * a tensor info at least 28 (name length, n_dims, one dim, type, offset) */
	if (*n_kv > left(r) / 13)
		return bad(r, 16, "the metadata count %llu needs at least 13 bytes per entry but "
			   "the file ends after %llu", (unsigned long long)*n_kv,
			   (unsigned long long)left(r));
	if (*n_tensors > left(r) / 28)
		return bad(r, 8, "the tensor count %llu needs at least 28 bytes per tensor but the "
			   "file ends after %llu", (unsigned long long)*n_tensors,
			   (unsigned long long)left(r));
	return 0;
}

static int parse_kvs(struct mdb_gguf *g, struct rd *r, uint64_t n)
{
	g->kv = calloc(n ? n : 1, sizeof *g->kv);
	if (!g->kv)
		return bad(r, r->pos, "out of memory for %llu keys", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		struct kv *kv = &g->kv[i];
		uint64_t at = r->pos, off, len;
		char what[96];
		snprintf(what, sizeof what, "the key of metadata entry %llu", (unsigned long long)i);
		if (rd_str(r, &off, &len, what))
			return -2;
		kv->key = dup_bytes(r->p + off, len);
		if (!kv->key)
			return bad(r, at, "out of memory");
		g->n_kv = (int64_t)i + 1;
		snprintf(what, sizeof what, "the value of \"%.60s\"", kv->key);
		uint64_t tat = r->pos;
		if (rd_u32(r, &kv->type, what))
			return -2;
		if (kv->type >= N_VTYPES)
			return bad(r, tat, "%s has unknown value type %u", what, kv->type);
		kv->off = r->pos;
		if (kv->type == MDB_GGUF_ARRAY) {
			uint64_t aat = r->pos;
			if (rd_u32(r, &kv->elem, what) || rd_u64(r, &kv->count, what))
				return -2;
			kv->off = r->pos;
			if (skip_array(r, kv->elem, kv->count, aat, 0, what))
				return -2;
		} else if (skip_value(r, kv->type, 0, what)) {
			return -2;
		}
	}
	return 0;
}

static int parse_alignment(struct mdb_gguf *g, struct rd *r)
{
	g->alignment = MDB_GGUF_DEFAULT_ALIGNMENT;
	int64_t i = mdb_gguf_find(g, "general.alignment");
	if (i < 0)
		return 0;
	const struct kv *kv = &g->kv[i];
	if (kv->type != MDB_GGUF_UINT32)
		return bad(r, kv->off, "general.alignment is %s, not UINT32",
			   vtype_names[kv->type]);
	uint32_t a = (uint32_t)le(r->p + kv->off, 4);
	if (a == 0 || (a & (a - 1)) != 0)
		return bad(r, kv->off, "general.alignment is %u, not a power of two", a);
	g->alignment = a;
	return 0;
}

static int parse_tensor(struct mdb_gguf *g, struct rd *r, uint64_t i)
{
	struct mdb_gguf_tensor *t = &g->t[i];
	uint64_t at = r->pos, off, len;
	char what[120];
	snprintf(what, sizeof what, "the name of tensor %llu", (unsigned long long)i);
	if (rd_str(r, &off, &len, what))
		return -2;
	char *name = dup_bytes(r->p + off, len);
	if (!name)
		return bad(r, at, "out of memory");
	t->name = name;
	g->n_tensors = (int64_t)i + 1;
	snprintf(what, sizeof what, "tensor \"%.60s\"", name);
	at = r->pos;
	if (rd_u32(r, &t->n_dims, what))
		return -2;
	if (t->n_dims == 0)
		return bad(r, at, "%s has 0 dimensions", what);
	if (t->n_dims > MDB_GGUF_MAX_DIMS)
		return bad(r, at, "%s has %u dimensions, more than %d", what, t->n_dims,
			   MDB_GGUF_MAX_DIMS);
	uint64_t n = 1;
	for (int d = 0; d < MDB_GGUF_MAX_DIMS; d++)
		t->dims[d] = 1;
	for (uint32_t d = 0; d < t->n_dims; d++) {
		at = r->pos;
		if (rd_u64(r, &t->dims[d], what))
			return -2;
		if (t->dims[d] == 0)
			return bad(r, at, "%s: dimension %u is 0", what, d);
		if (t->dims[d] > (uint64_t)INT64_MAX / n)
			return bad(r, at, "%s: the element count overflows (dimension %u is %llu)",
				   what, d, (unsigned long long)t->dims[d]);
		n *= t->dims[d];
	}
	t->n_elements = n;
	at = r->pos;
	uint32_t block, bsize;
	if (rd_u32(r, &t->type, what))
		return -2;
	if (mdb_gguf_type_size(t->type, &block, &bsize) != 0)
		return bad(r, at, "%s has unknown ggml type %u", what, t->type);
	if (t->dims[0] % block != 0)
		return bad(r, at, "%s: its first dimension %llu is not a multiple of the %s block "
			   "size %u", what, (unsigned long long)t->dims[0], ggml_types[t->type].name,
			   block);
	if (n / block > UINT64_MAX / bsize)
		return bad(r, at, "%s: its size in bytes overflows", what);
	t->bytes = n / block * bsize;
	at = r->pos;
	if (rd_u64(r, &t->offset, what))
		return -2;
	if (t->offset % g->alignment != 0)
		return bad(r, at, "%s: its data offset %llu is not a multiple of the alignment %u",
			   what, (unsigned long long)t->offset, g->alignment);
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct mdb_gguf_tensor *x = *(const struct mdb_gguf_tensor *const *)a;
	const struct mdb_gguf_tensor *y = *(const struct mdb_gguf_tensor *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every tensor's data inside the file, no two overlapping. info_at is the
 * byte offset of the first tensor info (for messages). */
static int check_ranges(struct mdb_gguf *g, struct rd *r, uint64_t info_at)
{
	uint64_t room = g->data_offset <= g->size ? g->size - g->data_offset : 0;
	for (int64_t i = 0; i < g->n_tensors; i++) {
		const struct mdb_gguf_tensor *t = &g->t[i];
		if (t->offset > room || t->bytes > room - t->offset)
			return bad(r, info_at, "tensor \"%.60s\": its data (%llu bytes at offset %llu "
				   "of the data section, which starts at byte %llu) lies past the end "
				   "of the file (%llu bytes)", t->name, (unsigned long long)t->bytes,
				   (unsigned long long)t->offset, (unsigned long long)g->data_offset,
				   (unsigned long long)g->size);
		g->total_params += t->n_elements;
		g->total_bytes += t->bytes;
	}
	if (g->n_tensors < 2)
		return 0;
	const struct mdb_gguf_tensor **s = malloc((size_t)g->n_tensors * sizeof *s);
	if (!s)
		return bad(r, info_at, "out of memory");
	for (int64_t i = 0; i < g->n_tensors; i++)
		s[i] = &g->t[i];
	qsort(s, (size_t)g->n_tensors, sizeof *s, cmp_offset);
	int rc = 0;
	for (int64_t i = 1; i < g->n_tensors && rc == 0; i++)
		if (s[i - 1]->offset + s[i - 1]->bytes > s[i]->offset)
			rc = bad(r, g->data_offset + s[i]->offset,
				 "the data of tensors \"%.60s\" and \"%.60s\" overlap", s[i - 1]->name,
				 s[i]->name);
	free(s);
	return rc;
}

static int parse(struct mdb_gguf *g, struct rd *r)
{
	uint64_t n_tensors, n_kv;
	int rc = parse_header(g, r, &n_tensors, &n_kv);
	if (rc == 0)
		rc = parse_kvs(g, r, n_kv);
	if (rc == 0)
		rc = parse_alignment(g, r);
	if (rc != 0)
		return rc;
	if (n_tensors > left(r) / 28)
		return bad(r, 8, "the tensor count %llu needs at least 28 bytes per tensor but the "
			   "file ends after %llu (byte %llu)", (unsigned long long)n_tensors,
			   (unsigned long long)left(r), (unsigned long long)r->pos);
	g->t = calloc(n_tensors ? n_tensors : 1, sizeof *g->t);
	if (!g->t)
		return bad(r, r->pos, "out of memory for %llu tensors", (unsigned long long)n_tensors);
	uint64_t info_at = r->pos;
	for (uint64_t i = 0; i < n_tensors; i++)
		if ((rc = parse_tensor(g, r, i)) != 0)
			return rc;
	uint64_t a = g->alignment;
	g->data_offset = (r->pos + a - 1) / a * a;
	if (n_tensors > 0 && g->data_offset > g->size)
		return bad(r, r->pos, "the data section would start at byte %llu, past the end of "
			   "the file (%llu bytes)", (unsigned long long)g->data_offset,
			   (unsigned long long)g->size);
	return check_ranges(g, r, info_at);
}

int mdb_gguf_open_mem(struct mdb_gguf **out, const void *data, size_t size, const char *name,
		      char *err, size_t errlen)
{
	struct mdb_gguf *g = calloc(1, sizeof *g);
	if (!g) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name ? name : "GGUF");
		return -1;
	}
	g->p = data;
	g->size = size;
	struct rd r = {data, size, 0, name ? name : "GGUF", err, errlen};
	int rc = parse(g, &r);
	if (rc != 0) {
		mdb_gguf_close(g);
		return rc;
	}
	*out = g;
	return 0;
}

int mdb_gguf_open(struct mdb_gguf **out, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out_errno;
	struct stat st;
	if (fstat(fd, &st) != 0)
		goto out_close;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file; give the path of a .gguf file",
				 path);
		return -1;
	}
	void *map = NULL;
	size_t len = (size_t)st.st_size;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			goto out_close;
	}
	close(fd);
	static const uint8_t empty[1];
	int rc = mdb_gguf_open_mem(out, map ? map : empty, len, path, err, errlen);
	if (rc != 0) {
		if (map)
			munmap(map, len);
		return rc;
	}
	(*out)->map = map;
	(*out)->map_len = len;
	return 0;
out_close:;
	int e = errno;
	close(fd);
	errno = e;
out_errno:
	if (err && errlen)
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	return -1;
}

void mdb_gguf_close(struct mdb_gguf *g)
{
	if (!g)
		return;
	for (int64_t i = 0; i < g->n_kv; i++)
		free(g->kv[i].key);
	for (int64_t i = 0; i < g->n_tensors; i++)
		free((char *)g->t[i].name);
	free(g->kv);
	free(g->t);
	if (g->map)
		munmap(g->map, g->map_len);
	free(g);
}

/* ---- file ------------------------------------------------------------- */
uint32_t mdb_gguf_version(const struct mdb_gguf *g) { return g->version; }
uint32_t mdb_gguf_alignment(const struct mdb_gguf *g) { return g->alignment; }
uint64_t mdb_gguf_file_size(const struct mdb_gguf *g) { return g->size; }
uint64_t mdb_gguf_data_offset(const struct mdb_gguf *g) { return g->data_offset; }

uint64_t mdb_gguf_data_size(const struct mdb_gguf *g)
{
	return g->data_offset < g->size ? g->size - g->data_offset : 0;
}

/* ---- metadata --------------------------------------------------------- */
int64_t mdb_gguf_kv_count(const struct mdb_gguf *g) { return g->n_kv; }

static const struct kv *kv_at(const struct mdb_gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

const char *mdb_gguf_kv_key(const struct mdb_gguf *g, int64_t i)
{
	const struct kv *kv = kv_at(g, i);
	return kv ? kv->key : NULL;
}

enum mdb_gguf_vtype mdb_gguf_kv_type(const struct mdb_gguf *g, int64_t i)
{
	const struct kv *kv = kv_at(g, i);
	return kv ? (enum mdb_gguf_vtype)kv->type : (enum mdb_gguf_vtype)-1;
}

int64_t mdb_gguf_find(const struct mdb_gguf *g, const char *key)
{
	for (int64_t i = 0; i < g->n_kv; i++)
		if (strcmp(g->kv[i].key, key) == 0)
			return i;
	return -1;
}

/* A number of type t at p: as int64 (*iv, valid when *is_int) and double. */
static int num_at(const uint8_t *p, uint32_t t, int64_t *iv, uint64_t *uv, double *dv, int *kind)
{
	/* kind: 0 signed, 1 unsigned, 2 float */
	uint64_t raw;
	switch (t) {
	case MDB_GGUF_UINT8: case MDB_GGUF_BOOL: *uv = p[0]; *kind = 1; break;
	case MDB_GGUF_UINT16: *uv = le(p, 2); *kind = 1; break;
	case MDB_GGUF_UINT32: *uv = le(p, 4); *kind = 1; break;
	case MDB_GGUF_UINT64: *uv = le(p, 8); *kind = 1; break;
	case MDB_GGUF_INT8: *iv = (int8_t)p[0]; *kind = 0; break;
	case MDB_GGUF_INT16: *iv = (int16_t)le(p, 2); *kind = 0; break;
	case MDB_GGUF_INT32: *iv = (int32_t)le(p, 4); *kind = 0; break;
	case MDB_GGUF_INT64: raw = le(p, 8); memcpy(iv, &raw, 8); *kind = 0; break;
	case MDB_GGUF_FLOAT32: {
		uint32_t b = (uint32_t)le(p, 4);
		float f;
		memcpy(&f, &b, 4);
		*dv = f;
		*kind = 2;
		break;
	}
	case MDB_GGUF_FLOAT64: raw = le(p, 8); memcpy(dv, &raw, 8); *kind = 2; break;
	default: return -1;
	}
	return 0;
}

static int as_int(const uint8_t *p, uint32_t t, int64_t *v)
{
	int64_t iv = 0; uint64_t uv = 0; double dv = 0; int kind;
	if (num_at(p, t, &iv, &uv, &dv, &kind) || kind == 2)
		return -1;
	if (kind == 1) {
		if (uv > (uint64_t)INT64_MAX)
			return -1;
		iv = (int64_t)uv;
	}
	*v = iv;
	return 0;
}

static int as_float(const uint8_t *p, uint32_t t, double *v)
{
	int64_t iv = 0; uint64_t uv = 0; double dv = 0; int kind;
	if (num_at(p, t, &iv, &uv, &dv, &kind) || t == MDB_GGUF_BOOL)
		return -1;
	*v = kind == 2 ? dv : kind == 1 ? (double)uv : (double)iv;
	return 0;
}

int mdb_gguf_kv_int(const struct mdb_gguf *g, int64_t i, int64_t *v)
{
	const struct kv *kv = kv_at(g, i);
	return kv ? as_int(g->p + kv->off, kv->type, v) : -1;
}

int mdb_gguf_kv_uint(const struct mdb_gguf *g, int64_t i, uint64_t *v)
{
	const struct kv *kv = kv_at(g, i);
	int64_t iv = 0; uint64_t uv = 0; double dv = 0; int kind;
	if (!kv || kv->type == MDB_GGUF_BOOL
	    || num_at(g->p + kv->off, kv->type, &iv, &uv, &dv, &kind) || kind == 2)
		return -1;
	if (kind == 0) {
		if (iv < 0)
			return -1;
		uv = (uint64_t)iv;
	}
	*v = uv;
	return 0;
}

int mdb_gguf_kv_float(const struct mdb_gguf *g, int64_t i, double *v)
{
	const struct kv *kv = kv_at(g, i);
	return kv ? as_float(g->p + kv->off, kv->type, v) : -1;
}

int mdb_gguf_kv_bool(const struct mdb_gguf *g, int64_t i, int *v)
{
	const struct kv *kv = kv_at(g, i);
	if (!kv || kv->type != MDB_GGUF_BOOL)
		return -1;
	*v = g->p[kv->off] != 0;
	return 0;
}

const char *mdb_gguf_kv_str(const struct mdb_gguf *g, int64_t i, size_t *len)
{
	const struct kv *kv = kv_at(g, i);
	if (!kv || kv->type != MDB_GGUF_STRING)
		return NULL;
	if (len)
		*len = (size_t)le(g->p + kv->off, 8);
	return (const char *)g->p + kv->off + 8;
}

int mdb_gguf_kv_arr(const struct mdb_gguf *g, int64_t i, enum mdb_gguf_vtype *elem,
		    uint64_t *count)
{
	const struct kv *kv = kv_at(g, i);
	if (!kv || kv->type != MDB_GGUF_ARRAY)
		return -1;
	if (elem)
		*elem = (enum mdb_gguf_vtype)kv->elem;
	if (count)
		*count = kv->count;
	return 0;
}

/* The bytes of fixed-size element j, or NULL. */
static const uint8_t *elem_at(const struct mdb_gguf *g, int64_t i, uint64_t j, uint32_t *t)
{
	const struct kv *kv = kv_at(g, i);
	if (!kv || kv->type != MDB_GGUF_ARRAY || j >= kv->count || kv->elem >= N_VTYPES
	    || vtype_size[kv->elem] == 0)
		return NULL;
	*t = kv->elem;
	return g->p + kv->off + j * vtype_size[kv->elem];
}

int mdb_gguf_arr_int(const struct mdb_gguf *g, int64_t i, uint64_t j, int64_t *v)
{
	uint32_t t;
	const uint8_t *p = elem_at(g, i, j, &t);
	return p ? as_int(p, t, v) : -1;
}

int mdb_gguf_arr_float(const struct mdb_gguf *g, int64_t i, uint64_t j, double *v)
{
	uint32_t t;
	const uint8_t *p = elem_at(g, i, j, &t);
	return p ? as_float(p, t, v) : -1;
}

const char *mdb_gguf_arr_str(const struct mdb_gguf *g, int64_t i, uint64_t j, size_t *len)
{
	const struct kv *kv = kv_at(g, i);
	if (!kv || kv->type != MDB_GGUF_ARRAY || kv->elem != MDB_GGUF_STRING || j >= kv->count)
		return NULL;
	/* lengths were checked when the file was opened */
	uint64_t off = kv->off;
	for (uint64_t k = 0; k < j; k++)
		off += 8 + le(g->p + off, 8);
	if (len)
		*len = (size_t)le(g->p + off, 8);
	return (const char *)g->p + off + 8;
}

/* ---- tensors ---------------------------------------------------------- */
int64_t mdb_gguf_tensor_count(const struct mdb_gguf *g) { return g->n_tensors; }

const struct mdb_gguf_tensor *mdb_gguf_tensor(const struct mdb_gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_tensors ? &g->t[i] : NULL;
}

uint64_t mdb_gguf_total_params(const struct mdb_gguf *g) { return g->total_params; }
uint64_t mdb_gguf_total_bytes(const struct mdb_gguf *g) { return g->total_bytes; }

int mdb_gguf_type_totals(const struct mdb_gguf *g, struct mdb_gguf_type_total *out, int max)
{
	struct mdb_gguf_type_total all[N_GGML_TYPES];
	memset(all, 0, sizeof all);
	for (int64_t i = 0; i < g->n_tensors; i++) {
		struct mdb_gguf_type_total *a = &all[g->t[i].type];
		a->tensors++;
		a->params += g->t[i].n_elements;
		a->bytes += g->t[i].bytes;
	}
	int n = 0;
	for (uint32_t t = 0; t < N_GGML_TYPES; t++)
		if (all[t].tensors) {
			all[t].type = t;
			all[t].name = ggml_types[t].name;
			all[n++] = all[t];
		}
	/* largest bytes first (insertion sort: at most 40) */
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0 && all[b].bytes > all[b - 1].bytes; b--) {
			struct mdb_gguf_type_total x = all[b];
			all[b] = all[b - 1];
			all[b - 1] = x;
		}
	for (int k = 0; k < n && k < max; k++)
		out[k] = all[k];
	return n;
}

/* ---- summary ---------------------------------------------------------- */
/* An integer key, or for an array of integers its largest; -1 absent. */
static int64_t int_key(const struct mdb_gguf *g, const char *arch, const char *suffix)
{
	char key[256];
	snprintf(key, sizeof key, "%s%s", arch, suffix);
	int64_t i = mdb_gguf_find(g, key), v = -1, e;
	if (i < 0)
		return -1;
	if (mdb_gguf_kv_int(g, i, &v) == 0)
		return v;
	enum mdb_gguf_vtype t;
	uint64_t n;
	if (mdb_gguf_kv_arr(g, i, &t, &n) != 0)
		return -1;
	v = -1;
	for (uint64_t j = 0; j < n; j++)
		if (mdb_gguf_arr_int(g, i, j, &e) == 0 && e > v)
			v = e;
	return v;
}

static void str_key(const struct mdb_gguf *g, const char *key, char *buf, size_t n)
{
	size_t len;
	const char *s = mdb_gguf_kv_str(g, mdb_gguf_find(g, key), &len);
	buf[0] = 0;
	if (!s)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(buf, s, len);
	buf[len] = 0;  /* an embedded NUL ends the string early */
}

void mdb_gguf_summary(const struct mdb_gguf *g, struct mdb_gguf_summary *s)
{
	memset(s, 0, sizeof *s);
	str_key(g, "general.architecture", s->architecture, sizeof s->architecture);
	str_key(g, "general.name", s->name, sizeof s->name);
	s->file_type = int_key(g, "", "general.file_type");
	const char *a = s->architecture;
	int known = a[0] != 0;
	s->block_count = known ? int_key(g, a, ".block_count") : -1;
	s->embedding_length = known ? int_key(g, a, ".embedding_length") : -1;
	s->feed_forward_length = known ? int_key(g, a, ".feed_forward_length") : -1;
	s->head_count = known ? int_key(g, a, ".attention.head_count") : -1;
	s->head_count_kv = known ? int_key(g, a, ".attention.head_count_kv") : -1;
	s->context_length = known ? int_key(g, a, ".context_length") : -1;
	s->key_length = known ? int_key(g, a, ".attention.key_length") : -1;
	s->expert_count = known ? int_key(g, a, ".expert_count") : -1;
	s->expert_used_count = known ? int_key(g, a, ".expert_used_count") : -1;
	s->rope_freq_base = NAN;
	char key[256];
	snprintf(key, sizeof key, "%s.rope.freq_base", a);
	double f;
	if (known && mdb_gguf_kv_float(g, mdb_gguf_find(g, key), &f) == 0)
		s->rope_freq_base = f;
	enum mdb_gguf_vtype t;
	uint64_t n;
	s->vocab_size = -1;
	if (mdb_gguf_kv_arr(g, mdb_gguf_find(g, "tokenizer.ggml.tokens"), &t, &n) == 0
	    && n <= (uint64_t)INT64_MAX)
		s->vocab_size = (int64_t)n;
}

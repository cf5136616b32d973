/*
 * model_db: the GGUF reader (included from model_db/model_db.h).
 *
 * Reads the header of a GGUF file (version 2 or 3, little-endian): the
 * metadata key/value pairs and the tensor infos. The file is mapped
 * read-only and every length, count and offset is checked against the file
 * size before it is used; tensor data is never read, only its range
 * checked. Format: ggml's docs/gguf.md.
 *
 * Errors: functions returning int return 0 on success, -1 on an I/O error
 * (err names the path and strerror) and -2 on a malformed file (err names
 * what is wrong, at which byte offset, and the fix). err may be NULL.
 *
 * Ownership: mdb_gguf_open* return a handle the caller releases with
 * mdb_gguf_close(). Every pointer the accessors return (keys, strings,
 * tensors) points into the handle and stays valid until mdb_gguf_close().
 * String values are NOT NUL-terminated (length through *len); keys and
 * tensor names are NUL-terminated copies.
 */
#ifndef LLMCAP_MODEL_DB_GGUF_H
#define LLMCAP_MODEL_DB_GGUF_H

#include <stddef.h>
#include <stdint.h>

#define MDB_GGUF_MAX_DIMS 4
#define MDB_GGUF_DEFAULT_ALIGNMENT 32
#define MDB_GGUF_FIX "the file is truncated or not a GGUF model; download it again"

/* Metadata value types (gguf_type). */
enum mdb_gguf_vtype {
	MDB_GGUF_UINT8 = 0, MDB_GGUF_INT8 = 1, MDB_GGUF_UINT16 = 2, MDB_GGUF_INT16 = 3,
	MDB_GGUF_UINT32 = 4, MDB_GGUF_INT32 = 5, MDB_GGUF_FLOAT32 = 6, MDB_GGUF_BOOL = 7,
	MDB_GGUF_STRING = 8, MDB_GGUF_ARRAY = 9, MDB_GGUF_UINT64 = 10, MDB_GGUF_INT64 = 11,
	MDB_GGUF_FLOAT64 = 12,
};

struct mdb_gguf;

/* One tensor info. offset is relative to the data section; bytes come
 * from the ggml type's block size and bytes per block. */
struct mdb_gguf_tensor {
	const char *name;                  /* NUL-terminated, owned by the handle */
	uint32_t n_dims;                   /* 1..4 */
	uint64_t dims[MDB_GGUF_MAX_DIMS];  /* dims[0] innermost; unused ones are 1 */
	uint32_t type;                     /* ggml type */
	uint64_t offset;
	uint64_t n_elements;
	uint64_t bytes;
};

/* Totals of one ggml type over all tensors. */
struct mdb_gguf_type_total {
	uint32_t type;
	const char *name;                  /* static string, "Q4_1" */
	uint64_t tensors, params, bytes;
};

/* The llama-family architecture keys ({arch}.block_count, ...). Integers
 * are -1 and floats NAN when absent; strings empty. A per-layer array
 * (head_count_kv, feed_forward_length of some models) gives its maximum. */
struct mdb_gguf_summary {
	char architecture[64];             /* general.architecture */
	char name[128];                    /* general.name */
	int64_t file_type;                 /* general.file_type (llama_ftype) */
	int64_t block_count, embedding_length, feed_forward_length;
	int64_t head_count, head_count_kv, context_length, key_length;
	int64_t expert_count, expert_used_count;
	int64_t vocab_size;                /* length of tokenizer.ggml.tokens */
	double rope_freq_base;
};

/* ---- open / close ----------------------------------------------------- */
/* Maps and reads path. *out is set only on success. */
int mdb_gguf_open(struct mdb_gguf **out, const char *path, char *err, size_t errlen);
/* Reads a GGUF image in memory (fuzzing, tests). data is not copied and
 * must outlive the handle. name is used in messages (may be NULL). */
int mdb_gguf_open_mem(struct mdb_gguf **out, const void *data, size_t size, const char *name,
		      char *err, size_t errlen);
void mdb_gguf_close(struct mdb_gguf *g);

/* ---- file ------------------------------------------------------------- */
uint32_t mdb_gguf_version(const struct mdb_gguf *g);
uint32_t mdb_gguf_alignment(const struct mdb_gguf *g);
uint64_t mdb_gguf_file_size(const struct mdb_gguf *g);
uint64_t mdb_gguf_data_offset(const struct mdb_gguf *g);  /* start of tensor data */
uint64_t mdb_gguf_data_size(const struct mdb_gguf *g);    /* file size - data offset */

/* ---- metadata (i in [0, kv_count)) ------------------------------------ */
int64_t mdb_gguf_kv_count(const struct mdb_gguf *g);
const char *mdb_gguf_kv_key(const struct mdb_gguf *g, int64_t i);
enum mdb_gguf_vtype mdb_gguf_kv_type(const struct mdb_gguf *g, int64_t i);
/* Index of key, or -1. */
int64_t mdb_gguf_find(const struct mdb_gguf *g, const char *key);
/* Typed values: 0, or -1 when the value has another type (or does not
 * fit). _int takes every integer type and BOOL (a UINT64 above INT64_MAX
 * is -1); _uint every integer type >= 0; _float FLOAT32/FLOAT64 and the
 * integer types. */
int mdb_gguf_kv_int(const struct mdb_gguf *g, int64_t i, int64_t *v);
int mdb_gguf_kv_uint(const struct mdb_gguf *g, int64_t i, uint64_t *v);
int mdb_gguf_kv_float(const struct mdb_gguf *g, int64_t i, double *v);
int mdb_gguf_kv_bool(const struct mdb_gguf *g, int64_t i, int *v);
/* STRING value (not NUL-terminated), or NULL for another type. */
const char *mdb_gguf_kv_str(const struct mdb_gguf *g, int64_t i, size_t *len);
/* ARRAY: element type and count; -1 when not an array. */
int mdb_gguf_kv_arr(const struct mdb_gguf *g, int64_t i, enum mdb_gguf_vtype *elem,
		    uint64_t *count);
/* Element j of an array of numbers or bools (same rules as the scalar
 * getters); -1 for another element type or j out of range. */
int mdb_gguf_arr_int(const struct mdb_gguf *g, int64_t i, uint64_t j, int64_t *v);
int mdb_gguf_arr_float(const struct mdb_gguf *g, int64_t i, uint64_t j, double *v);
/* Element j of an array of strings (linear in j), or NULL. */
const char *mdb_gguf_arr_str(const struct mdb_gguf *g, int64_t i, uint64_t j, size_t *len);

/* ---- tensors (i in [0, tensor_count)) --------------------------------- */
int64_t mdb_gguf_tensor_count(const struct mdb_gguf *g);
const struct mdb_gguf_tensor *mdb_gguf_tensor(const struct mdb_gguf *g, int64_t i);
uint64_t mdb_gguf_total_params(const struct mdb_gguf *g);
uint64_t mdb_gguf_total_bytes(const struct mdb_gguf *g);  /* sum of tensor bytes */
/* Per-type totals into out (at most max), largest bytes first. Returns how
 * many types the file uses (may exceed max). */
int mdb_gguf_type_totals(const struct mdb_gguf *g, struct mdb_gguf_type_total *out, int max);

/* ---- summary and names ------------------------------------------------ */
void mdb_gguf_summary(const struct mdb_gguf *g, struct mdb_gguf_summary *s);
/* "Q4_1" for a ggml type, NULL when unknown to llmcap. */
const char *mdb_gguf_type_name(uint32_t ggml_type);
/* Elements per block and bytes per block of a ggml type: 0, or -1 when
 * unknown. */
int mdb_gguf_type_size(uint32_t ggml_type, uint32_t *block, uint32_t *bytes);
/* "UINT32", "ARRAY", ... ; "?" when out of range. */
const char *mdb_gguf_vtype_name(enum mdb_gguf_vtype t);

#endif

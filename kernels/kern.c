/*
 * kernels: CPU features, the backend list, the kernel table, type facts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1ul << 20)
#endif
#endif

#include "kernels/kern_internal.h"

#if defined(__x86_64__) && defined(__linux__)
/* arch_prctl codes (asm/prctl.h) and the tile data's XSAVE component */
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* 1 when LLMCAP_AMX asks for the AMX prefill (any value but "" or "0").
 * Off by default: on the one AMX machine measured (bench/kernels_notes.md)
 * the tiles did not beat the AVX-512 VNNI tile reliably for any type. */
static int amx_enabled_by_env(void)
{
	const char *e = getenv("LLMCAP_AMX");
	return e && *e && strcmp(e, "0") != 0;
}

/* AMX-TILE and AMX-INT8 usable by this process: CPUID.(7,0):EDX bits 24
 * and 25; the OS has the tile configuration and data (XCR0 bits 17 and
 * 18) in its XSAVE state; and Linux, which keeps the 8 KiB of tile data
 * out of a process's signal frames until asked, grants it (the
 * permission is the process's: every thread may then use the tiles, each
 * loading its own tile configuration). 0 on any refusal: the caller falls
 * back to the AVX-512 VNNI tile. */
static int amx_usable(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25)))
		return 0;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))   /* OSXSAVE: xgetbv allowed */
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & (3u << 17)) != (3u << 17))
		return 0;
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
		return 0;
	unsigned long perm = 0;
	if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) != 0)
		return 0;
	return (perm >> XFEATURE_XTILEDATA) & 1;
}
#endif

unsigned kern_cpu_features(void)
{
	unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		f |= KERN_F_AVX2;   /* every AVX2 CPU has F16C */
	if ((f & KERN_F_AVX2) && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
		f |= KERN_F_AVX512;
	if ((f & KERN_F_AVX512) && __builtin_cpu_supports("avx512vnni"))
		f |= KERN_F_AVX512VNNI;
	/* CPUID leaf 7 subleaf 1, EAX: bit 4 AVX-VNNI, bit 5 AVX512-BF16 (read
	 * directly: not every compiler's __builtin_cpu_supports knows them;
	 * the OS state is covered by the AVX2/AVX-512 checks above) */
	unsigned a = 0, b = 0, c = 0, d = 0;
	if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
		if ((f & KERN_F_AVX512) && (a & (1u << 5)))
			f |= KERN_F_AVX512BF16;
		if ((f & KERN_F_AVX2) && (a & (1u << 4)))
			f |= KERN_F_AVXVNNI;
	}
#if defined(__x86_64__) && defined(__linux__)
	/* the AMX tile reads its records and scales with AVX-512 */
	if ((f & KERN_F_AVX512VNNI) && amx_enabled_by_env() && amx_usable())
		f |= KERN_F_AMX;
#endif
#elif defined(__aarch64__)
	f |= KERN_F_NEON;     /* Advanced SIMD is part of every AArch64 CPU */
#if defined(__linux__)
	if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP)
		f |= KERN_F_NEONDOT;
#elif defined(__ARM_FEATURE_DOTPROD)
	f |= KERN_F_NEONDOT;  /* no HWCAP to ask: the build's own target says so */
#endif
#endif
	return f;
}

char *kern_features_str(unsigned features, char *buf, size_t len)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{KERN_F_AVX2, "avx2"}, {KERN_F_AVX512, "avx512"},
		{KERN_F_AVX512VNNI, "avx512vnni"}, {KERN_F_AVX512BF16, "avx512bf16"},
		{KERN_F_AVXVNNI, "avxvnni"}, {KERN_F_AMX, "amx"}, {KERN_F_NEON, "neon"},
		{KERN_F_NEONDOT, "neondot"},
	};
	size_t used = 0;
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(features & names[i].bit) || used >= len)
			continue;
		int k = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i].name);
		if (k > 0)
			used += (size_t)k;
	}
	return buf;
}

static const struct kern_backend *const backends[] = {
	&kern_backend_generic,
#if defined(__x86_64__) || defined(__i386__)
	&kern_backend_avx2,
	&kern_backend_avx512,
#endif
#if defined(__x86_64__)
	&kern_backend_amx,
#endif
#if defined(__aarch64__)
	&kern_backend_neon,
	&kern_backend_neondot,
#endif
	NULL,
};

const struct kern_backend *const *kern_backends(void)
{
	return backends;
}

int kern_backend_usable(const struct kern_backend *b, unsigned features)
{
	return b && (b->requires & features) == b->requires;
}

int kern_table_init(struct kern_table *t, unsigned features)
{
	memset(t, 0, sizeof *t);
	t->features = features;
	for (int k = 0; backends[k]; k++) {
		const struct kern_backend *b = backends[k];
		if (!kern_backend_usable(b, features))
			continue;
		if (b->swiglu)
			t->swiglu = b->swiglu;
		for (int i = 0; i < QT_COUNT; i++) {
			if (b->to_float[i]) {
				t->to_float[i] = b->to_float[i];
				t->to_float_isa[i] = b->name;
			}
			if (b->quantize[i]) {
				t->quantize[i] = b->quantize[i];
				t->quantize_isa[i] = b->name;
			}
			if (b->dot[i]) {
				t->dot[i] = b->dot[i];
				t->dot_isa[i] = b->name;
			}
			if (b->axpy[i])
				t->axpy[i] = b->axpy[i];
			if (b->qact[i])
				t->qact[i] = b->qact[i];
			if (b->attn[i])
				t->attn[i] = b->attn[i];
			if (b->gemm[i]) {
				t->gemm[i] = b->gemm[i];
				t->gemm_isa[i] = b->name;
			}
			if (b->gemm_batch[i]) {
				t->gemm_batch[i] = b->gemm_batch[i];
				t->gemm_batch_isa[i] = b->name;
			}
		}
	}
	return 0;
}

int kern_act_type(int wtype)
{
	switch (wtype) {
	case QT_Q4_0: case QT_Q5_0: case QT_Q8_0:
		return QT_Q8_0;
	case QT_Q4_1:
		return QT_Q8_1;
	case QT_Q4_K: case QT_Q5_K: case QT_Q6_K:
		return QT_Q8_K;
	case QT_F32: case QT_F16: case QT_BF16:
		return QT_F32;
	default:
		return -1;
	}
}

int kern_type_supported(int wtype)
{
	return kern_act_type(wtype) >= 0;
}

int kern_type_block(int type, int *blck, int *bytes)
{
	const struct mdb_qtraits *q = mdb_qtype(type);
	if (!q || q->blck <= 0) {
		*blck = 0;
		*bytes = 0;
		return -1;
	}
	*blck = q->blck;
	*bytes = q->bytes;
	return 0;
}

size_t kern_row_bytes(int type, int64_t n)
{
	int blck, bytes;
	if (kern_type_block(type, &blck, &bytes) != 0 || n < 0 || n % blck)
		return 0;
	return (size_t)(n / blck) * (size_t)bytes;
}

static int check_row(int type, int64_t n, const char *what, char *err, size_t errlen)
{
	int blck, bytes;
	if (kern_type_block(type, &blck, &bytes) != 0) {
		if (err)
			snprintf(err, errlen, "%s: unknown tensor type %d", what, type);
		return -1;
	}
	if (n <= 0 || n % blck) {
		if (err)
			snprintf(err, errlen, "%s: row of %lld values is not a multiple of the %s block (%d)",
				 what, (long long)n, mdb_qtype(type)->name, blck);
		return -1;
	}
	return 0;
}

int kern_dequantize_row(const struct kern_table *t, int type, const void *src, float *dst,
			int64_t n, char *err, size_t errlen)
{
	if (check_row(type, n, "dequantize", err, errlen))
		return -1;
	if (!t->to_float[type]) {
		if (err)
			snprintf(err, errlen, "dequantize: type %s is not supported by llmcap's kernels",
				 mdb_qtype(type)->name);
		return -1;
	}
	t->to_float[type](src, dst, n);
	return 0;
}

int kern_quantize_row(const struct kern_table *t, int act_type, const float *src, void *dst,
		      int64_t n, char *err, size_t errlen)
{
	if (check_row(act_type, n, "quantize", err, errlen))
		return -1;
	if (act_type == QT_F32) {
		memmove(dst, src, (size_t)n * sizeof(float));
		return 0;
	}
	if (!t->quantize[act_type]) {
		if (err)
			snprintf(err, errlen, "quantize: no quantizer to %s (Q8_0, Q8_1, Q8_K only)",
				 mdb_qtype(act_type)->name);
		return -1;
	}
	t->quantize[act_type](src, dst, n);
	return 0;
}

/*
 * probe: CPU identity.
 *
 * x86: libcpuid identifies the CPU (vendor, brand, family/model, cores)
 * and decodes the common feature flags. libcpuid 0.6 does not decode the
 * newer leaf-7 bits (AVX-512 BF16/FP16, AVX-VNNI, AMX), so those are read
 * from the CPUID leaves here, and every vector ISA is checked against the
 * register state the OS enables (XCR0): a feature the OS does not save is
 * a feature kernels cannot use.
 * Arm: libcpuid 0.6 has no Arm support; features come from the kernel's
 * hardware capability bits (getauxval) and identity from /proc/cpuinfo.
 * Clocks: the OS's cpufreq data or CPUID leaf 0x16 when present (reported);
 * the running clock measured by libcpuid's instruction counting.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libcpuid/libcpuid.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "probe/probe.h"

#define BIT(r, n) (((r) >> (n)) & 1u)

static void set_isa(struct probe_cpu *c, enum probe_isa f, int on)
{
	if (on)
		c->isa |= 1u << f;
}

/* Reads the first number in a one-line sysfs/proc file; NAN if absent. */
static double read_number_file(const char *path)
{
	FILE *f = fopen(path, "r");
	double v = NAN;
	if (!f)
		return NAN;
	if (fscanf(f, "%lf", &v) != 1)
		v = NAN;
	fclose(f);
	return v;
}

/* The brand string's "@ 2.60GHz" suffix (Intel), in MHz; NAN if none. */
static double brand_ghz(const char *brand)
{
	const char *at = strchr(brand, '@');
	double ghz;
	if (!at || sscanf(at + 1, " %lfGHz", &ghz) != 1 || !(ghz > 0.1 && ghz < 10))
		return NAN;
	return ghz * 1000.0;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	size_t i = 0;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, strlen(s + i) + 1);
	/* collapse runs of spaces (some brand strings pad) */
	char *w = s;
	for (char *r = s; *r; r++)
		if (!(isspace((unsigned char)*r) && w > s && isspace((unsigned char)w[-1])))
			*w++ = *r;
	*w = 0;
}

#if defined(__x86_64__) || defined(__i386__)
static uint64_t read_xcr0(void)
{
	uint32_t eax, edx;
	__asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
	return ((uint64_t)edx << 32) | eax;
}
#endif

/*
 * ISA from CPUID registers, checked against the OS-enabled state.
 * libcpuid 0.6 decodes leaf 7 only on Intel, so every bit is read here
 * from the raw leaves (the same on Intel and AMD) and OR-ed with
 * libcpuid's own flags where it has them.
 * leaf1: CPUID(1) {eax,ebx,ecx,edx}; leaf7_0: CPUID(7,0); leaf7_1 may be
 * NULL (unknown). xcr0: the OS-enabled state, or ~0 when it cannot be
 * read (recorded dumps).
 */
static void isa_from_cpuid(struct probe_cpu *c, const struct cpu_id_t *id,
			   const uint32_t *leaf1, const uint32_t *leaf7_0,
			   const uint32_t *leaf7_1, uint64_t xcr0)
{
	int os_avx = (xcr0 & 0x6) == 0x6;          /* XMM + YMM state */
	int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM */
	int os_amx = (xcr0 & 0x60000) == 0x60000;   /* XTILECFG, XTILEDATA */
	uint32_t ecx1 = leaf1[2];
	uint32_t ebx7 = leaf7_0 ? leaf7_0[1] : 0, ecx7 = leaf7_0 ? leaf7_0[2] : 0;
	uint32_t edx7 = leaf7_0 ? leaf7_0[3] : 0;

	set_isa(c, PROBE_ISA_SSE42, BIT(ecx1, 20) || id->flags[CPU_FEATURE_SSE4_2]);
	set_isa(c, PROBE_ISA_AVX, (BIT(ecx1, 28) || id->flags[CPU_FEATURE_AVX]) && os_avx);
	set_isa(c, PROBE_ISA_FMA, (BIT(ecx1, 12) || id->flags[CPU_FEATURE_FMA3]) && os_avx);
	set_isa(c, PROBE_ISA_F16C, (BIT(ecx1, 29) || id->flags[CPU_FEATURE_F16C]) && os_avx);
	set_isa(c, PROBE_ISA_AVX2, (BIT(ebx7, 5) || id->flags[CPU_FEATURE_AVX2]) && os_avx);
	set_isa(c, PROBE_ISA_AVX512F,
		(BIT(ebx7, 16) || id->flags[CPU_FEATURE_AVX512F]) && os_avx512);
	set_isa(c, PROBE_ISA_AVX512BW,
		(BIT(ebx7, 30) || id->flags[CPU_FEATURE_AVX512BW]) && os_avx512);
	set_isa(c, PROBE_ISA_AVX512VL,
		(BIT(ebx7, 31) || id->flags[CPU_FEATURE_AVX512VL]) && os_avx512);
	set_isa(c, PROBE_ISA_AVX512VNNI,
		(BIT(ecx7, 11) || id->flags[CPU_FEATURE_AVX512VNNI]) && os_avx512);
	set_isa(c, PROBE_ISA_AVX512FP16, BIT(edx7, 23) && os_avx512);
	set_isa(c, PROBE_ISA_AMX_BF16, BIT(edx7, 22) && os_amx);
	set_isa(c, PROBE_ISA_AMX_TILE, BIT(edx7, 24) && os_amx);
	set_isa(c, PROBE_ISA_AMX_INT8, BIT(edx7, 25) && os_amx);
	if (leaf7_1) {
		uint32_t eax = leaf7_1[0];
		set_isa(c, PROBE_ISA_AVX_VNNI, BIT(eax, 4) && os_avx);
		set_isa(c, PROBE_ISA_AVX512BF16, BIT(eax, 5) && os_avx512);
	}
}

/* The codename's product line ("Athlon", "Core", "Xeon", "EPYC", ...)
 * must appear in the brand string when the brand names a product line. */
static int codename_plausible(const char *brand, const char *codename)
{
	static const char *const lines[] = {"Athlon", "Phenom", "Opteron", "Sempron", "Turion",
		"Ryzen", "EPYC", "Threadripper", "Xeon", "Core", "Pentium", "Celeron", "Atom"};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (strstr(codename, lines[i]) && !strstr(brand, lines[i]))
			return 0;
	return 1;
}

static void fill_identity(struct probe_cpu *c, const struct cpu_id_t *id)
{
	snprintf(c->vendor, sizeof c->vendor, "%s", id->vendor_str);
	snprintf(c->brand, sizeof c->brand, "%s", id->brand_str);
	trim(c->brand);
	snprintf(c->codename, sizeof c->codename, "%s", id->cpu_codename);
	/* libcpuid's tables predate some CPUs and then match an old part by
	 * family bits alone (Zen 5, family 26, reads as "Athlon X2 (Kuma)" in
	 * 0.6.2): keep a codename only when it agrees with the brand's line. */
	if (!codename_plausible(id->brand_str, id->cpu_codename))
		c->codename[0] = 0;
	c->family = id->ext_family > 0 ? id->ext_family : id->family;
	c->model = id->ext_model > 0 ? id->ext_model : id->model;
	c->stepping = id->stepping;
	/* libcpuid counts one package; the caller replaces these with
	 * hwloc's whole-machine counts when the topology is known. */
	c->cores = id->num_cores > 0 ? id->num_cores : 0;
	c->threads = id->num_logical_cpus > 0 ? id->num_logical_cpus : 0;
	c->src = PROBE_SRC_REPORTED;
}

int probe_cpu_from_raw_dump(struct probe_cpu *cpu, const char *path,
			    char *err, size_t errlen)
{
	struct cpu_raw_data_t raw;
	struct cpu_id_t id;

	memset(cpu, 0, sizeof *cpu);
	cpu->family = cpu->model = cpu->stepping = -1;
	cpu->base_mhz = cpu->max_mhz = NAN;
	if (access(path, R_OK) != 0) {
		if (err)
			snprintf(err, errlen, "cannot read CPUID dump %s", path);
		return -1;
	}
	if (cpuid_deserialize_raw_data(&raw, path) != 0 || cpu_identify(&raw, &id) != 0) {
		if (err)
			snprintf(err, errlen, "libcpuid cannot use the dump %s: %s",
				 path, cpuid_error());
		return -1;
	}
	fill_identity(cpu, &id);
	snprintf(cpu->arch, sizeof cpu->arch, "x86_64");
	/* a dump has leaf 7 subleaf 0 but no subleaf 1 and no XCR0 */
	isa_from_cpuid(cpu, &id, raw.basic_cpuid[1],
		       raw.basic_cpuid[0][0] >= 7 ? raw.basic_cpuid[7] : NULL, NULL, ~0ull);
	snprintf(cpu->method, sizeof cpu->method, "libcpuid %s (recorded dump)",
		 cpuid_lib_version());
	snprintf(cpu->isa_method, sizeof cpu->isa_method,
		 "CPUID from dump; leaf 7.1 and OS state not recorded");
	double b = brand_ghz(cpu->brand);
	if (!isnan(b)) {
		cpu->base_mhz = b;
		cpu->base_mhz_src = PROBE_SRC_REPORTED;
		snprintf(cpu->base_mhz_method, sizeof cpu->base_mhz_method, "brand string");
	}
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The clock the core runs at now, in MHz: a chain of dependent integer
 * adds (one cycle each on every x86 and Arm core) timed; the best of 10
 * short runs, so time stolen by other processes does not count. NAN on
 * an architecture without the chain. */
static double running_clock_mhz(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	const unsigned long iters = 1000000;   /* 8 adds each: ~2-4 ms */
	double best = 0;
	for (int r = 0; r < 10; r++) {
		unsigned long x = (unsigned long)r;
		double t0 = now_s();
		for (unsigned long i = 0; i < iters; i++) {
#if defined(__x86_64__)
			__asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\t"
					 "add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0"
					 : "+r"(x));
#else
			__asm__ volatile("add %0,%0,#1\n\tadd %0,%0,#1\n\tadd %0,%0,#1\n\t"
					 "add %0,%0,#1\n\tadd %0,%0,#1\n\tadd %0,%0,#1\n\t"
					 "add %0,%0,#1\n\tadd %0,%0,#1"
					 : "+r"(x));
#endif
		}
		double dt = now_s() - t0;
		double mhz = dt > 0 ? 8.0 * (double)iters / dt / 1e6 : 0;
		if (mhz > best)
			best = mhz;
	}
	return best > 0 ? best : NAN;
#else
	return NAN;
#endif
}

/* Clocks from the OS (cpufreq) or CPUID 0x16; the running clock measured. */
static void fill_clocks(struct probe_cpu *c, struct probe_profile *warn_to)
{
	const char *dir = "/sys/devices/system/cpu/cpu0/cpufreq";
	char path[160];
	double v;

	snprintf(path, sizeof path, "%s/base_frequency", dir);
	v = read_number_file(path);                /* kHz, intel_pstate */
	if (isnan(v)) {
		snprintf(path, sizeof path, "%s/amd_pstate_nominal_freq", dir);
		v = read_number_file(path);        /* kHz, amd-pstate */
	}
	if (!isnan(v) && v > 0) {
		c->base_mhz = v / 1000.0;
		c->base_mhz_src = PROBE_SRC_REPORTED;
		snprintf(c->base_mhz_method, sizeof c->base_mhz_method, "cpufreq %s",
			 strrchr(path, '/') + 1);
	}
	snprintf(path, sizeof path, "%s/cpuinfo_max_freq", dir);
	v = read_number_file(path);
	if (!isnan(v) && v > 0) {
		c->max_mhz = v / 1000.0;
		c->max_mhz_src = PROBE_SRC_REPORTED;
		snprintf(c->max_mhz_method, sizeof c->max_mhz_method, "cpufreq cpuinfo_max_freq");
	}
#if defined(__x86_64__) || defined(__i386__)
	uint32_t r[4] = {0};
	cpu_exec_cpuid(0, r);
	if (r[0] >= 0x16 && (isnan(c->base_mhz) || isnan(c->max_mhz))) {
		uint32_t l16[4] = {0};
		cpu_exec_cpuid(0x16, l16);
		if (isnan(c->base_mhz) && l16[0] > 0) {
			c->base_mhz = l16[0] & 0xffff;
			c->base_mhz_src = PROBE_SRC_REPORTED;
			snprintf(c->base_mhz_method, sizeof c->base_mhz_method, "CPUID leaf 0x16");
		}
		if (isnan(c->max_mhz) && l16[1] > 0) {
			c->max_mhz = l16[1] & 0xffff;
			c->max_mhz_src = PROBE_SRC_REPORTED;
			snprintf(c->max_mhz_method, sizeof c->max_mhz_method, "CPUID leaf 0x16");
		}
	}
#endif
	if (isnan(c->base_mhz)) {
		v = brand_ghz(c->brand);
		if (!isnan(v)) {
			c->base_mhz = v;
			c->base_mhz_src = PROBE_SRC_REPORTED;
			snprintf(c->base_mhz_method, sizeof c->base_mhz_method, "brand string");
		}
	}
	if (isnan(c->base_mhz)) {
		/* /proc/cpuinfo "cpu MHz": the nominal (TSC) rate on VMs and
		 * fixed-clock machines, the current clock elsewhere. */
		int os = cpu_clock_by_os();
		if (os > 0) {
			c->base_mhz = os;
			c->base_mhz_src = PROBE_SRC_REPORTED;
			snprintf(c->base_mhz_method, sizeof c->base_mhz_method,
				 "OS cpu MHz (current or nominal clock)");
		}
	}
	if (isnan(c->max_mhz)) {
		double mhz = running_clock_mhz();
		if (mhz > 100 && mhz < 10000) {
			c->max_mhz = mhz;
			c->max_mhz_src = PROBE_SRC_MEASURED;
			snprintf(c->max_mhz_method, sizeof c->max_mhz_method,
				 "running clock: dependent add chain, best of 10");
		}
	}
	if (isnan(c->base_mhz) && warn_to)
		probe_warn(warn_to, "CPU base clock unknown: no cpufreq data, CPUID 0x16 or brand frequency");
	if (isnan(c->max_mhz) && warn_to)
		probe_warn(warn_to, "CPU maximum clock unknown: no cpufreq data and could not measure");
}

#if defined(__aarch64__)
static void arm_identity(struct probe_cpu *c)
{
	unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
	/* bit positions from the Linux arm64 uapi hwcap.h */
	set_isa(c, PROBE_ISA_NEON, (hw >> 1) & 1);      /* HWCAP_ASIMD */
	set_isa(c, PROBE_ISA_DOTPROD, (hw >> 20) & 1);  /* HWCAP_ASIMDDP */
	set_isa(c, PROBE_ISA_SVE, (hw >> 22) & 1);      /* HWCAP_SVE */
	set_isa(c, PROBE_ISA_SVE2, (hw2 >> 1) & 1);     /* HWCAP2_SVE2 */
	set_isa(c, PROBE_ISA_I8MM, (hw2 >> 13) & 1);    /* HWCAP2_I8MM */
	snprintf(c->isa_method, sizeof c->isa_method, "Linux AT_HWCAP/AT_HWCAP2");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	unsigned impl = 0, part = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "CPU implementer : %x", &impl) == 1)
			continue;
		if (sscanf(line, "CPU part : %x", &part) == 1)
			continue;
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(c->brand, sizeof c->brand, "%s", strchr(line, ':') + 1);
			trim(c->brand);
		}
	}
	if (f)
		fclose(f);
	if (!c->brand[0] && impl)
		snprintf(c->brand, sizeof c->brand, "Arm implementer 0x%02x part 0x%03x", impl, part);
	snprintf(c->vendor, sizeof c->vendor, "arm-0x%02x", impl);
	c->model = (int)part;
	c->src = c->brand[0] ? PROBE_SRC_REPORTED : PROBE_SRC_UNKNOWN;
	snprintf(c->method, sizeof c->method, "/proc/cpuinfo (libcpuid has no Arm support)");
}
#endif

int probe_cpu_identify(struct probe_cpu *c, struct probe_profile *warn_to)
{
	memset(c, 0, sizeof *c);
	c->family = c->model = c->stepping = -1;
	c->base_mhz = c->max_mhz = NAN;
#if defined(__x86_64__) || defined(__i386__)
	snprintf(c->arch, sizeof c->arch, "%s", sizeof(void *) == 8 ? "x86_64" : "i386");
	struct cpu_raw_data_t raw;
	struct cpu_id_t id;
	if (!cpuid_present() || cpuid_get_raw_data(&raw) != 0 || cpu_identify(&raw, &id) != 0) {
		if (warn_to)
			probe_warn(warn_to, "libcpuid could not identify the CPU (%s); CPU identity unknown",
				   cpuid_error());
		snprintf(c->method, sizeof c->method, "libcpuid failed");
		/* the compiler's runtime still knows the vector ISA */
		__builtin_cpu_init();
		set_isa(c, PROBE_ISA_SSE42, __builtin_cpu_supports("sse4.2"));
		set_isa(c, PROBE_ISA_AVX, __builtin_cpu_supports("avx"));
		set_isa(c, PROBE_ISA_AVX2, __builtin_cpu_supports("avx2"));
		set_isa(c, PROBE_ISA_FMA, __builtin_cpu_supports("fma"));
		set_isa(c, PROBE_ISA_AVX512F, __builtin_cpu_supports("avx512f"));
		snprintf(c->isa_method, sizeof c->isa_method, "compiler runtime (__builtin_cpu_supports)");
		return -1;
	}
	fill_identity(c, &id);
	uint32_t l7_1[4] = {7, 0, 1, 0};
	int have7 = raw.basic_cpuid[0][0] >= 7;
	if (have7)
		cpu_exec_cpuid_ext(l7_1);
	uint64_t xcr0 = BIT(raw.basic_cpuid[1][2], 27) ? read_xcr0() : 0; /* OSXSAVE */
	isa_from_cpuid(c, &id, raw.basic_cpuid[1], have7 ? raw.basic_cpuid[7] : NULL,
		       have7 ? l7_1 : NULL, xcr0);
	snprintf(c->method, sizeof c->method, "libcpuid %s", cpuid_lib_version());
	snprintf(c->isa_method, sizeof c->isa_method,
		 "libcpuid flags + CPUID leaf 7.0/7.1, checked against OS XCR0");
#elif defined(__aarch64__)
	snprintf(c->arch, sizeof c->arch, "aarch64");
	arm_identity(c);
#else
	snprintf(c->arch, sizeof c->arch, "unknown");
	snprintf(c->method, sizeof c->method, "unsupported architecture");
	if (warn_to)
		probe_warn(warn_to, "CPU identity unknown on this architecture");
#endif
	return 0;
}

void probe_cpu_clocks(struct probe_cpu *c, struct probe_profile *warn_to)
{
	fill_clocks(c, warn_to);
}

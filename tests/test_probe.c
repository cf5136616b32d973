/* probe: identity, topology, memory size, fingerprint, names — from this
 * machine and from recorded fixtures (libcpuid dump, hwloc XML). */
#include "test_util.h"

#include <math.h>

#include "model_db/model_db.h"
#include "probe/probe.h"

#define FIX "tests/fixtures/"

static void test_isa_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < PROBE_ISA_COUNT; i++) {
		const char *n = probe_isa_name((enum probe_isa)i);
		assert_non_null(n);
		assert_int_equal(probe_isa_from_name(n), i);
	}
	assert_null(probe_isa_name(PROBE_ISA_COUNT));
	assert_int_equal(probe_isa_from_name("avx9000"), -1);
	assert_int_equal(probe_isa_from_name(NULL), -1);
	assert_string_equal(probe_src_name(PROBE_SRC_MEASURED), "measured");
	assert_string_equal(probe_src_name((enum probe_src)99), "unknown");
}

static void test_profile_init_unknowns(void **state)
{
	(void)state;
	struct probe_profile p;
	memset(&p, 0x5a, sizeof p);
	probe_profile_init(&p);
	assert_string_equal(p.schema, PROBE_SCHEMA);
	assert_true(isnan(p.mem.read.gbps));
	assert_true(isnan(p.mem.latency.ns));
	assert_true(isnan(p.compute.int8.gops));
	assert_true(isnan(p.cpu.max_mhz));
	assert_int_equal(p.mem.read.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(p.n_warnings, 0);
	for (int i = 0; i < PROBE_MAX_WARNINGS + 3; i++)
		probe_warn(&p, "warning %d", i);
	assert_int_equal(p.n_warnings, PROBE_MAX_WARNINGS);
	assert_string_equal(p.warnings[2], "warning 2");
}

/* The recorded dump of the development machine (AMD EPYC, Zen 5, KVM). */
static void test_cpu_from_dump(void **state)
{
	(void)state;
	struct probe_cpu c;
	char err[256] = "";
	assert_int_equal(probe_cpu_from_raw_dump(&c, FIX "cpuid/amd-epyc-zen5-vm.txt", err, sizeof err), 0);
	assert_string_equal(c.vendor, "AuthenticAMD");
	assert_non_null(strstr(c.brand, "AMD EPYC"));
	assert_int_equal(c.family, 26);
	assert_int_equal(c.src, PROBE_SRC_REPORTED);
	assert_true(probe_cpu_has(&c, PROBE_ISA_AVX2));
	assert_true(probe_cpu_has(&c, PROBE_ISA_FMA));
	assert_true(probe_cpu_has(&c, PROBE_ISA_AVX512F));
	assert_true(probe_cpu_has(&c, PROBE_ISA_AVX512VNNI));
	assert_true(probe_cpu_has(&c, PROBE_ISA_SSE42));
	/* Zen 5 has no AMX and no AVX512-FP16 (leaf 7.0 EDX bits clear) */
	assert_false(probe_cpu_has(&c, PROBE_ISA_AMX_TILE));
	assert_false(probe_cpu_has(&c, PROBE_ISA_AVX512FP16));
	assert_false(probe_cpu_has(&c, PROBE_ISA_NEON));
	assert_non_null(strstr(c.method, "dump"));
}

static void test_cpu_dump_errors(void **state)
{
	(void)state;
	struct probe_cpu c;
	char err[256] = "";
	assert_int_equal(probe_cpu_from_raw_dump(&c, FIX "cpuid/no-such-file.txt", err, sizeof err), -1);
	assert_non_null(strstr(err, "no-such-file"));
	err[0] = 0;
	/* libcpuid reads garbage as empty leaves: either an error or no ISA */
	int rc = probe_cpu_from_raw_dump(&c, FIX "cpuid/garbage.txt", err, sizeof err);
	if (rc == 0)
		assert_int_equal(c.isa & (1u << PROBE_ISA_AVX2), 0);
	else
		assert_true(strlen(err) > 0);
}

static void test_cpu_this_machine(void **state)
{
	(void)state;
	struct probe_profile p;
	probe_profile_init(&p);
	int rc = probe_cpu_identify(&p.cpu, &p);
#if defined(__x86_64__)
	assert_int_equal(rc, 0);
	assert_true(strlen(p.cpu.brand) > 0);
	assert_true(strlen(p.cpu.vendor) > 0);
	/* what the compiler's runtime sees must agree with our decoding */
	__builtin_cpu_init();
	assert_int_equal(probe_cpu_has(&p.cpu, PROBE_ISA_AVX2), !!__builtin_cpu_supports("avx2"));
	assert_int_equal(probe_cpu_has(&p.cpu, PROBE_ISA_AVX512F), !!__builtin_cpu_supports("avx512f"));
	assert_int_equal(probe_cpu_has(&p.cpu, PROBE_ISA_FMA), !!__builtin_cpu_supports("fma"));
#else
	(void)rc;
#endif
	assert_true(isnan(p.cpu.max_mhz));   /* clocks only from probe_cpu_clocks */
	probe_cpu_clocks(&p.cpu, &p);
	if (!isnan(p.cpu.max_mhz)) {
		assert_true(p.cpu.max_mhz > 100 && p.cpu.max_mhz < 10000);
		assert_true(strlen(p.cpu.max_mhz_method) > 0);
		assert_int_not_equal(p.cpu.max_mhz_src, PROBE_SRC_UNKNOWN);
	} else {
		assert_true(p.n_warnings > 0);
	}
}

static void test_topo_synthetic_fixture(void **state)
{
	(void)state;
	struct probe_topo t;
	struct probe_profile w;
	probe_profile_init(&w);
	assert_int_equal(probe_topo_read(&t, FIX "topo/synthetic-2pkg-4numa-h100.xml", &w), 0);
	assert_int_equal(t.src, PROBE_SRC_REPORTED);
	assert_int_equal(t.packages, 2);
	assert_int_equal(t.cores, 32);
	assert_int_equal(t.pus, 64);
	assert_int_equal(t.n_numa, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t.numa[i].os_index, i);
		assert_int_equal(t.numa[i].memory_bytes, 1ull << 30);
		assert_int_equal(t.numa[i].cores, 8);
	}
	/* L1d, L2, L3; the last level summed over its 4 instances */
	assert_int_equal(t.n_caches, 3);
	assert_int_equal(t.caches[2].level, 3);
	assert_int_equal(t.caches[2].instances, 4);
	assert_int_equal(t.caches[2].size_bytes, 16u << 20);
	assert_int_equal(t.llc_total_bytes, 64ull << 20);
	assert_int_equal(t.caches[1].level, 2);
	assert_int_equal(t.caches[1].instances, 32);
	/* the GPU and the BMC's VGA; the Ethernet function is not kept */
	assert_int_equal(t.n_pci, 2);
	const struct probe_pci *gpu = NULL, *vga = NULL;
	for (int i = 0; i < t.n_pci; i++) {
		if (t.pci[i].vendor_id == 0x10de)
			gpu = &t.pci[i];
		if (t.pci[i].vendor_id == 0x1a03)
			vga = &t.pci[i];
	}
	assert_non_null(gpu);
	assert_non_null(vga);
	assert_string_equal(gpu->kind, "3d");
	assert_int_equal(gpu->device_id, 0x2330);
	assert_string_equal(gpu->bus_id, "0000:41:00.0");
	assert_string_equal(gpu->vendor, "NVIDIA Corporation");
	assert_non_null(strstr(gpu->name, "H100"));
	assert_int_equal(gpu->numa_node, 2);
	assert_true(gpu->link_gbps > 31 && gpu->link_gbps < 32);
	assert_string_equal(vga->kind, "display");
	assert_string_equal(vga->vendor, "ASPEED");  /* from our table: no name in the XML */
	assert_int_equal(vga->numa_node, -1);
	assert_true(isnan(vga->link_gbps));
	assert_non_null(strstr(t.method, "recorded XML"));
}

static void test_topo_vm_fixture(void **state)
{
	(void)state;
	struct probe_topo t;
	assert_int_equal(probe_topo_read(&t, FIX "topo/epyc-2core-vm.xml", NULL), 0);
	assert_int_equal(t.packages, 1);
	assert_int_equal(t.cores, 2);
	assert_int_equal(t.pus, 2);
	assert_int_equal(t.llc_total_bytes, 32ull << 20);
	assert_int_equal(t.n_pci, 0);   /* virtio storage and network only */
}

static void test_topo_broken_fixture(void **state)
{
	(void)state;
	struct probe_topo t;
	struct probe_profile w;
	probe_profile_init(&w);
	assert_int_equal(probe_topo_read(&t, FIX "topo/broken.xml", &w), -1);
	assert_int_equal(t.src, PROBE_SRC_UNKNOWN);
	assert_int_equal(w.n_warnings, 1);
	assert_non_null(strstr(w.warnings[0], "broken.xml"));
	assert_int_equal(probe_topo_read(&t, FIX "topo/missing.xml", &w), -1);
	assert_int_equal(w.n_warnings, 2);
}

static void test_topo_this_machine(void **state)
{
	(void)state;
	struct probe_topo t;
	assert_int_equal(probe_topo_read(&t, NULL, NULL), 0);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	assert_true(t.pus >= 1 && t.pus <= online);
	assert_true(t.cores >= 1 && t.cores <= t.pus);
}

static void test_memory_size(void **state)
{
	(void)state;
	struct probe_memory m;
	memset(&m, 0, sizeof m);
	assert_int_equal(probe_memory_size(&m, NULL), 0);
	assert_true(m.total_bytes > (64ull << 20));
	assert_true(m.available_bytes > 0 && m.available_bytes <= m.total_bytes);
	assert_int_equal(m.src, PROBE_SRC_REPORTED);
}

static void test_fingerprint(void **state)
{
	(void)state;
	char a[24], b[24], c[24];
	probe_machine_fingerprint(a, sizeof a);
	probe_machine_fingerprint(b, sizeof b);
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	struct probe_profile p;
	probe_profile_init(&p);
	snprintf(p.cpu.brand, sizeof p.cpu.brand, "Some Other CPU");
	p.cpu.threads = 128;
	p.mem.total_bytes = 512ull << 30;
	probe_fingerprint(&p, c, sizeof c);
	assert_string_not_equal(a, c);
}

static void test_hw_from_profile(void **state)
{
	(void)state;
	struct probe_profile p;
	struct hw_spec h;
	probe_profile_init(&p);
	snprintf(p.cpu.brand, sizeof p.cpu.brand, "Test CPU 9000");
	p.cpu.cores = 16;
	p.mem.total_bytes = 64ull << 30;
	p.mem.available_bytes = 60ull << 30;
	p.mem.read.gbps = 83.5;
	p.mem.read.src = PROBE_SRC_MEASURED;
	p.mem.read.threads = 16;
	snprintf(p.mem.read.kernel, sizeof p.mem.read.kernel, "read avx512");
	p.compute.fp32.gops = 2400;
	p.compute.fp32.src = PROBE_SRC_MEASURED;
	snprintf(p.fingerprint, sizeof p.fingerprint, "0123456789abcdef");
	mdb_hw_from_profile(&h, &p);
	assert_string_equal(h.id, "this");
	assert_string_equal(h.host.cpu, "Test CPU 9000");
	assert_int_equal(h.host.cores, 16);
	assert_true(fabs(h.host.memory_gb - 64.0) < 1e-9);
	assert_true(fabs(h.host.memory_available_gb - 60.0) < 1e-9);
	assert_true(fabs(h.host.memory_bandwidth_gbps - 83.5) < 1e-9);
	assert_int_equal(h.host.memory_bandwidth_src, PROBE_SRC_MEASURED);
	assert_true(fabs(h.host.fp32_gflops - 2400) < 1e-9);
	assert_true(isnan(h.host.int8_gops));       /* not measured stays unknown */
	assert_int_equal(h.host.int8_src, PROBE_SRC_UNKNOWN);
	assert_int_equal(h.n_accel, 0);
	assert_true(h.measured);
	assert_non_null(strstr(h.measured_method, "read avx512"));
	assert_string_equal(h.fingerprint, "0123456789abcdef");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_names_round_trip),
		cmocka_unit_test(test_profile_init_unknowns),
		cmocka_unit_test(test_cpu_from_dump),
		cmocka_unit_test(test_cpu_dump_errors),
		cmocka_unit_test(test_cpu_this_machine),
		cmocka_unit_test(test_topo_synthetic_fixture),
		cmocka_unit_test(test_topo_vm_fixture),
		cmocka_unit_test(test_topo_broken_fixture),
		cmocka_unit_test(test_topo_this_machine),
		cmocka_unit_test(test_memory_size),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_hw_from_profile),
	};
	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}

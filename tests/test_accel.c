/*
 * tests: the accelerator probe — the backend interface with fake backends
 * (a GPU, the same GPU again through "OpenCL", a driver that aborts), Linux
 * accel NPUs from a recorded sysfs tree, the profile JSON both ways and as
 * text, the hardware description built from it, and the real OpenCL (PoCL
 * in CI) and CUDA backends where their libraries are present (skipped with
 * a message otherwise).
 */
#include <dlfcn.h>
#include <math.h>

#include "test_util.h"

#include "model_db/model_db.h"
#include "probe/accel.h"
#include "reports/report.h"

/* ---- fake backends ---------------------------------------------------------- */

static void fake_gpu(struct probe_accel *a, const char *backend, const char *bus)
{
	probe_accel_init(a);
	snprintf(a->name, sizeof a->name, "Fake GPU 24GB");
	snprintf(a->backend, sizeof a->backend, "%s", backend);
	snprintf(a->kind, sizeof a->kind, "gpu");
	snprintf(a->bus_id, sizeof a->bus_id, "%s", bus);
	a->memory_bytes = 24ull << 30;
	a->compute_units = 128;
	a->cc_major = 8;
	a->cc_minor = 9;
	a->memory_mhz = 10501;
	a->memory_bus_bits = 384;
	a->spec_bandwidth_gbps = 1008.096;
}

static int gpu_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			int max, char *note, size_t notelen)
{
	*priv = NULL;
	if (max < 1)
		return 0;
	fake_gpu(&out[0], "cuda", "0000:01:00.0");   /* upper/lower case as CUDA and hwloc differ */
	return 1;
}

static void put_samples(struct probe_accel_fig *f, double base)
{
	for (int i = 0; i < 5; i++)
		f->stat.samples[f->stat.n++] = base * (1.0 - 0.01 * i);
	snprintf(f->method, sizeof f->method, "fake timing");
	accel_fig_finish(f, 1);
}

static int gpu_measure(const struct accel_ctx *ctx, void *priv, struct probe_accel *a)
{
	put_samples(&a->copy, 900);
	put_samples(&a->read, 950);
	put_samples(&a->h2d, 25);
	put_samples(&a->fp16, 160);
	snprintf(a->method, sizeof a->method, "fake");
	snprintf(a->status, sizeof a->status, "measured");
	return 0;
}

static const struct accel_ops fake_cuda = {
	ACCEL_OPS_VERSION, "fakecuda", ACCEL_CAP_MEASURE, gpu_discover, gpu_measure, NULL,
};

/* the same device again, as NVIDIA's OpenCL platform lists it */
static int dup_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			int max, char *note, size_t notelen)
{
	*priv = NULL;
	fake_gpu(&out[0], "opencl", "0000:01:00.0");
	return 1;
}

static const struct accel_ops fake_dup = {
	ACCEL_OPS_VERSION, "fakeopencl", ACCEL_CAP_MEASURE, dup_discover, gpu_measure, NULL,
};

static int abort_discover(const struct accel_ctx *ctx, void **priv, struct probe_accel *out,
			  int max, char *note, size_t notelen)
{
	*priv = NULL;
	fclose(stderr);   /* keep the test log clean; this is the child process */
	abort();
}

static const struct accel_ops fake_abort = {
	ACCEL_OPS_VERSION, "crashy", ACCEL_CAP_MEASURE, abort_discover, NULL, NULL,
};

static const struct accel_ops fake_old = {
	ACCEL_OPS_VERSION + 7, "future", 0, gpu_discover, NULL, NULL,
};

static void profile_with_pci(struct probe_profile *p)
{
	probe_profile_init(p);
	p->topo.n_pci = 1;
	snprintf(p->topo.pci[0].bus_id, sizeof p->topo.pci[0].bus_id, "0000:01:00.0");
	p->topo.pci[0].numa_node = 1;
	p->topo.pci[0].link_gbps = 31.5;
	snprintf(p->topo.pci[0].vendor, sizeof p->topo.pci[0].vendor, "NVIDIA");
}

static int has_warning(const struct probe_profile *p, const char *needle)
{
	for (int i = 0; i < p->n_warnings; i++)
		if (strstr(p->warnings[i], needle))
			return 1;
	return 0;
}

static void test_backends_run_and_dedupe(void **state)
{
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	profile_with_pci(p);
	const struct accel_ops *list[] = {&fake_cuda, &fake_abort, &fake_dup, &fake_old,
					  &accel_null_ops, NULL};
	struct accel_ctx ctx = {.quick = 1, .warn_to = p};
	int n = probe_accel_run(p, list, &ctx, 1);
	assert_int_equal(n, 1);   /* the OpenCL listing of the same GPU is dropped */
	const struct probe_accel *a = &p->accel[0];
	assert_string_equal(a->backend, "cuda");
	assert_int_equal(a->numa_node, 1);          /* tied to hwloc's PCI object */
	assert_true(fabs(a->pci_link_gbps - 31.5) < 1e-9);
	assert_int_equal(a->copy.src, PROBE_SRC_MEASURED);
	assert_true(fabs(a->copy.value - 900) < 1e-9);   /* best of the samples */
	assert_int_equal(a->copy.stat.n, 5);
	assert_string_equal(p->accel_note, "1 GPU found");
	/* a driver that aborts takes only its child process down */
	assert_true(has_warning(p, "crashy backend: its driver crashed (signal 6"));
	assert_true(has_warning(p, "future skipped"));
	free(p);
}

static void test_no_gpu_says_so(void **state)
{
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	profile_with_pci(p);
	const struct accel_ops *list[] = {&accel_null_ops, NULL};
	struct accel_ctx ctx = {.quick = 1, .warn_to = p};
	assert_int_equal(probe_accel_run(p, list, &ctx, 1), 0);
	assert_non_null(strstr(p->accel_note, "no GPU found (no libcuda.so.1 / no OpenCL device)"));
	assert_true(has_warning(p, "no GPU found"));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	rep_profile_text(p, f);
	fclose(f);
	assert_non_null(strstr(text, "Accelerators\n  no GPU found"));
	free(text);
	free(p);
}

/* ---- Linux accel NPUs from a recorded sysfs tree ----------------------------- */

static void mkpath(const char *root, const char *rel)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
}

static void test_sysfs_npus(void **state)
{
	char root[512], path[1024];
	assert_int_equal(tu_tmpdir(root, sizeof root), 0);
	mkpath(root, "sys/bus/pci/drivers/intel_vpu");
	mkpath(root, "sys/class/accel/accel0/device");
	mkpath(root, "sys/class/accel/accel1/device");
	mkpath(root, "dev/accel");
	snprintf(path, sizeof path, "%s/sys/class/accel/accel0/device/driver", root);
	assert_int_equal(symlink("../../../../bus/pci/drivers/intel_vpu", path), 0);
	snprintf(path, sizeof path, "%s/sys/class/accel/accel0/device/uevent", root);
	tu_write_file(path, "DRIVER=intel_vpu\nPCI_CLASS=120000\nPCI_SLOT_NAME=0000:00:0b.0\n");
	snprintf(path, sizeof path, "%s/sys/class/accel/accel0/device/vendor", root);
	tu_write_file(path, "0x8086\n");
	snprintf(path, sizeof path, "%s/sys/class/accel/accel0/device/device", root);
	tu_write_file(path, "0x7d1d\n");
	snprintf(path, sizeof path, "%s/sys/class/accel/accel1/device/uevent", root);
	tu_write_file(path, "DRIVER=amdxdna\n");
	snprintf(path, sizeof path, "%s/dev/accel/accel0", root);
	tu_write_file(path, "");

	struct probe_accel out[PROBE_MAX_ACCEL];
	char note[160];
	int n = accel_sysfs_discover_at(root, out, PROBE_MAX_ACCEL, note, sizeof note);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "Intel NPU [8086:7d1d]");
	assert_string_equal(out[0].driver, "intel_vpu");
	assert_string_equal(out[0].kind, "npu");
	assert_string_equal(out[0].backend, "accel");
	assert_string_equal(out[0].bus_id, "0000:00:0b.0");
	assert_string_equal(out[0].dev_node, "/dev/accel/accel0");
	assert_string_equal(out[0].status, "present: no compute runtime to measure");
	assert_string_equal(out[1].name, "AMD XDNA NPU");
	assert_string_equal(out[1].dev_node, "");
	/* no figure is invented */
	for (int i = 0; i < n; i++) {
		assert_int_equal(out[i].copy.src, PROBE_SRC_UNKNOWN);
		assert_true(isnan(out[i].copy.value) && isnan(out[i].fp16.value));
		assert_true(isnan(out[i].h2d.value));
		assert_int_equal(out[i].memory_bytes, 0);
	}
	/* profile JSON: the NPU's figures and method are null */
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	probe_profile_init(p);
	p->accel[0] = out[0];
	p->n_accel = 1;
	char *json = rep_profile_json(p, 0);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"memory_bytes\":null"));
	assert_non_null(strstr(json, "\"bandwidth_gbps\":null"));
	assert_non_null(strstr(json, "\"fp16_tflops\":null"));
	assert_non_null(strstr(json, "\"method\":null"));
	free(json);
	/* and not in the hardware description: nothing to simulate with */
	struct hw_spec hw;
	mdb_hw_from_profile(&hw, p);
	assert_int_equal(hw.n_accel, 0);
	free(p);

	/* /dev/accel alone */
	snprintf(path, sizeof path, "%s/sys/class/accel", root);
	tu_rmrf(path);
	n = accel_sysfs_discover_at(root, out, PROBE_MAX_ACCEL, note, sizeof note);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].name, "accel device accel0 (driver unknown)");
	tu_rmrf(root);
	n = accel_sysfs_discover_at(root, out, PROBE_MAX_ACCEL, note, sizeof note);
	assert_int_equal(n, 0);
	assert_non_null(strstr(note, "no /sys/class/accel"));
}

/* ---- JSON, text, hardware description ------------------------------------------ */

static void measured_profile(struct probe_profile *p)
{
	profile_with_pci(p);
	const struct accel_ops *list[] = {&fake_cuda, NULL};
	struct accel_ctx ctx = {.quick = 1};
	assert_int_equal(probe_accel_run(p, list, &ctx, 1), 1);
	/* an OpenCL CPU device too (PoCL): listed, not used as an accelerator */
	struct probe_accel *c = &p->accel[p->n_accel++];
	probe_accel_init(c);
	snprintf(c->name, sizeof c->name, "pthread-cpu");
	snprintf(c->backend, sizeof c->backend, "opencl");
	snprintf(c->kind, sizeof c->kind, "cpu");
	c->memory_bytes = 8ull << 30;
	put_samples(&c->copy, 30);
}

static void test_json_round_trip(void **state)
{
	struct probe_profile *p = malloc(sizeof *p), *q = malloc(sizeof *q);
	assert_non_null(p);
	assert_non_null(q);
	measured_profile(p);
	char *json = rep_profile_json(p, 0);
	assert_non_null(json);
	static const char *const keys[] = {"\"accelerators\":[{\"name\":\"Fake GPU 24GB\"",
		"\"backend\":\"cuda\"", "\"memory_bytes\":25769803776", "\"bandwidth_gbps\":900,",
		"\"h2d_gbps\":25,", "\"fp16_tflops\":160,", "\"method\":\"fake\"",
		"\"compute_capability\":\"8.9\"", "\"accelerators_note\":\"1 GPU found\""};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_non_null(strstr(json, keys[i]));
	char err[256] = "";
	assert_int_equal(rep_profile_from_json(json, strlen(json), q, err, sizeof err), 0);
	assert_int_equal(q->n_accel, 2);
	const struct probe_accel *a = &p->accel[0], *b = &q->accel[0];
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->backend, b->backend);
	assert_int_equal(a->memory_bytes, b->memory_bytes);
	assert_int_equal(b->cc_major, 8);
	assert_int_equal(b->cc_minor, 9);
	assert_int_equal(b->numa_node, 1);
	assert_true(a->copy.value == b->copy.value);
	assert_true(a->fp16.value == b->fp16.value);
	assert_int_equal(b->fp16.src, PROBE_SRC_MEASURED);
	assert_int_equal(b->copy.stat.n, 5);
	assert_true(isnan(b->launch.value));
	assert_string_equal(p->accel_note, q->accel_note);
	/* written again, the same text */
	char *again = rep_profile_json(q, 0);
	assert_string_equal(json, again);
	free(again);
	free(json);
	/* headline figures alone (a hand-written or older profile) */
	const char *small = "{\"schema\": \"llmcap.profile/1\", \"accelerators\": [{\"name\": \"G\","
		" \"backend\": \"cuda\", \"kind\": \"gpu\", \"memory_bytes\": 1073741824,"
		" \"bandwidth_gbps\": 100, \"fp16_tflops\": null, \"h2d_gbps\": \"x\"}, 7]}";
	assert_int_equal(rep_profile_from_json(small, strlen(small), q, err, sizeof err), 0);
	assert_int_equal(q->n_accel, 1);
	assert_true(q->accel[0].copy.value == 100);
	assert_int_equal(q->accel[0].copy.src, PROBE_SRC_MEASURED);
	assert_true(isnan(q->accel[0].fp16.value) && isnan(q->accel[0].h2d.value));
	free(p);
	free(q);
}

static void test_text_marks(void **state)
{
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	measured_profile(p);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	rep_profile_text(p, f);
	fclose(f);
	assert_non_null(strstr(text, "Fake GPU 24GB (gpu, cuda)"));
	assert_non_null(strstr(text, "Memory bw spec    1008 GB/s (spec:"));
	assert_non_null(strstr(text, "Memory copy       900.0 GB/s (read+write)"));
	assert_non_null(strstr(text, "(measured: fake timing"));
	assert_non_null(strstr(text, "FP16 matrix       160.0 TFLOPS"));
	assert_non_null(strstr(text, "Kernel launch     unknown (not measured)"));
	assert_non_null(strstr(text, "pthread-cpu (cpu, opencl)"));
	/* within the report width */
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		assert_true(l <= 100);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	free(p);
}

static void test_hw_from_measured_gpu(void **state)
{
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	measured_profile(p);
	struct hw_spec hw;
	mdb_hw_from_profile(&hw, p);
	assert_int_equal(hw.n_accel, 1);   /* the OpenCL CPU device is not an accelerator */
	const struct hw_accel *a = &hw.accel[0];
	assert_string_equal(a->kind, "gpu");
	assert_string_equal(a->backend, "cuda");
	assert_true(fabs(a->memory_gb - 24) < 1e-9);
	assert_true(fabs(a->memory_bandwidth_gbps - 950) < 1e-9);   /* the read kernel */
	assert_int_equal(a->memory_bandwidth_src, PROBE_SRC_MEASURED);
	assert_true(fabs(a->fp16_tflops - 160) < 1e-9);
	assert_int_equal(a->fp16_src, PROBE_SRC_MEASURED);
	assert_true(fabs(a->link_gbps - 25) < 1e-9);
	assert_non_null(strstr(hw.measured_method, "gpu: 1"));
	/* without a read kernel: the copy; without either: the driver's spec */
	accel_fig_unknown(&p->accel[0].read);
	mdb_hw_from_profile(&hw, p);
	assert_true(fabs(hw.accel[0].memory_bandwidth_gbps - 900) < 1e-9);
	accel_fig_unknown(&p->accel[0].copy);
	accel_fig_unknown(&p->accel[0].fp16);
	mdb_hw_from_profile(&hw, p);
	assert_true(fabs(hw.accel[0].memory_bandwidth_gbps - 1008.096) < 1e-9);
	assert_int_equal(hw.accel[0].memory_bandwidth_src, PROBE_SRC_REPORTED);
	assert_true(isnan(hw.accel[0].fp16_tflops));
	/* the hardware JSON says which figures were measured */
	mdb_hw_from_profile(&hw, p);
	char *j = rep_hw_json(&hw, 0);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"accelerators\":[{\"memory_bandwidth_gbps\":\"reported\""));
	free(j);
	free(p);
}

/* ---- the real backends, where their libraries are ------------------------------ */

static int have_lib(const char *name)
{
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h)
		dlclose(h);
	return h != NULL;
}

static void test_opencl_real(void **state)
{
	if (!have_lib("libOpenCL.so.1")) {
		fprintf(stderr, "skipped: no libOpenCL.so.1 (apt-get install ocl-icd-libopencl1 "
			"pocl-opencl-icd runs this test on the CPU)\n");
		skip();
	}
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	probe_profile_init(p);
	const struct accel_ops *list[] = {&accel_opencl_ops, NULL};
	struct accel_ctx ctx = {.quick = 1, .warn_to = p};
	int n = probe_accel_run(p, list, &ctx, 1);
	if (n == 0) {
		fprintf(stderr, "skipped: libOpenCL.so.1 but no OpenCL device (%s); apt-get install "
			"pocl-opencl-icd adds one on the CPU\n", p->accel_note);
		free(p);
		skip();
	}
	for (int i = 0; i < n; i++) {
		const struct probe_accel *a = &p->accel[i];
		assert_string_equal(a->backend, "opencl");
		assert_true(a->name[0] != 0);
		assert_true(a->memory_bytes > 0);
		assert_true(a->compute_units > 0);
		assert_true(strncmp(a->status, "measured", 8) == 0);
		assert_int_equal(a->copy.src, PROBE_SRC_MEASURED);
		assert_true(a->copy.value > 0.05 && a->copy.value < 1e5);
		assert_true(a->h2d.value > 0.05 && a->d2h.value > 0.05);
		assert_true(isnan(a->fp16.value));
		assert_non_null(strstr(a->method, "fp16: not measured"));
	}
	free(p);
}

static void test_cuda_real(void **state)
{
	struct probe_profile *p = malloc(sizeof *p);
	assert_non_null(p);
	probe_profile_init(p);
	const struct accel_ops *list[] = {&accel_cuda_ops, NULL};
	struct accel_ctx ctx = {.quick = 1, .warn_to = p};
	int n = probe_accel_run(p, list, &ctx, 1);
	if (!have_lib("libcuda.so.1")) {
		assert_int_equal(n, 0);
		assert_non_null(strstr(p->accel_note, "no libcuda.so.1"));
		fprintf(stderr, "skipped: no libcuda.so.1 (no NVIDIA driver); the probe said: %s\n",
			p->accel_note);
		free(p);
		skip();
	}
	if (n == 0) {
		fprintf(stderr, "skipped: libcuda.so.1 but no CUDA device: %s\n", p->accel_note);
		free(p);
		skip();
	}
	const struct probe_accel *a = &p->accel[0];
	assert_string_equal(a->kind, "gpu");
	assert_true(a->cc_major >= 3 && a->compute_units > 0 && a->memory_bytes > 0);
	assert_true(a->copy.value > 10 && a->h2d.value > 0.5 && a->fp16.value > 0.1);
	assert_true(a->launch.value > 0.5 && a->launch.value < 1e4);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backends_run_and_dedupe),
		cmocka_unit_test(test_no_gpu_says_so),
		cmocka_unit_test(test_sysfs_npus),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_text_marks),
		cmocka_unit_test(test_hw_from_measured_gpu),
		cmocka_unit_test(test_opencl_real),
		cmocka_unit_test(test_cuda_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

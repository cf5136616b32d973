/*
 * probe: topology through hwloc — packages, NUMA nodes and their memory,
 * cores, hardware threads, caches, PCI display and accelerator devices.
 * Also the machine's memory size (/proc/meminfo, bounded by a cgroup
 * limit) and its fingerprint.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <hwloc.h>

#include "probe/probe.h"

#ifndef LLMCAP_HWLOC_VERSION
#define LLMCAP_HWLOC_VERSION "2"
#endif

/* PCI vendors seen on machines that run models; hwloc's own names (from
 * libpciaccess / pci.ids) win when it has them. */
static const struct {
	uint16_t id;
	const char *name;
} pci_vendors[] = {
	{0x10de, "NVIDIA"}, {0x1002, "AMD"}, {0x1022, "AMD"}, {0x8086, "Intel"},
	{0x106b, "Apple"}, {0x5143, "Qualcomm"}, {0x1e52, "Tenstorrent"},
	{0x1ae0, "Google"}, {0x1d0f, "Amazon"}, {0x1af4, "Red Hat (virtio)"},
	{0x1234, "QEMU"}, {0x15ad, "VMware"}, {0x1414, "Microsoft"},
	{0x1a03, "ASPEED"}, {0x102b, "Matrox"}, {0x1d17, "Zhaoxin"},
	{0x1f36, "Habana"}, {0x1da3, "Habana"}, {0x1cd2, "SambaNova"},
};

static const char *vendor_name(uint16_t id)
{
	for (size_t i = 0; i < sizeof pci_vendors / sizeof pci_vendors[0]; i++)
		if (pci_vendors[i].id == id)
			return pci_vendors[i].name;
	return "";
}

/* display (0x03), processing accelerators (0x12), coprocessors (0x0b40) */
static const char *pci_kind(uint16_t class_id)
{
	if (class_id == 0x0300 || class_id == 0x0380)
		return "display";
	if (class_id == 0x0302)
		return "3d";
	if (class_id >> 8 == 0x12)
		return "accelerator";
	if (class_id == 0x0b40)
		return "processing";
	return NULL;
}

static void add_caches(struct probe_topo *t, hwloc_topology_t topo)
{
	static const hwloc_obj_type_t types[] = {
		HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE,
		HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
	};
	int llc_level = 0;
	uint64_t llc_total = 0;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		int n = hwloc_get_nbobjs_by_type(topo, types[i]);
		if (n <= 0 || t->n_caches >= PROBE_MAX_CACHES)
			continue;
		hwloc_obj_t o = hwloc_get_obj_by_type(topo, types[i], 0);
		struct probe_cache *c = &t->caches[t->n_caches++];
		c->level = (int)o->attr->cache.depth;
		c->size_bytes = o->attr->cache.size;
		c->line_bytes = (int)o->attr->cache.linesize;
		c->instances = n;
		snprintf(c->type, sizeof c->type, "%s",
			 o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? "instruction" :
			 o->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? "data" : "unified");
		if (o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION && c->level >= llc_level) {
			uint64_t sum = 0;
			for (int k = 0; k < n; k++)
				sum += hwloc_get_obj_by_type(topo, types[i], (unsigned)k)->attr->cache.size;
			llc_level = c->level;
			llc_total = sum;
		}
	}
	t->llc_total_bytes = llc_total;
}

static void add_numa(struct probe_topo *t, hwloc_topology_t topo)
{
	int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	for (int i = 0; i < n && t->n_numa < PROBE_MAX_NUMA; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		struct probe_numa *nm = &t->numa[t->n_numa++];
		nm->os_index = (int)o->os_index;
		nm->memory_bytes = o->attr->numanode.local_memory;
		nm->cores = o->cpuset ? hwloc_get_nbobjs_inside_cpuset_by_type(topo, o->cpuset,
									 HWLOC_OBJ_CORE) : 0;
	}
}

static void add_pci(struct probe_topo *t, hwloc_topology_t topo)
{
	for (hwloc_obj_t o = hwloc_get_next_pcidev(topo, NULL); o;
	     o = hwloc_get_next_pcidev(topo, o)) {
		const struct hwloc_pcidev_attr_s *a = &o->attr->pcidev;
		const char *kind = pci_kind(a->class_id);
		if (!kind || t->n_pci >= PROBE_MAX_PCI)
			continue;
		struct probe_pci *d = &t->pci[t->n_pci++];
		snprintf(d->bus_id, sizeof d->bus_id, "%04x:%02x:%02x.%01x",
			 a->domain, a->bus, a->dev, a->func);
		d->vendor_id = a->vendor_id;
		d->device_id = a->device_id;
		d->class_id = a->class_id;
		snprintf(d->kind, sizeof d->kind, "%s", kind);
		const char *vn = hwloc_obj_get_info_by_name(o, "PCIVendor");
		const char *dn = hwloc_obj_get_info_by_name(o, "PCIDevice");
		snprintf(d->vendor, sizeof d->vendor, "%s", vn ? vn : vendor_name(a->vendor_id));
		snprintf(d->name, sizeof d->name, "%s", dn ? dn : "");
		d->link_gbps = a->linkspeed > 0 ? a->linkspeed : NAN;
		d->numa_node = -1;
		hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, o);
		if (anc && anc->nodeset) {
			int first = hwloc_bitmap_first(anc->nodeset);
			/* a device under the whole machine has no node of its own */
			if (first >= 0 && hwloc_bitmap_weight(anc->nodeset) == 1)
				d->numa_node = first;
		}
	}
}

int probe_topo_read(struct probe_topo *t, const char *xml_path,
		    struct probe_profile *warn_to)
{
	hwloc_topology_t topo;
	memset(t, 0, sizeof *t);
	for (int i = 0; i < PROBE_MAX_PCI; i++) {
		t->pci[i].numa_node = -1;
		t->pci[i].link_gbps = NAN;
	}
	if (hwloc_topology_init(&topo) != 0) {
		if (warn_to)
			probe_warn(warn_to, "hwloc could not start; topology unknown");
		return -1;
	}
	hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	/* hwloc's GPU plugins load vendor runtimes inside the topology load
	 * (PoCL aborts the process when it cannot size memory); the probe
	 * finds accelerators itself, so they stay off. */
	hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "opencl");
	hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "cuda");
	hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "nvml");
	hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "rsmi");
	hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "levelzero");
	if (xml_path && hwloc_topology_set_xml(topo, xml_path) != 0) {
		if (warn_to)
			probe_warn(warn_to, "hwloc cannot read topology XML %s; topology unknown",
				   xml_path);
		hwloc_topology_destroy(topo);
		return -1;
	}
	if (hwloc_topology_load(topo) != 0) {
		if (warn_to)
			probe_warn(warn_to, "hwloc could not load the topology%s%s; topology unknown",
				   xml_path ? " from " : "", xml_path ? xml_path : "");
		hwloc_topology_destroy(topo);
		return -1;
	}
	snprintf(t->method, sizeof t->method, "hwloc %s%s", LLMCAP_HWLOC_VERSION,
		 xml_path ? " (recorded XML)" : "");
	t->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	t->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	t->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	if (t->packages < 0)
		t->packages = 0;
	if (t->cores <= 0)
		t->cores = t->pus > 0 ? t->pus : 0;
	add_numa(t, topo);
	add_caches(t, topo);
	add_pci(t, topo);
	t->src = t->pus > 0 ? PROBE_SRC_REPORTED : PROBE_SRC_UNKNOWN;
	hwloc_topology_destroy(topo);
	return t->pus > 0 ? 0 : -1;
}

/* "Key:   123 kB" from /proc/meminfo, in bytes; 0 if absent. */
static uint64_t meminfo_kb(const char *text, const char *key)
{
	const char *s = strstr(text, key);
	unsigned long long kb;
	if (!s || sscanf(s + strlen(key), ": %llu kB", &kb) != 1)
		return 0;
	return (uint64_t)kb * 1024;
}

static uint64_t cgroup_value(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[64] = "";
	uint64_t v = 0;
	if (!f)
		return 0;
	if (fgets(buf, sizeof buf, f) && strncmp(buf, "max", 3) != 0)
		v = strtoull(buf, NULL, 10);
	fclose(f);
	return v;
}

int probe_memory_size(struct probe_memory *m, struct probe_profile *warn_to)
{
	char text[8192];
	FILE *f = fopen("/proc/meminfo", "r");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = 0;
	m->total_bytes = meminfo_kb(text, "MemTotal");
	m->available_bytes = meminfo_kb(text, "MemAvailable");
	snprintf(m->method, sizeof m->method, "/proc/meminfo MemTotal, MemAvailable");
	if (m->total_bytes == 0) {
		struct sysinfo si;
		if (sysinfo(&si) == 0) {
			m->total_bytes = (uint64_t)si.totalram * si.mem_unit;
			m->available_bytes = (uint64_t)(si.freeram + si.bufferram) * si.mem_unit;
			snprintf(m->method, sizeof m->method, "sysinfo(2) total, free + buffers");
		}
	}
	/* a cgroup v2 limit caps what this process may use */
	uint64_t limit = cgroup_value("/sys/fs/cgroup/memory.max");
	if (limit > 0 && limit < m->total_bytes) {
		uint64_t used = cgroup_value("/sys/fs/cgroup/memory.current");
		uint64_t room = limit > used ? limit - used : 0;
		if (room < m->available_bytes)
			m->available_bytes = room;
		size_t len = strlen(m->method);
		snprintf(m->method + len, sizeof m->method - len, ", cgroup memory.max");
	}
	if (m->total_bytes == 0) {
		m->src = PROBE_SRC_UNKNOWN;
		if (warn_to)
			probe_warn(warn_to, "memory size unknown: /proc/meminfo and sysinfo unreadable");
		return -1;
	}
	m->src = PROBE_SRC_REPORTED;
	return 0;
}

/* FNV-1a 64 */
static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void probe_fingerprint(const struct probe_profile *p, char *out, size_t outlen)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char buf[256];
	int n = snprintf(buf, sizeof buf, "%s|%s|%d|%d|%d|%d|%llu", p->cpu.arch, p->cpu.brand,
			 p->cpu.family, p->cpu.model, p->cpu.stepping, p->cpu.threads,
			 (unsigned long long)((p->mem.total_bytes + (1ull << 29)) >> 30));
	h = fnv(h, buf, (size_t)(n > 0 ? n : 0));
	FILE *f = fopen("/etc/machine-id", "r");
	if (f) {
		char id[64] = "";
		if (fgets(id, sizeof id, f))
			h = fnv(h, id, strcspn(id, "\n"));
		fclose(f);
	}
	snprintf(out, outlen, "%016llx", (unsigned long long)h);
}

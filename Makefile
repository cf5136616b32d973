# llmcap — build, test, run, bench.
#
#   make          build ./llmcap
#   make test     build and run every test (cmocka unit tests + CLI tests),
#                 then test-neon where its cross tools are installed
#   make test-neon  the NEON kernels cross-compiled for aarch64, their tests
#                 run under qemu-aarch64 with and without the dot-product
#                 instructions; every module's aarch64 syntax checked
#   make run      probe this machine and print the profile
#   make bench    memory bandwidth beside likwid-bench/sysbench, storage beside fio,
#                 llmcap fit over the whole catalog against its 50 ms target,
#                 the dashboard's time per key (tmux) against 50 ms,
#                 llmcap's kernels beside llama.cpp (llama-cpp-python) on the same GGUFs
#   make asan     the tests under AddressSanitizer + UBSan
#   make fuzz     build libFuzzer targets (clang) under build/fuzz/
#   make fuzz-run run each for FUZZ_SECONDS (60) on a copy of its corpus
#
# Project flags are kept apart from the user's CFLAGS/CPPFLAGS/LDFLAGS.
# V=1 prints every command.

CC      ?= cc
BUILD   ?= build
PKGS    := hwloc libcpuid libcjson ncursesw cmocka liburing
ARCH    := $(shell uname -m)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# --- dependencies: found through pkg-config, installed when missing -------
missing_pkgs = $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
MISSING := $(missing_pkgs)
ifneq ($(MISSING),)
ifeq ($(LLMCAP_NO_INSTALL),)
$(info llmcap: missing libraries: $(MISSING))
INSTALL_STATUS := $(shell ./scripts/install-deps.sh >&2; echo $$?)
MISSING := $(missing_pkgs)
endif
endif
ifneq ($(MISSING),)
$(error missing $(MISSING). Install with: apt-get update && apt-get install -y pkg-config libhwloc-dev libcpuid-dev libcjson-dev libncurses-dev libcmocka-dev liburing-dev)
endif

DEP_CFLAGS := $(shell pkg-config --cflags hwloc libcpuid libcjson ncursesw liburing)
DEP_LIBS   := $(shell pkg-config --libs hwloc libcpuid libcjson ncursesw liburing)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka)

LLMCAP_VERSION := 0.1.0
HWLOC_VERSION := $(shell pkg-config --modversion hwloc)
LLMCAP_CPPFLAGS := -I. -D_GNU_SOURCE -DLLMCAP_VERSION='"$(LLMCAP_VERSION)"' \
	-DLLMCAP_HWLOC_VERSION='"$(HWLOC_VERSION)"' $(DEP_CFLAGS)
LLMCAP_CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter -pthread -MMD -MP
LLMCAP_LDLIBS   := $(DEP_LIBS) -lpthread -lm -ldl

CFLAGS  ?=
SAN     ?=

# --- sources: every module folder; per-ISA files by suffix ----------------
MODULES := cudrv probe model_db simulator kernels tui reports
LIB_SRC := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
ifeq ($(filter x86_64 i686 i386,$(ARCH)),)
LIB_SRC := $(filter-out %_avx2.c %_avx512.c %_avxvnni.c %_amx.c,$(LIB_SRC))
endif
ifneq ($(ARCH),aarch64)
LIB_SRC := $(filter-out %_neon.c %_dotprod.c,$(LIB_SRC))
endif
# Catalogs (model_db/data/NAME.json) are compiled in: tools/embed writes
# build/gen/data_NAME.c holding `const char mdb_data_NAME[]` and its _len.
DATA_JSON := $(wildcard model_db/data/*.json)
DATA_OBJ := $(DATA_JSON:model_db/data/%.json=$(BUILD)/gen/data_%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(DATA_OBJ)
# CUDA kernels (kernels/cuda/NAME.cu), only where nvcc is found: each is
# compiled to a fatbin (sm_80, sm_89, sm_90 and PTX for compute_90) that
# tools/embed turns into build/gen/cuda_NAME.c (kern_cuda_NAME[], _len),
# loaded at run time through the driver API. Without nvcc,
# build/gen/nocuda_NAME.c holds an empty array and llmcap says it was
# built without CUDA kernels. NVCC= forces the latter.
NVCC    ?= $(shell command -v nvcc 2>/dev/null)
CUDA_SRC := $(wildcard kernels/cuda/*.cu)
CUDA_DEP := $(wildcard kernels/cuda/*.cuh kernels/cuda/*.h)
NVCC_ARCH := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_89,code=sm_89 \
	-gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
ifneq ($(NVCC),)
LIB_OBJ += $(CUDA_SRC:kernels/cuda/%.cu=$(BUILD)/gen/cuda_%.o)
else
LIB_OBJ += $(CUDA_SRC:kernels/cuda/%.cu=$(BUILD)/gen/nocuda_%.o)
endif
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB     := $(BUILD)/libllmcap.a

ISA :=
$(BUILD)/%_avx2.o:    ISA := -mavx2 -mfma -mf16c
$(BUILD)/%_avxvnni.o: ISA := -mavx2 -mfma -mavxvnni
$(BUILD)/%_avx512.o:  ISA := -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mavx2
$(BUILD)/%_amx.o:     ISA := -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mavx2 -mf16c -mamx-tile -mamx-int8
$(BUILD)/%_dotprod.o: ISA := -march=armv8.2-a+dotprod

.PHONY: all test test-neon check-aarch64 run bench asan fuzz fuzz-run clean
all: llmcap

llmcap: $(CLI_OBJ) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -o $@ $(CLI_OBJ) $(LIB) $(LDFLAGS) $(LLMCAP_LDLIBS)

$(LIB): $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(LLMCAP_CPPFLAGS) $(CPPFLAGS) $(LLMCAP_CFLAGS) $(ISA) $(CFLAGS) $(SAN) -c -o $@ $<

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -o $@ $<

$(BUILD)/gen/data_%.c: model_db/data/%.json $(BUILD)/tools/embed
	@mkdir -p $(dir $@)
	@echo "  EMBED   $<"
	$(Q)$(BUILD)/tools/embed mdb_data_$(subst -,_,$*) $< $@

$(BUILD)/gen/data_%.o: $(BUILD)/gen/data_%.c
	$(Q)$(CC) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

$(BUILD)/gen/cuda_%.fatbin: kernels/cuda/%.cu $(CUDA_DEP)
	@mkdir -p $(dir $@)
	@echo "  NVCC    $<"
	$(Q)$(NVCC) -fatbin -O3 $(NVCC_ARCH) $(NVCCFLAGS) -o $@ $<

$(BUILD)/gen/cuda_%.c: $(BUILD)/gen/cuda_%.fatbin $(BUILD)/tools/embed
	$(Q)$(BUILD)/tools/embed kern_cuda_$* $< $@

$(BUILD)/gen/nocuda_%.c: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	$(Q)printf '/* llmcap built without nvcc: no CUDA kernels */\nconst char kern_cuda_%s[] = {0};\nconst unsigned long kern_cuda_%s_len = 0UL;\n' $* $* > $@

$(BUILD)/gen/cuda_%.o: $(BUILD)/gen/cuda_%.c
	$(Q)$(CC) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

$(BUILD)/gen/nocuda_%.o: $(BUILD)/gen/nocuda_%.c
	$(Q)$(CC) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

.PRECIOUS: $(BUILD)/gen/cuda_%.fatbin

$(BUILD)/tests/%: tests/%.c $(LIB) tests/test_util.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(LLMCAP_CPPFLAGS) $(CMOCKA_CFLAGS) $(CPPFLAGS) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -o $@ $< $(LIB) $(LDFLAGS) $(CMOCKA_LIBS) $(LLMCAP_LDLIBS)

test: llmcap $(TEST_BIN)
	$(Q)./tests/run.sh $(BUILD)/tests
	$(Q)if [ "$(ARCH)" = aarch64 ]; then \
		echo "test-neon: skipped (native aarch64: the NEON kernels ran in the tests above)"; \
	elif $(NEON_READY); then \
		$(MAKE) --no-print-directory test-neon; \
	else \
		echo "test-neon: skipped: no aarch64 cross tools ($(NEON_CC), $(NEON_QEMU), arm64 cmocka and hwloc)."; \
		echo "  Install: $(NEON_INSTALL)"; \
	fi

# --- NEON on another machine: the kernels cross-compiled for aarch64 and
# their tests (test_kernels, _mm, _ops) run under qemu-user, on a CPU
# model with the dot-product instructions (max) and on one without
# (cortex-a53); each run checks that run-time detection reports what that
# model has. Needs Debian's cross compiler, qemu-user and the arm64
# libraries the tests link; check-aarch64 compiles every module's sources
# for aarch64 (syntax only: libcpuid has no arm64 package to link).
NEON_CC      ?= aarch64-linux-gnu-gcc
NEON_QEMU    ?= qemu-aarch64
NEON_CFLAGS  ?=
NEON_CPUS    ?= max cortex-a53
NEON_AR      ?= aarch64-linux-gnu-ar
NEON_INSTALL := dpkg --add-architecture arm64 && apt-get update && apt-get install -y gcc-aarch64-linux-gnu qemu-user libcmocka-dev:arm64 libhwloc-dev:arm64
NEON_READY   = command -v $(NEON_CC) >/dev/null 2>&1 && command -v $(NEON_QEMU) >/dev/null 2>&1 && \
	[ "$$($(NEON_CC) -print-file-name=libcmocka.so)" != libcmocka.so ] && \
	[ "$$($(NEON_CC) -print-file-name=libhwloc.so)" != libhwloc.so ]
NEON_BUILD   := $(BUILD)/neon
NEON_SRC     := $(filter-out %_avx2.c %_avx512.c %_avxvnni.c %_amx.c,$(wildcard kernels/*.c)) \
	model_db/quant.c model_db/model.c model_db/gguf.c $(wildcard cudrv/*.c)
NEON_OBJ     := $(NEON_SRC:%.c=$(NEON_BUILD)/%.o)
NEON_LIB     := $(NEON_BUILD)/libllmcap-kernels.a
NEON_BIN     := $(addprefix $(NEON_BUILD)/tests/,test_kernels test_kernels_mm test_kernels_ops)
NEON_FLAGS    = -I. -D_GNU_SOURCE $(LLMCAP_CFLAGS) $(NEON_CFLAGS)
AARCH64_SRC  := $(filter-out %_avx2.c %_avx512.c %_avxvnni.c %_amx.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c))) $(CLI_SRC)

$(NEON_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (aarch64)"
	$(Q)$(NEON_CC) $(NEON_FLAGS) $(ISA) -c -o $@ $<

$(NEON_LIB): $(NEON_OBJ)
	$(Q)rm -f $@ && $(NEON_AR) rcs $@ $^

$(NEON_BUILD)/tests/%: tests/%.c $(NEON_LIB) tests/test_util.h
	@mkdir -p $(dir $@)
	@echo "  CC      $< (aarch64)"
	$(Q)$(NEON_CC) $(NEON_FLAGS) -o $@ $< $(NEON_LIB) -lcmocka -lhwloc -lpthread -lm -ldl

check-aarch64:
	@echo "  CHECK   $(words $(AARCH64_SRC)) sources compile for aarch64 ($(NEON_CC) -fsyntax-only)"
	$(Q)$(NEON_CC) $(LLMCAP_CPPFLAGS) -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -pthread \
		-fsyntax-only $(AARCH64_SRC)

test-neon: check-aarch64 $(NEON_BIN)
	$(Q)for cpu in $(NEON_CPUS); do \
		case $$cpu in max) want="neon neondot";; cortex-a53) want=neon;; *) want=;; esac; \
		echo "== NEON kernel tests under $(NEON_QEMU) -cpu $$cpu (expected features: [$$want]) =="; \
		LLMCAP_TEST_EXPECT_FEATURES="$$want" LLMCAP_TEST_WRAP="$(NEON_QEMU) -cpu $$cpu" \
			./tests/run.sh $(NEON_BUILD)/tests || exit 1; \
	done

run: llmcap
	./llmcap probe

# Every benchmark runs; the target fails when any misses its goal.
bench: llmcap
	$(Q)rc=0; python3 bench/bandwidth.py ./llmcap || rc=1; echo; \
		python3 bench/storage.py ./llmcap || rc=1; echo; \
		python3 bench/fit.py ./llmcap || rc=1; echo; \
		python3 bench/tui.py ./llmcap || rc=1; echo; \
		python3 bench/kernels.py ./llmcap || rc=1; echo; \
		python3 bench/predict_ctx.py ./llmcap || rc=1; echo; \
		python3 bench/engine.py || rc=1; exit $$rc

# Sanitizer build in its own tree so normal objects are not mixed in.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LLMCAP_BIN=build/asan/llmcap test-asan

test-asan: $(TEST_BIN) $(CLI_OBJ) $(LIB)
	$(Q)$(CC) $(LLMCAP_CFLAGS) $(CFLAGS) $(SAN) -o $(BUILD)/llmcap $(CLI_OBJ) $(LIB) $(LDFLAGS) $(LLMCAP_LDLIBS)
	$(Q)LLMCAP_BIN=$(BUILD)/llmcap ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 UBSAN_OPTIONS=print_stacktrace=1 \
		./tests/run.sh $(BUILD)/tests

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz \
		SAN="-fsanitize=fuzzer-no-link,address,undefined" fuzz-bins

fuzz-bins: $(LIB)
	@mkdir -p $(BUILD)
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); echo "  FUZZ    $$n"; \
		$(CC) $(LLMCAP_CPPFLAGS) $(LLMCAP_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $(BUILD)/$$n $$f $(LIB) $(LLMCAP_LDLIBS) || exit 1; done

# Runs each fuzz target for FUZZ_SECONDS on a copy of its seed corpus
# (libFuzzer adds inputs to the corpus folder; the repository's stays as is).
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); c=$${n#fuzz_}; c=$${c%_json}; \
		rm -rf build/fuzz/corpus-$$c && mkdir -p build/fuzz/corpus-$$c && \
		cp tests/fuzz/corpus/$$c/* build/fuzz/corpus-$$c/ && \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$c || exit 1; done

clean:
	rm -rf build llmcap

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(NEON_OBJ:.o=.d) $(NEON_BIN:=.d)

# memtestbed: the only build file (non-recursive). `make help` lists the targets.
#
# Trees under build/, all from the same sources:
#   build/host/    hosted, ASan+UBSan, MM_DEBUG=1 (unit tests)
#   build/tsan/    hosted, TSan, MM_DEBUG=1 (tests named *_mt_test.c)
#   build/rel/     hosted, -O2 (host engine, tools, benchmarks)
#   build/guest/P-V-H/  freestanding guest kernel, one per strategy combination
#   build/bin/     commands: vmm, host engine, tools, benchmarks
#
# Conventions that need no Makefile edit:
#   strategies/*.c, workloads/core/*.c       freestanding, in the guest and every hosted tree
#   workloads/host/*.c, vmm/*.c (not main.c)  hosted library (libmtb.a)
#   */tests/*_test.c    one test program each (exit 0 pass, 77 skip); *_mt_test.c also under TSan
#   */tests/*.c (other) test support, linked into every test
#   */tests/*_test.sh   shell tests, run with the paths below in the environment
#   */tools/*.c         one command each: build/bin/NAME (rel tree)
#   */bench/*_bench.c   one benchmark each: build/bin/NAME (rel tree), run by `make bench`

PHYS_DEFAULT := buddy
VIRT_DEFAULT := bitmap
HEAP_DEFAULT := talc
PHYS ?= $(PHYS_DEFAULT)
VIRT ?= $(VIRT_DEFAULT)
HEAP ?= $(HEAP_DEFAULT)
PHYS_ALL := buddy freelist
VIRT_ALL := bitmap btree freelist
HEAP_ALL := talc slab

V ?= 0
ifeq ($(V),1)
Q :=
quiet =
else
Q := @
quiet = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

CC  := gcc
CXX := g++
AR  := ar
BUILD := build
GCC_INC := $(shell $(CC) -print-file-name=include)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wundef -Wcast-align -Wwrite-strings -Wno-unused-parameter
DEPFLAGS := -MMD -MP

# ---- sources ----------------------------------------------------------------
STRAT_SRCS   := $(wildcard strategies/*.c)
WLCORE_SRCS  := $(wildcard workloads/core/*.c)
WLHOST_SRCS  := $(wildcard workloads/host/*.c)
VMMLIB_SRCS  := $(filter-out vmm/main.c,$(wildcard vmm/*.c))
LIB_SRCS     := $(STRAT_SRCS) $(WLCORE_SRCS) $(WLHOST_SRCS) $(VMMLIB_SRCS)
TEST_MAINS   := $(wildcard */tests/*_test.c)
TEST_MT      := $(filter %_mt_test.c,$(TEST_MAINS))
TEST_SUPPORT := $(filter-out $(TEST_MAINS),$(wildcard */tests/*.c))
TEST_SCRIPTS := $(sort $(wildcard */tests/*_test.sh))
TOOL_SRCS    := $(wildcard */tools/*.c)
BENCH_SRCS   := $(wildcard */bench/*_bench.c)

# Freestanding code: strategies and the replay core build with -std=c11 and no
# libc headers, in every tree (a stray #include <string.h> fails to build).
FREESTANDING = $(if $(findstring /tests/,$(1))$(findstring /bench/,$(1))$(findstring /tools/,$(1)),,$(filter strategies/%.c workloads/core/%.c,$(1)))
std_for = $(if $(call FREESTANDING,$(1)),-std=c11 -ffreestanding -nostdinc -isystem $(GCC_INC),-std=gnu11)

HOST_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DMM_DEBUG=1
TSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread -DMM_DEBUG=1
REL_FLAGS  := -O2 -g -DMM_DEBUG=0
LDLIBS     := -lpthread -llzma -lz -lm

.PHONY: all help deps test check bench run plots report guest guests vmm tools clean format
.SECONDARY:
.DELETE_ON_ERROR:

all: vmm guest tools

help:
	@echo 'make            build the VMM, the guest ($(PHYS)-$(VIRT)-$(HEAP)) and the tools'
	@echo 'make test       install missing packages, build everything, run all tests'
	@echo 'make run        install missing packages, run the default comparison (CSV + PNG)'
	@echo '                (scripts/run.sh --help: ENGINE=kvm|qemu|libvirt|host, resume, --quick)'
	@echo '                a subset by name: PHYS= VIRT= HEAP= TRACES= PEERS= (comma lists)'
	@echo '                URIS="qemu+ssh://host/system ..." or HOSTS=FILE: over several libvirt hosts'
	@echo 'make report     results/report.md + .html from the latest sweep (results/latest)'
	@echo 'make plots      redraw the latest sweep'"'"'s figures (results/latest/plots/ and plots/)'
	@echo 'make traces     record a few programs'"'"' malloc traces into workloads/traces/ (make run replays them)'
	@echo 'make bench      benchmarks, results in results/ (gbench_bench: results/gbench.json)'
	@echo 'make stress     fuzzers MINUTES each (default 2), ROUNDS of concurrent/killed sweeps'
	@echo 'make guest PHYS=buddy|freelist VIRT=bitmap|btree|freelist HEAP=talc|slab'
	@echo 'make guests     every strategy combination'
	@echo 'make V=1        show the commands'
	@echo 'The guest'"'"'s commands (build/bin/vmm ... GUEST.elf -- COMMAND; README "Driving the guest by hand"):'
	@scripts/guest_commands.sh

deps:
	$(Q)scripts/deps.sh

# ---- hosted trees: host (ASan+UBSan), tsan, rel -------------------------------
# $(1) tree name, $(2) compiler flags
define hosted_tree
$(BUILD)/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(call quiet,CC[$(1)],$$<)$(CC) $$(call std_for,$$<) $(2) $(WARN) $(DEPFLAGS) -c $$< -o $$@
$(BUILD)/$(1)/libmtb.a: $$(patsubst %.c,$(BUILD)/$(1)/%.o,$(LIB_SRCS))
	$$(call quiet,AR,$$@)rm -f $$@ && $(AR) rcs $$@ $$^
$(BUILD)/$(1)/libtest.a: $$(patsubst %.c,$(BUILD)/$(1)/%.o,$(TEST_SUPPORT))
	$$(call quiet,AR,$$@)rm -f $$@ && $(AR) rcs $$@ $$^
$(BUILD)/$(1)/bin/%: $(BUILD)/$(1)/%.o $(BUILD)/$(1)/libtest.a $(BUILD)/$(1)/libmtb.a
	@mkdir -p $$(@D)
	$$(call quiet,LD,$$@)$(CC) $(2) -o $$@ $$^ $(LDLIBS)
endef
$(eval $(call hosted_tree,host,$(HOST_FLAGS)))
$(eval $(call hosted_tree,tsan,$(TSAN_FLAGS)))
$(eval $(call hosted_tree,rel,$(REL_FLAGS)))

HOST_TESTS := $(patsubst %.c,$(BUILD)/host/bin/%,$(TEST_MAINS))
TSAN_TESTS := $(patsubst %.c,$(BUILD)/tsan/bin/%,$(TEST_MT))

# ---- commands (rel tree) ------------------------------------------------------
TOOLS := $(foreach s,$(TOOL_SRCS),$(BUILD)/bin/$(basename $(notdir $(s))))
BENCHES := $(foreach s,$(BENCH_SRCS),$(BUILD)/bin/$(basename $(notdir $(s))))
define command_rule
$(BUILD)/bin/$(basename $(notdir $(1))): $(BUILD)/rel/$(basename $(1)).o $(BUILD)/rel/libmtb.a
	@mkdir -p $$(@D)
	$$(call quiet,LD,$$@)$(CC) -o $$@ $$^ $(LDLIBS) $$(EXTRA_LIBS_$(basename $(notdir $(1))))
endef
$(foreach s,$(TOOL_SRCS) $(BENCH_SRCS),$(eval $(call command_rule,$(s))))
tools: $(TOOLS)

# ---- section: vmm (issue 2) ---------------------------------------------------
VMM := $(BUILD)/bin/vmm
vmm: $(VMM)
$(VMM): $(BUILD)/rel/vmm/main.o $(BUILD)/rel/libmtb.a
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(CC) -o $@ $^ $(LDLIBS)

# ---- section: guest (issue 2) -------------------------------------------------
# One freestanding kernel per combination: build/guest/PHYS-VIRT-HEAP/guest.elf.
COMBOS := $(foreach p,$(PHYS_ALL),$(foreach v,$(VIRT_ALL),$(foreach h,$(HEAP_ALL),$(p)-$(v)-$(h))))
COMBO := $(PHYS)-$(VIRT)-$(HEAP)
GUEST_SRCS := $(wildcard guest/*.c guest/*.S) $(STRAT_SRCS) $(WLCORE_SRCS)
GUEST_FLAGS := -O2 -g -ffreestanding -nostdinc -isystem $(GCC_INC) -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387 -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -mcmodel=small -Iguest
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/linker.ld -Wl,-z,max-page-size=4096 \
	-Wl,--build-id=none
GUEST_ELF = $(BUILD)/guest/$(1)/guest.elf
# Build id in every result row; build/guest/build-id changes only when the id does,
# so guest/version.c is recompiled exactly then.
GUEST_BUILD_ID := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(shell mkdir -p $(BUILD)/guest && echo '$(GUEST_BUILD_ID)' | cmp -s - $(BUILD)/guest/build-id || \
	echo '$(GUEST_BUILD_ID)' > $(BUILD)/guest/build-id)
# $(1) combination, $(2) phys, $(3) virt, $(4) heap
define guest_combo
$(BUILD)/guest/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(call quiet,CC[g],$$<)$(CC) $$(if $$(call FREESTANDING,$$<),-std=c11,-std=gnu11) \
		$(GUEST_FLAGS) $(WARN) $(DEPFLAGS) -DMM_DEBUG=0 \
		-DPHYS_NAME='"$(2)"' -DVIRT_NAME='"$(3)"' -DHEAP_NAME='"$(4)"' \
		-DPHYS_OPS=frame_$(2)_ops -DVIRT_OPS=va_$(3)_ops -DHEAP_OPS=heap_$(4)_ops \
		-DCOMBO_NAME='"$(1)"' -DGUEST_BUILD_ID='"$(GUEST_BUILD_ID)"' -c $$< -o $$@
$(BUILD)/guest/$(1)/guest/version.o: $(BUILD)/guest/build-id
$(BUILD)/guest/$(1)/%.o: %.S
	@mkdir -p $$(@D)
	$$(call quiet,AS[g],$$<)$(CC) $(GUEST_FLAGS) $(DEPFLAGS) -c $$< -o $$@
$(BUILD)/guest/$(1)/guest.elf: $$(patsubst %,$(BUILD)/guest/$(1)/%.o,$$(basename $(GUEST_SRCS))) guest/linker.ld
	$$(call quiet,LD,$$@)$(CC) $(GUEST_FLAGS) $(GUEST_LDFLAGS) -o $$@ \
		$$(filter %.o,$$^) -lgcc
endef
$(foreach c,$(COMBOS),$(eval $(call guest_combo,$(c),$(word 1,$(subst -, ,$(c))),$(word 2,$(subst -, ,$(c))),$(word 3,$(subst -, ,$(c))))))
GUEST := $(call GUEST_ELF,$(COMBO))
# The strategy tables defined so far, and the combinations all of whose strategies exist
# (`make run` builds those; a strategy still on its branch leaves its combinations out).
comma := ,
STRAT_TABLES := $(shell grep -ho '^const struct [a-z]*_ops [a-z_]*_ops' strategies/*.c 2>/dev/null | awk '{print $$4}')
combo_ok = $(and $(filter frame_$(word 1,$(subst -, ,$(1)))_ops,$(STRAT_TABLES)),$(filter va_$(word 2,$(subst -, ,$(1)))_ops,$(STRAT_TABLES)),$(filter heap_$(word 3,$(subst -, ,$(1)))_ops,$(STRAT_TABLES)))
COMBOS_OK := $(foreach c,$(COMBOS),$(if $(call combo_ok,$(c)),$(c)))
.PHONY: guests-available
guests-available: $(foreach c,$(COMBOS_OK),$(call GUEST_ELF,$(c)))
	$(if $(filter-out $(COMBOS_OK),$(COMBOS)),@echo 'guests: not built (a strategy is not merged yet): $(filter-out $(COMBOS_OK),$(COMBOS))')
guest: $(GUEST)
guests: $(foreach c,$(COMBOS),$(call GUEST_ELF,$(c)))

# ---- section: tests -----------------------------------------------------------
# Paths shell tests get in their environment.
TEST_ENV := MTB_BUILD=$(BUILD) MTB_VMM=$(VMM) MTB_GUEST=$(GUEST) MTB_BIN=$(BUILD)/bin
test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)$(TEST_ENV) scripts/run_tests.sh $(HOST_TESTS) $(TSAN_TESTS) $(TEST_SCRIPTS)
check: test
.PHONY: test-build
test-build: all $(HOST_TESTS) $(TSAN_TESTS) $(TOOLS) $(BENCHES)
# guest/tests boot both heaps of the default PHYS-VIRT pair (heaptest).
test-build: $(foreach h,$(HEAP_ALL),$(call GUEST_ELF,$(PHYS)-$(VIRT)-$(h)))

# ---- section: bench (issues 3-5, 7) -------------------------------------------
# Programs that pick strategies by name (heap_fixture_*_ops) get every strategy table
# defined in strategies/*.c forced in (the fixture refers to the VA ones weakly).
STRAT_FORCE := $(foreach t,$(STRAT_TABLES),-Wl$(comma)-u$(comma)$(t))
# heap_bench (five files) runs the heaps over the strategies picked by name, and
# heap_efficiency on the test-support fixture (rel libtest.a); it dlopens the peers.
HEAP_BENCH_OBJS := $(BUILD)/rel/workloads/bench/heap_bench_heaps.o \
	$(BUILD)/rel/workloads/bench/heap_bench_wl.o $(BUILD)/rel/workloads/bench/heap_bench_larson.o \
	$(BUILD)/rel/workloads/bench/heap_bench_job.o
EXTRA_LIBS_heap_bench := $(STRAT_FORCE) $(BUILD)/rel/libtest.a $(BUILD)/rel/libmtb.a -ldl
$(BUILD)/bin/heap_bench: $(HEAP_BENCH_OBJS) $(BUILD)/rel/libtest.a
# heap_bench under TSan: its threads' hand-offs (larson's per-slot order, xmalloc's
# queues), run by strategies/tests/heap_bench_tsan_test.sh.
HB_TSAN := $(BUILD)/tsan/bin/heap_bench
$(HB_TSAN): $(patsubst $(BUILD)/rel/%,$(BUILD)/tsan/%,$(BUILD)/rel/workloads/bench/heap_bench.o \
		$(HEAP_BENCH_OBJS)) $(BUILD)/tsan/libtest.a $(BUILD)/tsan/libmtb.a
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(CC) $(TSAN_FLAGS) -o $@ $^ $(STRAT_FORCE) -ldl $(LDLIBS)
test-build: $(HB_TSAN)
# va_bench: its command line and rows (va_bench.c) over its runs (va_bench_run.c,
# va_bench_holes.c).
$(BUILD)/bin/va_bench: $(BUILD)/rel/workloads/bench/va_bench_run.o $(BUILD)/rel/workloads/bench/va_bench_holes.o
EXTRA_LIBS_va_bench := $(BUILD)/rel/libmtb.a
EXTRA_LIBS_mtb_host := $(STRAT_FORCE) $(BUILD)/rel/libtest.a $(BUILD)/rel/libmtb.a
$(BUILD)/bin/mtb_host: $(BUILD)/rel/libtest.a
# gbench_bench: C benchmarks through the C++ shim over Google Benchmark (gbench.h).
GBENCH_SHIM := $(BUILD)/rel/workloads/bench/gbench_shim.o
$(GBENCH_SHIM): workloads/bench/gbench_shim.cc workloads/bench/gbench.h
	@mkdir -p $(@D)
	$(call quiet,CXX[rel],$<)$(CXX) -std=c++17 $(REL_FLAGS) -Wall -Wextra -Werror -c $< -o $@
EXTRA_LIBS_gbench_bench := $(STRAT_FORCE) $(BUILD)/rel/libtest.a $(BUILD)/rel/libmtb.a \
	-lbenchmark -lstdc++ -ldl
$(BUILD)/bin/gbench_bench: $(GBENCH_SHIM) $(BUILD)/rel/libtest.a
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCHES) tools $(call GUEST_ELF,$(PHYS)-$(VIRT)-talc) $(call GUEST_ELF,$(PHYS)-$(VIRT)-slab)
	$(Q)scripts/bench.sh $(BENCHES) scripts/va_holes.sh scripts/hermit_case.sh scripts/replay_direct.sh

# ---- section: run (issue 7) ---------------------------------------------------
# PHYS, VIRT, HEAP, TRACES, PEERS given on the command line (or in the environment;
# comma lists) select what runs: scripts/run.sh --phys --virt --heaps --traces --peers.
# The names are checked before anything is installed or built (run.sh --check).
# URIS="URI ..." / HOSTS=FILE: the libvirt hosts of the sweep (scripts/run.sh --uri, --hosts).
RUN_VARS := PHYS:phys VIRT:virt HEAP:heaps TRACES:traces PEERS:peers
RUN_ARGS = $(strip $(foreach p,$(RUN_VARS),$(if $(and $(filter command line environment,\
	$(origin $(word 1,$(subst :, ,$(p))))),$(strip $($(word 1,$(subst :, ,$(p)))))),\
	--$(word 2,$(subst :, ,$(p))) '$(strip $($(word 1,$(subst :, ,$(p)))))')))
RUN_HOSTS = $(foreach u,$(URIS),--uri '$(u)') $(if $(HOSTS),--hosts '$(HOSTS)')
run:
	$(Q)scripts/run.sh --check $(RUN_ARGS)
	$(Q)$(MAKE) --no-print-directory deps all tools guests-available $(BUILD)/bin/frame_bench \
		PHYS=$(PHYS_DEFAULT) VIRT=$(VIRT_DEFAULT) HEAP=$(HEAP_DEFAULT)
	$(Q)scripts/run.sh $(RUN_ARGS) $(RUN_HOSTS)

# ---- section: report (issue 7) ------------------------------------------------
report:
	$(Q)scripts/report.sh

# make plots: the latest sweep's figures drawn again (after a change to plots/*.gp).
plots:
	$(Q)plots/latest.sh

# ---- section: workloads (issue 6) ---------------------------------------------
# Parser fuzzers (libFuzzer, clang): build/fuzz/fuzz_NAME, built by `make test` and
# smoke-run by workloads/tests/fuzz_smoke_test.sh; `make fuzz` builds them alone.
FUZZ_SRCS := $(wildcard workloads/fuzz/fuzz_*.c)
FUZZ_LIB_SRCS := $(filter-out workloads/core/machine.c workloads/core/heap_null.c \
	workloads/core/va_run.c,$(WLCORE_SRCS)) \
	$(wildcard workloads/host/trace_*.c) workloads/host/vmt.c \
	workloads/host/panic.c workloads/host/out_file.c workloads/host/json_read.c \
	workloads/tests/malloc_heap.c
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -DMM_DEBUG=1
FUZZERS := $(patsubst workloads/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
$(BUILD)/fuzz/%: workloads/fuzz/%.c $(FUZZ_LIB_SRCS) $(wildcard workloads/*/*.h)
	@mkdir -p $(@D)
	$(call quiet,FUZZ,$@)clang $(FUZZ_FLAGS) $(WARN) -o $@ $< $(FUZZ_LIB_SRCS) -llzma -lz
.PHONY: fuzz
fuzz: $(FUZZERS)
test-build: $(FUZZERS)
# `make stress`: every fuzzer for MINUTES (default 2), then ROUNDS (default 3) rounds of
# two sweeps at once and kill-and-resume (scripts/stress.sh; STRESS_ARGS: more options,
# e.g. --seconds 5 for a short run); not part of `make test`.
.PHONY: stress
stress: $(FUZZERS) $(BUILD)/bin/mtb_host $(BUILD)/bin/rows2csv $(BUILD)/bin/trace
	$(Q)MTB_BIN=$(BUILD)/bin MTB_BUILD=$(BUILD) scripts/stress.sh --minutes $(or $(MINUTES),2) --rounds $(or $(ROUNDS),3) $(STRESS_ARGS)

# LD_PRELOAD allocation recorder, and `make traces`: record a few programs found
# here into workloads/traces/ (ignored by git).
RECORDER := $(BUILD)/lib/libmtbrec.so
$(RECORDER): $(wildcard workloads/recorder/*.c workloads/recorder/*.h)
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(CC) -std=gnu11 -O2 -g -fPIC -shared -fvisibility=hidden $(WARN) \
		-o $@ $(filter %.c,$^) -ldl -lpthread
.PHONY: recorder traces
recorder: $(RECORDER)
test-build: $(RECORDER)
traces: $(RECORDER) $(BUILD)/bin/trace
	$(Q)workloads/recorder/record_traces.sh workloads/traces

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

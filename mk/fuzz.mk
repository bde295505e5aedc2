# libFuzzer targets (issue 8): tests/fuzz/fuzz_<name>.c, each linked with
# its own build of the core (clang, -fsanitize=fuzzer,address,undefined)
# in $(BUILD)/fuzz/. Seed corpora live in tests/fuzz/corpus/<name>/.
#
#   make fuzz            each target for FUZZ_SECONDS (default 600), one after
#                        the other; new inputs go to $(BUILD)/fuzz/corpus/<name>
#   make fuzz-smoke      each target for FUZZ_SMOKE_SECONDS (run by make test,
#                        one suite per target)
#   make fuzz-seeds      regenerate the seed corpora (tests/fuzz/gen_seeds.c)
#   make fuzz-coverage   line coverage of the core reached by the corpora so far
#                        (seeds + $(BUILD)/fuzz/corpus), per target and together
#
# Crashes are written to $(BUILD)/fuzz/crashes/<name>/ and fail the run.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_TARGETS := elf rsc rpmsg ns
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(CSTD) $(WARN) $(INC) -O1 -g $(FUZZ_SAN) -D_GNU_SOURCE
FUZZ_CORE_OBJS := $(CORE_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-FUZZ $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_DIR)/libamp.a: $(FUZZ_CORE_OBJS)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(wildcard tests/c/*.h) \
                    $(FUZZ_DIR)/libamp.a
	@echo "  LD-FUZZ $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/c $< \
	    $(FUZZ_DIR)/libamp.a -o $@

# The seed generator is an ordinary host program.
$(FUZZ_DIR)/gen_seeds: tests/fuzz/gen_seeds.c $(wildcard tests/c/*.h) $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) -Itests/c $< -o $@ $(BUILD)/lib/libamp.a

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds
fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    tools/run-fuzz.sh $(FUZZ_DIR) $$t $(FUZZ_SECONDS) || exit 1; \
	done

# One suite of make test's total per target (its line of libFuzzer figures
# is in $(BUILD)/test-results/fuzz-<name>.log).
FUZZ_SMOKES := $(FUZZ_TARGETS:%=fuzz-smoke-%)
.PHONY: $(FUZZ_SMOKES)
fuzz-smoke: $(FUZZ_SMOKES)
$(FUZZ_SMOKES): fuzz-smoke-%: $(FUZZ_DIR)/fuzz_%
	@$(RUN_SUITE) fuzz-$* tools/run-fuzz.sh $(FUZZ_DIR) $* $(FUZZ_SMOKE_SECONDS)

fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	$(FUZZ_DIR)/gen_seeds tests/fuzz/corpus

# ---- Coverage: the same targets built with source-based coverage (no
# sanitizers), each corpus replayed once (-runs=0), reported by llvm-cov.
FUZZ_COV_DIR := $(BUILD)/fuzz-cov
FUZZ_COV_FLAGS := $(CSTD) $(WARN) $(INC) -O1 -g -D_GNU_SOURCE -fprofile-instr-generate \
                  -fcoverage-mapping
FUZZ_COV_OBJS := $(CORE_SRCS:%.c=$(FUZZ_COV_DIR)/obj/%.o)
FUZZ_COV_BINS := $(FUZZ_TARGETS:%=$(FUZZ_COV_DIR)/fuzz_%)
LLVM_PROFDATA ?= llvm-profdata-14
LLVM_COV ?= llvm-cov-14

$(FUZZ_COV_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-COV  $<"; $(FUZZ_CC) $(FUZZ_COV_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_COV_DIR)/libamp.a: $(FUZZ_COV_OBJS)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(FUZZ_COV_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(wildcard tests/c/*.h) \
                        $(FUZZ_COV_DIR)/libamp.a
	@echo "  LD-COV  $@"; $(FUZZ_CC) $(FUZZ_COV_FLAGS) -fsanitize=fuzzer -Itests/c $< \
	    $(FUZZ_COV_DIR)/libamp.a -o $@

.PHONY: fuzz-coverage
fuzz-coverage: deps $(FUZZ_COV_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    LLVM_PROFILE_FILE=$(FUZZ_COV_DIR)/$$t.profraw $(FUZZ_COV_DIR)/fuzz_$$t -runs=0 \
	        $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t >$(FUZZ_COV_DIR)/$$t.log 2>&1 || \
	        { tail -n 20 $(FUZZ_COV_DIR)/$$t.log; exit 1; }; \
	    $(LLVM_PROFDATA) merge -o $(FUZZ_COV_DIR)/$$t.profdata $(FUZZ_COV_DIR)/$$t.profraw || exit 1; \
	    $(LLVM_COV) report $(FUZZ_COV_DIR)/fuzz_$$t -instr-profile=$(FUZZ_COV_DIR)/$$t.profdata \
	        -ignore-filename-regex='tests/' >$(FUZZ_COV_DIR)/$$t.txt || exit 1; \
	    awk -v t=$$t '/^TOTAL/ { printf "fuzz-%s: %s of lines, %s of branches of the core it links (%s)\n", \
	        t, $$10, $$13, "$(FUZZ_COV_DIR)/" t ".txt" }' $(FUZZ_COV_DIR)/$$t.txt; \
	done
	@$(LLVM_PROFDATA) merge -o $(FUZZ_COV_DIR)/all.profdata $(FUZZ_TARGETS:%=$(FUZZ_COV_DIR)/%.profraw)
	@echo "all targets together: core line coverage"
	@$(LLVM_COV) report $(FUZZ_COV_DIR)/fuzz_elf $(FUZZ_TARGETS:%=-object $(FUZZ_COV_DIR)/fuzz_%) \
	    -instr-profile=$(FUZZ_COV_DIR)/all.profdata -ignore-filename-regex='tests/' | sed 's/^/  /'

test: fuzz-smoke

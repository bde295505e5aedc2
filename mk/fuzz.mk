# libFuzzer targets (issue 8): tests/fuzz/fuzz_<name>.c, each linked with
# its own build of the core (clang, -fsanitize=fuzzer,address,undefined)
# in $(BUILD)/fuzz/. Seed corpora live in tests/fuzz/corpus/<name>/.
#
#   make fuzz            each target for FUZZ_SECONDS (default 600), one after
#                        the other; new inputs go to $(BUILD)/fuzz/corpus/<name>
#   make fuzz-smoke      each target for FUZZ_SMOKE_SECONDS (run by make test)
#   make fuzz-seeds      regenerate the seed corpora (tests/fuzz/gen_seeds.c)
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

fuzz-smoke: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    tools/run-fuzz.sh $(FUZZ_DIR) $$t $(FUZZ_SMOKE_SECONDS) || exit 1; \
	done

fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	$(FUZZ_DIR)/gen_seeds tests/fuzz/corpus

test: fuzz-smoke

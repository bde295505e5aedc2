# The emulated Cortex-M4 core of sim-h747 (simcore-cm4/, unicorn) and the M4
# firmware SDK (sdk/cm4): firmware/*.c built for the real chip (Thumb-2,
# arm-none-eabi) into build/firmware/<name>.elf. The native x86-64 builds
# are build/firmware/<name>-x86_64.elf (sim.mk).

SIMCORE_CM4 := $(BUILD)/bin/amp-simcore-cm4
CM4_CORE_SRCS := $(sort $(wildcard $(H747)/simcore-cm4/*.c))
# uc_pages.c takes unicorn 2.0.x's per-store allocations away (as 2.1.0
# does; docs/performance.md), so the C library's malloc is enough.
CM4_CORE_LIBS := -lunicorn -lpthread
$(SIMCORE_CM4): $(CM4_CORE_SRCS) $(H747)/simcore-cm4/cm4.h $(H747)/core_args.h
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(CSTD) $(WARN) $(CFLAGS) -D_GNU_SOURCE -fPIE -pie $(CM4_CORE_SRCS) \
	    -o $@ $(CM4_CORE_LIBS)

# ---- M4 firmware: the SDK is a makefile fragment usable outside this tree.
AMP_ROOT := .
include $(H747)/sdk/cm4/amp-m4.mk

CM4_FW_COMMON_OBJS := $(patsubst %,$(BUILD)/fw-cm4/%.o,$(basename $(AMP_M4_SRCS)))
CM4_FIRMWARE_SRCS := $(sort $(wildcard firmware/*.c))
CM4_FIRMWARE := $(CM4_FIRMWARE_SRCS:firmware/%.c=$(BUILD)/firmware/%.elf)

$(BUILD)/fw-cm4/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M4FW $<"; $(AMP_M4_CC) $(AMP_M4_CFLAGS) $(WARN) -MMD -MP -c $< -o $@
$(BUILD)/firmware/%.elf: $(BUILD)/fw-cm4/firmware/%.o $(CM4_FW_COMMON_OBJS) $(AMP_M4_LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD-M4FW $@"; $(AMP_M4_CC) $(AMP_M4_CFLAGS) $(AMP_M4_LDFLAGS) $< $(CM4_FW_COMMON_OBJS) \
	    $(AMP_M4_LIBS) -Wl,-Map=$(@:.elf=.map) -o $@
.SECONDARY: $(CM4_FW_COMMON_OBJS) $(CM4_FIRMWARE_SRCS:firmware/%.c=$(BUILD)/fw-cm4/firmware/%.o)

# make footprint: the linked M4 virtual_uart.elf and the core library's share.
.PHONY: footprint-m4
# The .bin too: a relinked .elf beside a stale .bin fails test_sim's same-bytes check.
footprint-m4: $(BUILD)/firmware/virtual_uart.elf $(BUILD)/firmware/virtual_uart.bin
	$(PYTHON) tools/footprint_m4.py --size $(ARM_SIZE) --elf $< --map $(<:.elf=.map) \
	    --json $(BUILD)/footprint-m4.json
footprint: footprint-m4

.PHONY: cm4
cm4: $(SIMCORE_CM4) $(CM4_FIRMWARE)
all: cm4
sim: cm4
test-c: cm4
# virtual_uart.elf is the M4 image: the amp command's tests boot it.
test-cli: cm4

# The Python module finds amp-simcore-cm4 next to amp-simcore.
$(BUILD)/python/amp-simcore-cm4: $(SIMCORE_CM4)
	@mkdir -p $(@D)
	cp -f $< $@
python: $(BUILD)/python/amp-simcore-cm4
# make install puts amp-simcore-cm4 beside amp-simcore (LIBEXEC_PROGRAMS, mk/zinstall.mk).

# ---- Python tests on both core types: tests/python runs against the M4
# images (mk/python.mk); here again against the native ones.
PY_TEST_FIRMWARE_CM4 := $(BUILD)/tests/python/ns_probe-cm4.elf
$(PY_TEST_FIRMWARE_CM4): $(BUILD)/fw-cm4/tests/python/firmware/ns_probe.o $(CM4_FW_COMMON_OBJS) $(AMP_M4_LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD-M4FW $@"; $(AMP_M4_CC) $(AMP_M4_CFLAGS) $(AMP_M4_LDFLAGS) $< $(CM4_FW_COMMON_OBJS) \
	    $(AMP_M4_LIBS) -o $@
.SECONDARY: $(BUILD)/fw-cm4/tests/python/firmware/ns_probe.o
test-python: $(PY_TEST_FIRMWARE_CM4) $(BUILD)/python/amp-simcore-cm4 cm4

.PHONY: test-python-native
# (mk/python.mk and sim.mk are read after this file: name the files here.)
CM4_NATIVE_TEST_FW := $(CM4_FIRMWARE_SRCS:firmware/%.c=$(BUILD)/firmware/%-x86_64.elf) \
    $(patsubst tests/python/firmware/%.c,$(BUILD)/tests/python/%.elf,$(wildcard tests/python/firmware/*.c))
test-python-native: python $(CM4_NATIVE_TEST_FW)
	@$(RUN_SUITE) python-native env $(PY_TEST_ENV) AMP_TEST_CORE=native $(PYTHON) tests/python/run.py
test: test-python-native

# ---- C tests of the M4 core: a test firmware, and the chip's flash image
# (what a flasher writes at 0x08100000) to compare with what the core ran.
CM4_TEST_FW := $(patsubst tests/c/firmware/%.c,$(BUILD)/tests/c-firmware/%.elf,\
    $(sort $(wildcard tests/c/firmware/*.c)))
$(BUILD)/tests/c-firmware/%.elf: $(BUILD)/fw-cm4/tests/c/firmware/%.o $(CM4_FW_COMMON_OBJS) $(AMP_M4_LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD-M4FW $@"; $(AMP_M4_CC) $(AMP_M4_CFLAGS) $(AMP_M4_LDFLAGS) $< $(CM4_FW_COMMON_OBJS) \
	    $(AMP_M4_LIBS) -o $@
.SECONDARY: $(CM4_TEST_FW:$(BUILD)/tests/c-firmware/%.elf=$(BUILD)/fw-cm4/tests/c/firmware/%.o)
ARM_OBJCOPY ?= arm-none-eabi-objcopy
# Gaps between sections (alignment, e.g. before .data's load image) are
# 0xff, as erased flash reads: the image then equals what the core's flash holds.
$(BUILD)/firmware/%.bin: $(BUILD)/firmware/%.elf
	@echo "  BIN     $@"; $(ARM_OBJCOPY) -O binary --gap-fill 0xff -j .isr_vector -j .text \
	    -j .rodata -j .ARM.exidx -j .data $< $@
test-c: $(CM4_TEST_FW) $(BUILD)/firmware/virtual_uart.bin

# ---- make bench: the emulated M4 beside the native core, in the same run
# (mk/bench.mk measures the native one first and then runs this).
# bench.elf is built the fast way (AMP_M4_FAST_*: -O3, LTO); it still is an
# image for the chip. The other images stay -O2 (make footprint reads their maps).
BENCH_CM4_FW := $(BUILD)/firmware/bench.elf
CM4_FAST_OBJS := $(patsubst %,$(BUILD)/fw-cm4-fast/%.o,firmware/bench $(basename $(AMP_M4_SRCS)))
$(BUILD)/fw-cm4-fast/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M4FW $< (fast)"; $(AMP_M4_CC) $(AMP_M4_FAST_CFLAGS) $(WARN) -MMD -MP -c $< -o $@
$(BENCH_CM4_FW): $(CM4_FAST_OBJS) $(AMP_M4_LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD-M4FW $@"; $(AMP_M4_CC) $(AMP_M4_FAST_CFLAGS) $(AMP_M4_FAST_LDFLAGS) $(CM4_FAST_OBJS) \
	    $(AMP_M4_LIBS) -Wl,-Map=$(@:.elf=.map) -o $@
-include $(CM4_FAST_OBJS:.o=.d)
.PHONY: bench-cm4
bench-cm4: bench-build $(BENCH_CM4_FW) $(SIMCORE_CM4)
	$(BENCH_BIN) --firmware $(BENCH_CM4_FW) --out $(BENCH_DIR)/cm4 $(BENCH_ARGS)
	$(PYTHON) tools/bench_cm4.py $(BENCH_DIR)/results.json $(BENCH_DIR)/cm4/results.json \
	    $(BENCH_DIR)/cm4-vs-native.json

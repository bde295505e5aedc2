# MicroPython's `openamp` module (bindings/micropython). MicroPython builds
# the module itself (USER_C_MODULES, see docs/micropython.md); this tree
# builds what it links: libamp-mpy.a, the port glue and the shared binding
# layer (bindings/common), next to libamp-sim.a and libamp.a. None of it
# needs MicroPython's headers, so make test builds and tests it here.

MPY_GLUE_SRCS := bindings/micropython/ompy_port.c $(sort $(wildcard bindings/common/*.c))
MPY_GLUE_CFLAGS := -Ibindings/common -Ibindings/micropython -pthread \
                   -DOMPY_SIMCORE_DEFAULT='"$(abspath $(BUILD))/bin/amp-simcore"'
MPY_GLUE_OBJS := $(MPY_GLUE_SRCS:%.c=$(BUILD)/mpy-obj/%.o)
MPY_GLUE_SAN_OBJS := $(BUILD)/mpy-san/bindings/micropython/ompy_port.o

$(BUILD)/mpy-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-MPY  $<"; $(CC) $(HOST_CFLAGS) $(MPY_GLUE_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/mpy-san/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-SAN  $<"; $(CC) $(SAN_CFLAGS) $(MPY_GLUE_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/lib/libamp-mpy.a: $(MPY_GLUE_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; rm -f $@; $(AR) rcs $@ $^
$(BUILD)/san/libamp-mpy.a: $(MPY_GLUE_SAN_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; rm -f $@; $(AR) rcs $@ $^

.PHONY: micropython-glue test-micropython
micropython-glue: $(BUILD)/lib/libamp-mpy.a $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
all: micropython-glue

# The glue's C test links its sanitizer build, then the shared layer's
# (mk/python.mk), the board and the core.
$(BUILD)/tests/test_mpy_port: $(BUILD)/san/libamp-mpy.a $(BUILD)/san/libopenamp-core.a
$(BUILD)/tests/test_mpy_port: SAN_TEST_LIBS += $(BUILD)/san/libamp-mpy.a $(OPC_SAN_LIB) \
    $(BUILD)/san/libamp-sim.a $(BUILD)/san/libamp.a
$(BUILD)/tests/test_mpy_port: SAN_CFLAGS += $(MPY_GLUE_CFLAGS)

# The microcontroller side (opc_mcu.c, ompy_h747.c) is compiled by the
# stm32 port's build; here it is compile-checked for Cortex-M: the remote
# role always, the M7 host role when its platform (boards/stm32h747/m7) is
# in the tree.
MPY_MCU_SRCS := bindings/micropython/opc_mcu.c bindings/micropython/ompy_h747.c
# gnu99 as MicroPython builds it (newlib hides pthread types from strict C).
MPY_MCU_FLAGS := $(filter-out -std=c11,$(FREE_FLAGS)) -std=gnu99 -Ibindings/common -Ibindings/micropython -DOMPY_MCU=1
MPY_MCU_OBJS := $(MPY_MCU_SRCS:%.c=$(BUILD)/mpy-m4/%.o)
$(BUILD)/mpy-m4/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M4   $< (remote role)"; $(ARM_CC) $(MPY_MCU_FLAGS) $(CM4_FLAGS) -DOMPY_REMOTE=1 \
	    -MMD -MP -c $< -o $@
ifneq ($(wildcard $(H747)/m7/amp_stm32h747_m7.h),)
MPY_MCU_OBJS += $(MPY_MCU_SRCS:%.c=$(BUILD)/mpy-m7/%.o)
$(BUILD)/mpy-m7/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M7   $< (host role)"; $(ARM_CC) $(MPY_MCU_FLAGS) -mcpu=cortex-m7 -mthumb \
	    -I$(H747)/m7 -I$(H747)/sdk/cm4/include -DOMPY_REMOTE=0 $(MPY_M7_CORE_DEFS) -MMD -MP -c $< -o $@
# The loader and life cycle as the module's micropython.mk builds them for the M7
# (ELF32 only, the board's table only); tests/c/test_elf_mcu.c runs that loader.
include bindings/micropython/openamp/m7_options.mk
MPY_M7_CORE_DEFS := $(OMPY_M7_CORE_DEFS)
MPY_MCU_OBJS += $(BUILD)/mpy-m7/src/remoteproc/remoteproc.o $(BUILD)/mpy-m7/src/remoteproc/elf.o
endif
.PHONY: micropython-mcu-check
micropython-mcu-check: $(MPY_MCU_OBJS)
all: micropython-mcu-check
test: micropython-mcu-check

# Test firmware for the MicroPython tests (the board's SDK, as mk/python.mk's).
MPY_TEST_FIRMWARE := $(BUILD)/tests/micropython/ns_drop.elf
$(MPY_TEST_FIRMWARE): $(BUILD)/fw/tests/micropython/firmware/ns_drop.o $(BUILD)/firmware/virtual_uart.elf $(H747)/sdk/sim-h747.ld
	@mkdir -p $(@D)
	@echo "  LD-FW   $@"; $(CC) $(FW_CFLAGS) $(FW_LDFLAGS) $< $(FW_COMMON_OBJS) -lgcc -o $@
.SECONDARY: $(BUILD)/fw/tests/micropython/firmware/ns_drop.o
all: $(MPY_TEST_FIRMWARE)

# The module's behaviour tests run under a MicroPython binary, which is not
# part of this tree: MICROPYTHON=/path/to/micropython make test-micropython.
# Without it the runner says so and skips (it cannot run in CI); with it,
# the suite counts in make test's total.
test-micropython: micropython-glue $(BUILD)/firmware/virtual_uart.elf $(BUILD)/firmware/fault.elf \
                  $(BUILD)/tests/python/ns_probe.elf $(MPY_TEST_FIRMWARE) $(SIMCORE)
	@if [ -z "$(MICROPYTHON)" ]; then AMP_BUILD=$(BUILD) $(PYTHON) tests/micropython/run.py; \
	else $(RUN_SUITE) micropython env AMP_BUILD=$(BUILD) $(PYTHON) tests/micropython/run.py \
	    $(MICROPYTHON); fi
test: test-micropython
-include $(MPY_GLUE_OBJS:.o=.d) $(MPY_GLUE_SAN_OBJS:.o=.d) $(MPY_MCU_OBJS:.o=.d)

# The simulated board sim-h747: host library (sim/), the simulated core
# (amp-simcore), the firmware SDK (sdk/), example firmware and the C example.

# Where amp-simcore is installed; the library also finds it relative to
# itself (amp_sim_find_simcore), so a prefix moved after the build works.
LIBEXECDIR ?= $(PREFIX)/libexec/amp

# ---- Host library: static, position independent (the Python module links it).
SIM_SRCS := $(sort $(wildcard $(H747)/sim/*.c))
SIM_HOST_OBJS := $(SIM_SRCS:%.c=$(BUILD)/host/%.o)
SIM_SAN_OBJS := $(SIM_SRCS:%.c=$(BUILD)/san/%.o)
$(SIM_HOST_OBJS) $(SIM_SAN_OBJS): CPPFLAGS_SIM := -DAMP_LIBEXECDIR='"$(LIBEXECDIR)"'
$(BUILD)/host/$(H747)/sim/%.o: $(H747)/sim/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"; $(CC) $(HOST_CFLAGS) $(CPPFLAGS_SIM) -MMD -MP -c $< -o $@
$(BUILD)/san/$(H747)/sim/%.o: $(H747)/sim/%.c
	@mkdir -p $(@D)
	@echo "  CC-SAN  $<"; $(CC) $(SAN_CFLAGS) $(CPPFLAGS_SIM) -MMD -MP -c $< -o $@
$(BUILD)/lib/libamp-sim.a: $(SIM_HOST_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(BUILD)/san/libamp-sim.a: $(SIM_SAN_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; $(AR) rcs $@ $^
# Tests link it before libamp.a (it uses the core).
SAN_TEST_LIBS := $(BUILD)/san/libamp-sim.a $(SAN_TEST_LIBS)

# ---- The simulated core: an ordinary PIE, far from the board's addresses.
SIMCORE := $(BUILD)/bin/amp-simcore
$(SIMCORE): $(H747)/simcore/simcore.c $(H747)/core_args.h
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(CSTD) $(WARN) $(CFLAGS) -D_GNU_SOURCE -fPIE -pie $< -o $@

# ---- Firmware SDK for the native core: x86-64, freestanding, linked at the
# board's addresses; build/firmware/<name>-x86_64.elf (the M4 builds: cm4.mk).
FW_CFLAGS := $(CSTD) $(WARN) $(INC) -I$(H747)/sdk/include -O2 -g -ffreestanding -fno-pic -fno-pie \
             -fno-stack-protector -mno-red-zone -fcf-protection=none \
             -fno-asynchronous-unwind-tables -fno-unwind-tables \
             -fno-tree-loop-distribute-patterns -ffunction-sections -fdata-sections
FW_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(H747)/sdk/sim-h747.ld -Wl,--gc-sections \
              -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096
FW_SDK_SRCS := $(H747)/sdk/crt0.S $(H747)/sdk/hal.c $(H747)/sdk/hal_linux.c $(H747)/sdk/libc.c
FW_CORE_SRCS := src/platform/error.c src/vring/vring.c src/vring/vring_device.c src/rsc/rsc.c \
                src/rpmsg/rpmsg.c src/rpmsg/rpmsg_remote.c $(wildcard src/rpmsg/rpmsg_rsc.c)
FW_COMMON_OBJS := $(patsubst %,$(BUILD)/fw/%.o,$(basename $(FW_SDK_SRCS) $(FW_CORE_SRCS)))
FIRMWARE_SRCS := $(sort $(wildcard firmware/*.c))
FIRMWARE := $(FIRMWARE_SRCS:firmware/%.c=$(BUILD)/firmware/%-x86_64.elf)

$(BUILD)/fw/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-FW   $<"; $(CC) $(FW_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/fw/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS-FW   $<"; $(CC) $(FW_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/firmware/%-x86_64.elf: $(BUILD)/fw/firmware/%.o $(FW_COMMON_OBJS) $(H747)/sdk/sim-h747.ld
	@mkdir -p $(@D)
	@echo "  LD-FW   $@"; $(CC) $(FW_CFLAGS) $(FW_LDFLAGS) $< $(FW_COMMON_OBJS) -lgcc -o $@

# ---- C example.
SIM_EXAMPLES := $(BUILD)/examples/uart_echo
$(BUILD)/examples/%: examples/%.c $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) $< -o $@ $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a

.PHONY: sim firmware
sim: $(BUILD)/lib/libamp-sim.a $(SIMCORE) $(FIRMWARE) $(SIM_EXAMPLES)
firmware: $(FIRMWARE)
all: sim
# The sim tests boot the firmware on amp-simcore.
test-c: $(FIRMWARE) $(SIMCORE)

# The C example must print the five echoes it asks for (it checks their text).
.PHONY: test-example
test-example: $(SIM_EXAMPLES) $(FIRMWARE) $(SIMCORE)
	@$(RUN_SUITE) example sh -c 'out=$$("$$0" "$$1") || { echo "$$out"; exit 1; }; \
	    echo "$$out"; n=$$(printf "%s\n" "$$out" | grep -c "^echo: "); \
	    echo "uart_echo: $$n echoes"; test "$$n" -eq 5' \
	    $(BUILD)/examples/uart_echo $(BUILD)/firmware/virtual_uart.elf
test: test-example
# Keep the firmware objects (make would delete them as intermediates).
.SECONDARY: $(FW_COMMON_OBJS) $(FIRMWARE_SRCS:firmware/%.c=$(BUILD)/fw/firmware/%.o)

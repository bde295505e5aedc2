# Top-level build. `make` builds everything into build/, `make test` runs
# every test, `make demo` runs the seed's example against the simulated core.
# Each part of the tree adds its own rules in mk/*.mk.

BUILD   ?= build
CC      ?= cc
PYTHON  ?= python3
ARM_CC  ?= arm-none-eabi-gcc
ARM_SIZE ?= arm-none-eabi-size

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-align \
           -Wno-missing-field-initializers
CSTD    := -std=c11
INC     := -Iinclude
CFLAGS  ?= -O2 -g
HOST_CFLAGS := $(CSTD) $(WARN) $(INC) $(CFLAGS) -fPIC -D_GNU_SOURCE
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := $(CSTD) $(WARN) $(INC) -O1 -g $(SAN_FLAGS) -D_GNU_SOURCE

# The portable core, layer by layer (bottom first). No OS headers here.
CORE_PLATFORM_SRCS := src/platform/error.c
CORE_VRING_SRCS    := src/vring/vring.c src/vring/vring_driver.c src/vring/vring_device.c
CORE_RSC_SRCS      := src/rsc/rsc.c
CORE_RPMSG_SRCS    := src/rpmsg/rpmsg.c src/rpmsg/rpmsg_host.c src/rpmsg/rpmsg_remote.c src/rpmsg/rpmsg_rsc.c
CORE_RPROC_SRCS    := src/remoteproc/mem.c src/remoteproc/elf.c src/remoteproc/remoteproc.c
CORE_SRCS := $(CORE_PLATFORM_SRCS) $(CORE_VRING_SRCS) $(CORE_RSC_SRCS) $(CORE_RPMSG_SRCS) \
             $(CORE_RPROC_SRCS)

# The remote-side core the footprint target measures: vring device side,
# rpmsg common + remote role + name service.
REMOTE_CORE_SRCS := src/vring/vring.c src/vring/vring_device.c src/rpmsg/rpmsg.c src/rpmsg/rpmsg_remote.c
HOST_CORE_SRCS   := src/vring/vring.c src/vring/vring_driver.c src/rpmsg/rpmsg.c src/rpmsg/rpmsg_host.c

.PHONY: all test demo bench footprint install clean check-freestanding
# Missing Debian packages are installed first (serial make keeps this order).
all: deps
test: deps

# Host build of the core (static library, position independent for Python).
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/host/%.o)
$(BUILD)/host/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"; $(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/lib/libamp.a: $(CORE_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; $(AR) rcs $@ $^
all: $(BUILD)/lib/libamp.a

# Sanitizer build of the core, for the tests.
SAN_CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/san/%.o)
$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-SAN  $<"; $(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/san/libamp.a: $(SAN_CORE_OBJS)
	@echo "  AR      $@"; $(AR) rcs $@ $^

# Freestanding builds of the core: x86-64 and Cortex-M4. They prove the core
# needs no libc beyond memcpy/memset/memcmp, which every freestanding C
# environment provides.
FREE_FLAGS := $(CSTD) $(WARN) $(INC) -Os -ffreestanding -ffunction-sections -fdata-sections
CM4_FLAGS  := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
FREE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/free-x86_64/%.o)
CM4_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/cm4/%.o)
$(BUILD)/free-x86_64/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-FREE $<"; $(CC) $(FREE_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/cm4/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M4   $<"; $(ARM_CC) $(FREE_FLAGS) $(CM4_FLAGS) -MMD -MP -c $< -o $@
check-freestanding: $(FREE_OBJS) $(CM4_OBJS)
all: check-freestanding

footprint: $(CM4_OBJS)
	$(PYTHON) tools/footprint.py --size $(ARM_SIZE) --objdir $(BUILD)/cm4 \
	    --remote $(REMOTE_CORE_SRCS:%.c=%.o) --host $(HOST_CORE_SRCS:%.c=%.o) \
	    --rproc $(CORE_RPROC_SRCS:%.c=%.o) $(CORE_RSC_SRCS:%.c=%.o) src/rpmsg/rpmsg_rsc.o \
	    --out $(BUILD)/footprint.json

include $(sort $(wildcard mk/*.mk))

clean:
	rm -rf $(BUILD)

# (build/linux-uml holds a kernel tree of its own: mk/linux.mk.)
-include $(shell find $(BUILD) -path $(BUILD)/linux-uml -prune -o -name '*.d' -print 2>/dev/null)

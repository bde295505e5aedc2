# Top-level build. `make` builds everything into build/, `make test` runs
# every test, `make demo` runs the seed's example against the simulated core.
# Each part of the tree adds its own rules in mk/*.mk.
#
# Two stages, so that nothing is evaluated before the machine has what the
# build needs (python3, the cross compiler...): stage 1 (this part, no
# mk/*.mk read) installs missing Debian packages, then runs stage 2 (the
# rules below) with the same goals and flags, -j included. Stage 2 runs with
# -s: a recipe prints only the one line it echoes; V=1 shows every command.
# After `make test`, stage 1 prints the one total over every suite.

BUILD   ?= build

ifeq ($(AMP_STAGE),)
AMP_GOALS := $(if $(MAKECMDGOALS),$(MAKECMDGOALS),all)
# Goals that need no packages.
AMP_NO_DEPS_GOALS := clean uninstall help
AMP_INNER = $(MAKE) --no-print-directory $(if $(filter 1,$(V)),,-s) AMP_STAGE=2
.PHONY: $(AMP_GOALS) amp-stage1
$(AMP_GOALS): amp-stage1
	@:
amp-stage1:
ifneq ($(filter-out $(AMP_NO_DEPS_GOALS),$(AMP_GOALS)),)
	@tools/install-deps.sh
endif
ifneq ($(filter demo,$(AMP_GOALS)),)
	@mkdir -p $(BUILD); echo "demo: building (log: $(BUILD)/build.log)"
	+@$(AMP_INNER) all >$(BUILD)/build.log 2>&1 || { tail -n 40 $(BUILD)/build.log; exit 1; }
endif
ifneq ($(filter test,$(AMP_GOALS)),)
	@rm -rf $(BUILD)/test-results
	+@$(AMP_INNER) $(AMP_GOALS); rc=$$?; tools/test-total.sh $(BUILD)/test-results; \
	    t=$$?; [ $$rc -eq 0 ] && exit $$t; exit $$rc
else
	+@$(AMP_INNER) $(AMP_GOALS)
endif

else  # ---- stage 2: the build itself

CC      ?= cc
# Where `make install` puts things (mk/zinstall.mk); DESTDIR stages.
PREFIX  ?= /usr/local
# The soname moves with every change to the exported names or structs
# (1: the _timed/_untimed and _fixed/_full entry points, issue 12).
AMP_VERSION   := 0.2.0
AMP_SOVERSION := 1
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
CORE_RPMSG_SRCS    := src/rpmsg/rpmsg.c src/rpmsg/rpmsg_host.c src/rpmsg/rpmsg_remote.c src/rpmsg/rpmsg_rsc.c \
                      src/rpmsg/rpmsg_h747.c
CORE_RPROC_SRCS    := src/remoteproc/mem.c src/remoteproc/elf.c src/remoteproc/remoteproc.c
CORE_SRCS := $(CORE_PLATFORM_SRCS) $(CORE_VRING_SRCS) $(CORE_RSC_SRCS) $(CORE_RPMSG_SRCS) \
             $(CORE_RPROC_SRCS)

.PHONY: all test demo bench footprint install uninstall clean check-freestanding
all:

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

# The project's make fragments: mk/*.mk, and each board's own under
# boards/<board>/ (a new board is a new folder). They are read in the order
# of their file names, whichever folder they are in, as some name files
# that others define.
H747 := boards/stm32h747
MK_FILES := $(wildcard mk/*.mk boards/*/*.mk)
include $(foreach n,$(sort $(notdir $(MK_FILES))),$(filter %/$(n),$(MK_FILES)))

clean:
	rm -rf $(BUILD)

# (build/linux-uml holds a kernel tree of its own: mk/linux.mk.)
-include $(shell find $(BUILD) -path $(BUILD)/linux-uml -prune -o -name '*.d' -print 2>/dev/null)

# V=1: the shell shows each recipe command as it runs it (set last, so the
# $(shell ...) calls made while reading the makefiles stay quiet).
ifeq ($(V),1)
.SHELLFLAGS := -xc
endif

endif  # stage 2

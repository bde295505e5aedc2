# Footprint (issue 12): what a user ships. `make footprint` links a set of
# minimal Cortex-M4 remotes (footprint/*.c, each on footprint/env.c) with
# --gc-sections and newlib-nano, attributes every byte of their .text to
# the object it came from (map files), and sums the core's objects as well.
# tools/footprint.py writes build/footprint.json and fails the target when
# the linked echo remote's stack share is over FOOTPRINT_LIMIT bytes.
# `make test` builds the images (so they never rot) but checks no size.

FOOTPRINT_LIMIT ?= 1400
FP_DIR := $(BUILD)/footprint
# The remote-side core objects an image may use, and the object-sum groups.
REMOTE_CORE_SRCS := src/vring/vring.c src/vring/vring_device.c src/rpmsg/rpmsg.c \
                    src/rpmsg/rpmsg_remote.c
HOST_CORE_SRCS   := src/vring/vring.c src/vring/vring_driver.c src/rpmsg/rpmsg.c \
                    src/rpmsg/rpmsg_host.c
FP_CORE_OBJS := $(BUILD)/cm4/src/platform/error.o $(REMOTE_CORE_SRCS:%.c=$(BUILD)/cm4/%.o)
# Each minimal remote: footprint/<name>.c. echo is the reference image.
FP_IMAGE_SRCS := $(filter-out footprint/env.c,$(sort $(wildcard footprint/*.c)))
FP_IMAGES := $(FP_IMAGE_SRCS:footprint/%.c=$(FP_DIR)/%.elf)
FP_LDFLAGS := --specs=nano.specs -nostartfiles -Wl,--gc-sections -Wl,-T,footprint/m4.ld

$(FP_DIR)/obj/%.o: footprint/%.c
	@mkdir -p $(@D)
	@echo "  CC-M4   $<"; $(ARM_CC) $(FREE_FLAGS) $(CM4_FLAGS) -I$(H747)/sdk/cm4/include -MMD -MP -c $< -o $@
$(FP_DIR)/%.elf: $(FP_DIR)/obj/%.o $(FP_DIR)/obj/env.o $(FP_CORE_OBJS) footprint/m4.ld
	@echo "  LD-M4   $@"; $(ARM_CC) $(CM4_FLAGS) $(FP_LDFLAGS) -Wl,-Map,$(@:.elf=.map) \
	    $(filter %.o,$^) -o $@
.SECONDARY: $(FP_IMAGE_SRCS:footprint/%.c=$(FP_DIR)/obj/%.o) $(FP_DIR)/obj/env.o

# The echo image once more with the stack built -flto (a user who links with
# LTO gets this): the stack's share is then what the ltrans objects hold.
FP_LTO_OBJS := $(FP_CORE_OBJS:$(BUILD)/cm4/%.o=$(FP_DIR)/lto/%.o)
$(FP_DIR)/lto/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M4   $< (lto)"; $(ARM_CC) $(FREE_FLAGS) $(CM4_FLAGS) -flto -MMD -MP -c $< -o $@
$(FP_DIR)/lto-echo.elf: $(FP_DIR)/obj/echo.o $(FP_DIR)/obj/env.o $(FP_LTO_OBJS) footprint/m4.ld
	@echo "  LD-M4   $@"; $(ARM_CC) $(CM4_FLAGS) -Os -flto $(FP_LDFLAGS) \
	    -Wl,-Map,$(@:.elf=.map) $(filter %.o,$^) -o $@
FP_IMAGES += $(FP_DIR)/lto-echo.elf

# The Cortex-M4 SDK's virtual_uart.elf (boards/stm32h747/cm4.mk links it with a map, at
# the SDK's -O2): the stack's share is what comes from its src/ objects.
ifneq ($(AMP_M4_CC),)
FP_M4_UART_MAP := $(BUILD)/firmware/virtual_uart.map
$(FP_M4_UART_MAP): $(BUILD)/firmware/virtual_uart.elf
FP_MAPS_EXTRA := $(FP_M4_UART_MAP)
FP_STACK_DIRS_EXTRA := $(BUILD)/fw-cm4/src
endif

.PHONY: footprint footprint-images
footprint-images: $(FP_IMAGES)
footprint: footprint-images $(CM4_OBJS) $(FP_MAPS_EXTRA)
	@echo "  FOOTPRINT $(BUILD)/footprint.json"; $(PYTHON) tools/footprint.py --size $(ARM_SIZE) --objdir $(BUILD)/cm4 \
	    --remote $(REMOTE_CORE_SRCS:%.c=%.o) --host $(HOST_CORE_SRCS:%.c=%.o) \
	    --rproc $(CORE_RPROC_SRCS:%.c=%.o) $(CORE_RSC_SRCS:%.c=%.o) src/rpmsg/rpmsg_rsc.o \
	    --images $(FP_IMAGES:.elf=.map) $(FP_MAPS_EXTRA) \
	    --stack-dir $(BUILD)/cm4/src $(FP_STACK_DIRS_EXTRA) \
	    --linked-limit $(FOOTPRINT_LIMIT) --out $(BUILD)/footprint.json
test: footprint-images

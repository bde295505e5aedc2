# The STM32H747 Cortex-M7 host platform (m7/), compiled by
# `make test` with arm-none-eabi into a library with the host-role core. It
# cannot run here: docs/stm32h747-m7.md says what a real board takes.

ARM_AR ?= arm-none-eabi-ar
M7_ARCH := -mcpu=cortex-m7 -mthumb -mfloat-abi=soft
M7_CFLAGS := $(FREE_FLAGS) $(M7_ARCH) -I$(H747)/sdk/cm4/include -I$(H747)/m7
M7_SRCS := $(H747)/m7/stm32h747_m7.c $(CORE_PLATFORM_SRCS) $(CORE_VRING_SRCS) \
    $(CORE_RSC_SRCS) $(CORE_RPMSG_SRCS) $(CORE_RPROC_SRCS)
M7_OBJS := $(M7_SRCS:%.c=$(BUILD)/m7/%.o)
M7_LIB := $(BUILD)/m7/libamp-stm32h747-m7.a

$(BUILD)/m7/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-M7   $<"; $(ARM_CC) $(M7_CFLAGS) -MMD -MP -c $< -o $@
$(M7_LIB): $(M7_OBJS)
	@echo "  AR      $@"; $(ARM_AR) rcs $@ $^

.PHONY: m7
m7: $(M7_LIB)
all: m7
test: m7

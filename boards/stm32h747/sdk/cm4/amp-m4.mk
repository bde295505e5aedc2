# Build firmware for the STM32H747's Cortex-M4 with this project's SDK, in
# this tree or outside it. Set AMP_ROOT to the project's top directory, then
#   include $(AMP_ROOT)/boards/stm32h747/sdk/cm4/amp-m4.mk
#   fw.elf: main.c
#   	$(AMP_M4_CC) $(AMP_M4_CFLAGS) $(AMP_M4_LDFLAGS) $< $(AMP_M4_SRC_PATHS) $(AMP_M4_LIBS) -o $@
# AMP_M4_CFLAGS compiles your sources too (they #include "amp_fw.h").
# Needs Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi (memcpy & co).

AMP_ROOT ?= .
AMP_M4_CC ?= arm-none-eabi-gcc
AMP_M4_ARCH := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
AMP_M4_CFLAGS := -std=c11 -Wall -Wextra -O2 -g $(AMP_M4_ARCH) -ffreestanding \
    -ffunction-sections -fdata-sections -I$(AMP_ROOT)/include -I$(AMP_ROOT)/boards/stm32h747/sdk/include \
    -I$(AMP_ROOT)/boards/stm32h747/sdk/cm4/include
AMP_M4_LDSCRIPT := $(AMP_ROOT)/boards/stm32h747/sdk/cm4/stm32h747-m4.ld
AMP_M4_LDFLAGS := $(AMP_M4_ARCH) -nostartfiles --specs=nano.specs -T $(AMP_M4_LDSCRIPT) \
    -Wl,--gc-sections -Wl,--build-id=none
AMP_M4_LIBS := -lc -lgcc
# For firmware whose speed matters more than its size: -O3 and link-time
# optimisation across the SDK and the core library (compile and link every
# source with both). Fewer calls, so fewer register saves: on the emulated
# core every store is the expensive operation (docs/performance.md).
AMP_M4_FAST_CFLAGS := $(filter-out -O2,$(AMP_M4_CFLAGS)) -O3 -flto
AMP_M4_FAST_LDFLAGS := $(AMP_M4_LDFLAGS) -O3 -flto
# The SDK and the core library in the remote role, as sources.
AMP_M4_SDK := boards/stm32h747/sdk
AMP_M4_SRCS := $(AMP_M4_SDK)/cm4/startup_stm32h747_m4.c $(AMP_M4_SDK)/cm4/hal_stm32h747.c \
    $(AMP_M4_SDK)/hal.c \
    src/platform/error.c src/vring/vring.c src/vring/vring_device.c src/rsc/rsc.c \
    src/rpmsg/rpmsg.c src/rpmsg/rpmsg_remote.c src/rpmsg/rpmsg_rsc.c
AMP_M4_SRC_PATHS := $(addprefix $(AMP_ROOT)/,$(AMP_M4_SRCS))

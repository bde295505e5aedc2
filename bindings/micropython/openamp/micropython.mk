# MicroPython user C module `openamp` on this project's stack (make ports).
#
#   make -C /path/to/amp                     # builds build/lib/libamp*.a
#   make -C ports/unix USER_C_MODULES=/path/to/amp/bindings/micropython
#
# AMP_BUILD names the build folder of this tree (default: build/ here). The
# module links libamp-mpy.a (port glue + the layer shared with CPython),
# libamp-sim.a (the simulated board) and libamp.a (the core), and finds
# amp-simcore in $(AMP_BUILD)/bin unless AMP_SIMCORE is set at run time.
# See docs/micropython.md.

OMPY_DIR := $(USERMOD_DIR)
OMPY_ROOT := $(abspath $(OMPY_DIR)/../../..)
SRC_USERMOD_C += $(OMPY_DIR)/modopenamp.c
CFLAGS_USERMOD += -I$(OMPY_ROOT)/include -I$(OMPY_ROOT)/bindings/common -I$(OMPY_ROOT)/bindings/micropython

ifeq ($(MICROPY_PY_OPENAMP),1)
$(error openamp: this module replaces upstream's; build with MICROPY_PY_OPENAMP=0 MICROPY_PY_OPENAMP_REMOTEPROC=0)
endif

ifneq ($(CMSIS_MCU),)
# ---- A microcontroller (the stm32 port on the STM32H747): the core, the M7
# platform and the board are compiled here with the port's own flags.
# MICROPY_PY_OPENAMP_MODE=1 builds the remote role (MicroPython on the M4).
OMPY_MODE ?= $(or $(MICROPY_PY_OPENAMP_MODE),0)
OMPY_M7_DIR ?= $(OMPY_ROOT)/boards/stm32h747/m7
OMPY_REGS_DIR ?= $(OMPY_ROOT)/boards/stm32h747/sdk/cm4/include
CFLAGS_USERMOD += -DOMPY_MCU=1 -DOMPY_REMOTE=$(OMPY_MODE) -I$(OMPY_M7_DIR) -I$(OMPY_REGS_DIR)
OMPY_CORE := src/platform/error.c src/vring/vring.c src/rsc/rsc.c src/rpmsg/rpmsg.c \
    src/rpmsg/rpmsg_h747.c
ifeq ($(OMPY_MODE),0)
OMPY_CORE += src/vring/vring_driver.c src/rpmsg/rpmsg_host.c src/rpmsg/rpmsg_rsc.c \
    src/remoteproc/mem.c src/remoteproc/elf.c src/remoteproc/remoteproc.c
SRC_USERMOD_LIB_C += $(OMPY_M7_DIR)/stm32h747_m7.c
include $(OMPY_DIR)/m7_options.mk
CFLAGS_USERMOD += $(OMPY_M7_CORE_DEFS)
else
OMPY_CORE += src/vring/vring_device.c src/rpmsg/rpmsg_remote.c src/rpmsg/rpmsg_rsc.c
endif
SRC_USERMOD_LIB_C += $(addprefix $(OMPY_ROOT)/,$(OMPY_CORE)) \
    $(OMPY_ROOT)/bindings/micropython/opc_mcu.c $(OMPY_ROOT)/bindings/micropython/ompy_h747.c
else
# ---- The unix port: prebuilt libraries of this tree (make there first).
AMP_BUILD ?= $(OMPY_ROOT)/build
OMPY_LIBS := $(AMP_BUILD)/lib/libamp-mpy.a $(AMP_BUILD)/lib/libamp-sim.a $(AMP_BUILD)/lib/libamp.a
ifeq ($(wildcard $(AMP_BUILD)/lib/libamp-mpy.a),)
$(error openamp: $(AMP_BUILD)/lib/libamp-mpy.a is missing: run `make` in $(OMPY_ROOT) first, or set AMP_BUILD)
endif
# The libraries come after MicroPython's objects on the unix port's link line.
LDFLAGS_USERMOD += $(OMPY_LIBS) -lpthread
# Relink when one of them changes (the port's link rule does not know them).
$(BUILD)/$(PROG): $(OMPY_LIBS)
endif

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
AMP_BUILD ?= $(OMPY_ROOT)/build
OMPY_LIBS := $(AMP_BUILD)/lib/libamp-mpy.a $(AMP_BUILD)/lib/libamp-sim.a $(AMP_BUILD)/lib/libamp.a

ifeq ($(wildcard $(AMP_BUILD)/lib/libamp-mpy.a),)
$(error openamp: $(AMP_BUILD)/lib/libamp-mpy.a is missing: run `make` in $(OMPY_ROOT) first, or set AMP_BUILD)
endif

SRC_USERMOD_C += $(OMPY_DIR)/modopenamp.c
CFLAGS_USERMOD += -I$(OMPY_ROOT)/include -I$(OMPY_ROOT)/bindings/common -I$(OMPY_ROOT)/bindings/micropython
# The libraries come after MicroPython's objects on the unix port's link line.
LDFLAGS_USERMOD += $(OMPY_LIBS) -lpthread
# Relink when one of them changes (the port's link rule does not know them).
$(BUILD)/$(PROG): $(OMPY_LIBS)

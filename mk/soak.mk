# Soak (issue 8): sequence-numbered, checksummed messages both ways at once
# through the simulated board, counting what was lost, duplicated, reordered
# or corrupted in each direction. Not part of `make test`.
#
#   make soak                      SOAK_MESSAGES in total (half each way)
#   make soak SOAK_SECONDS=600     for a time instead
#
# The host is tests/soak/soak.c, the core runs firmware/soak.c (built with
# the other firmware by boards/stm32h747/sim.mk).

SOAK_MESSAGES ?= 100000000
SOAK_SECONDS ?=
SOAK_BIN := $(BUILD)/soak/soak
SOAK_FW := $(BUILD)/firmware/soak.elf

$(SOAK_BIN): tests/soak/soak.c tests/soak/soak_proto.h $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) $< -o $@ $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a

.PHONY: soak soak-build
soak-build: $(SOAK_BIN) $(SOAK_FW) $(BUILD)/bin/amp-simcore

soak: deps soak-build
	$(SOAK_BIN) --firmware $(SOAK_FW) $(if $(SOAK_SECONDS),--seconds $(SOAK_SECONDS),--messages $(SOAK_MESSAGES))

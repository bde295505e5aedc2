# The amp command (cli/): look at, run, ping and benchmark firmware on the
# simulated board. Built on the library: libamp-sim.a + libamp.a.
AMP_CLI := $(BUILD)/bin/amp
AMP_CLI_SRCS := $(sort $(wildcard cli/*.c))
$(AMP_CLI): $(AMP_CLI_SRCS) $(wildcard cli/*.h) $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) $(AMP_CLI_SRCS) -o $@ $(BUILD)/lib/libamp-sim.a \
	    $(BUILD)/lib/libamp.a -lm
all: $(AMP_CLI)

# ---- docs/amp.md is the help text: `make docs/amp.md` renders it again,
# make test checks it is current.
docs/amp.md: $(AMP_CLI)
	@echo "  GEN     $@"; $(AMP_CLI) help --markdown >$@

# ---- Tested end to end (tests/cli/run.sh), with a firmware that crashes.
CLI_TEST_FW := $(BUILD)/tests/cli/crasher.elf
# Linked with the x86-64 SDK as it is installed (mk/zinstall.mk): start-up + libamp-fw.a.
CLI_TEST_SDK := $(BUILD)/fw/$(H747)/sdk/crt0.o $(BUILD)/sdk/sim-h747-x86_64/libamp-fw.a
$(CLI_TEST_FW): $(BUILD)/fw/tests/cli/firmware/crasher.o $(CLI_TEST_SDK) $(H747)/sdk/sim-h747.ld
	@mkdir -p $(@D)
	@echo "  LD-FW   $@"; $(CC) $(FW_CFLAGS) $(FW_LDFLAGS) $< $(CLI_TEST_SDK) -lgcc -o $@
.SECONDARY: $(BUILD)/fw/tests/cli/firmware/crasher.o
.PHONY: test-cli
test-cli: $(AMP_CLI) $(CLI_TEST_FW) $(BUILD)/firmware/virtual_uart.elf $(BUILD)/firmware/rsc_echo.elf $(BUILD)/bin/amp-simcore
	@$(RUN_SUITE) cli tests/cli/run.sh $(BUILD)
test: test-cli

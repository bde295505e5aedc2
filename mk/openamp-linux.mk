# OpenAMP's Linux process convention (platforms/openamp-linux): a host
# platform library, the example program, and a two-process test in which
# our host role talks to our remote role over that platform.

OL_DIR := platforms/openamp-linux
OL_LIB := $(BUILD)/lib/libamp-openamp-linux.a
OL_OBJS := $(BUILD)/host/$(OL_DIR)/openamp_linux.o
OL_EXAMPLE := $(BUILD)/examples/openamp_linux_echo

$(BUILD)/host/$(OL_DIR)/%.o: $(OL_DIR)/%.c $(OL_DIR)/openamp_linux.h
	@mkdir -p $(@D)
	@echo "  CC      $<"; $(CC) $(HOST_CFLAGS) -I$(OL_DIR) -MMD -MP -c $< -o $@
$(OL_LIB): $(OL_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(OL_EXAMPLE): examples/openamp_linux_echo.c $(OL_LIB) $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) -I$(OL_DIR) $< -o $@ $(OL_LIB) $(BUILD)/lib/libamp.a

.PHONY: openamp-linux test-openamp-linux
openamp-linux: $(OL_EXAMPLE)
all: openamp-linux

# Two processes, names of their own (the convention's defaults are global).
# Run as one suite of make test's total (mk/zz-tests.mk).
.PHONY: test-openamp-linux-run
test-openamp-linux: $(OL_EXAMPLE)
	+@$(RUN_SUITE) openamp-linux $(MAKE) --no-print-directory test-openamp-linux-run
test-openamp-linux-run: $(OL_EXAMPLE)
	@tag=amp-oltest-$$$$; sock=/tmp/$$tag.event; \
	$(OL_EXAMPLE) remote -s $$tag.shm -k $$sock > $(BUILD)/$$tag-remote.log 2>&1 & rpid=$$!; \
	$(OL_EXAMPLE) host -n 1000 -s $$tag.shm -k $$sock; hrc=$$?; \
	wait $$rpid; rrc=$$?; cat $(BUILD)/$$tag-remote.log; \
	rm -f $(BUILD)/$$tag-remote.log /dev/shm/$$tag.shm $$sock; \
	test $$hrc -eq 0 -a $$rrc -eq 0 || { echo "openamp-linux: host $$hrc, remote $$rrc" >&2; exit 1; }
test: test-openamp-linux

# The `openamp` Python module: a CPython extension in C (bindings/python),
# linked statically with the core (libamp.a) and the simulated board
# (libamp-sim.a). `make` builds it into build/python/ together with a copy
# of amp-simcore, so `PYTHONPATH=build/python python3 -c "import openamp"`
# works without installing. `make test` runs tests/python, `make demo`
# runs the seed's example, `make install` installs the module.

# Asked once per make run: headers, module suffix and site-packages of $(PYTHON).
PY_CONFIG := $(shell $(PYTHON) -c 'import sysconfig as s; print(s.get_paths()["include"]); print(s.get_config_var("EXT_SUFFIX") or ".so")' 2>/dev/null)
PY_INCLUDE := $(word 1,$(PY_CONFIG))
PY_EXT_SUFFIX := $(word 2,$(PY_CONFIG))

# The shared layer beneath every openamp module (bindings/common, no
# Python.h): built into the module here, and into MicroPython's elsewhere.
OPC_SRCS := $(sort $(wildcard bindings/common/*.c))
OPC_HDRS := $(wildcard bindings/common/*.h)
PY_SRCS := $(sort $(wildcard bindings/python/*.c))
PY_OBJS := $(PY_SRCS:%.c=$(BUILD)/python-obj/%.o) $(OPC_SRCS:%.c=$(BUILD)/python-obj/%.o)
PY_MODULE := $(BUILD)/python/openamp$(PY_EXT_SUFFIX)
PY_SIMCORE := $(BUILD)/python/amp-simcore
PY_STUB := $(BUILD)/python/openamp.pyi
# Python's headers are system headers here: our warnings, not theirs.
PY_CFLAGS := $(HOST_CFLAGS) -isystem $(PY_INCLUDE) -fvisibility=hidden -pthread

.PHONY: python test-python demo-python install-python python-check
python: $(PY_MODULE) $(PY_SIMCORE) $(PY_STUB)
all: python

python-check:
	@test -n "$(PY_INCLUDE)" || { echo "python.mk: cannot run $(PYTHON)" >&2; exit 1; }
	@test -f "$(PY_INCLUDE)/Python.h" || { echo "python.mk: $(PY_INCLUDE)/Python.h is missing: install python3-dev (make deps)" >&2; exit 1; }

$(BUILD)/python-obj/%.o: %.c bindings/python/openamp_internal.h $(OPC_HDRS) | python-check
	@mkdir -p $(@D)
	@echo "  CC-PY   $<"; $(CC) $(PY_CFLAGS) -MMD -MP -c $< -o $@

# The module exports only PyInit_openamp (visibility=hidden elsewhere).
$(PY_MODULE): $(PY_OBJS) $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  LD-PY   $@"; $(CC) -shared -pthread -o $@ $(PY_OBJS) \
	    $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a -Wl,--exclude-libs,ALL -ldl

# The module finds amp-simcore next to itself (amp_sim_find_simcore).
$(PY_SIMCORE): $(BUILD)/bin/amp-simcore
	@mkdir -p $(@D)
	cp -f $< $@

$(PY_STUB): bindings/python/openamp.pyi
	@mkdir -p $(@D)
	cp -f $< $@

# ---- Tests: unittest against the simulated core.
# Test-only firmware (built with the board's SDK): ns_probe reports the
# name-service messages it receives, streamer sends lines on request.
PY_TEST_FW_SRCS := $(sort $(wildcard tests/python/firmware/*.c))
PY_TEST_FIRMWARE := $(PY_TEST_FW_SRCS:tests/python/firmware/%.c=$(BUILD)/tests/python/%.elf)
# The recipe names the SDK objects of boards/stm32h747/sim.mk, read after this file; the
# prerequisite on virtual_uart.elf has them built and up to date.
$(BUILD)/tests/python/%.elf: $(BUILD)/fw/tests/python/firmware/%.o $(BUILD)/firmware/virtual_uart.elf $(H747)/sdk/sim-h747.ld
	@mkdir -p $(@D)
	@echo "  LD-FW   $@"; $(CC) $(FW_CFLAGS) $(FW_LDFLAGS) $< $(FW_COMMON_OBJS) -lgcc -o $@
.SECONDARY: $(PY_TEST_FW_SRCS:%.c=$(BUILD)/fw/%.o)

# The shared layer's own C test (tests/c/test_openamp_core.c) links its
# sanitizer build, before the board and core libraries it uses.
OPC_SAN_LIB := $(BUILD)/san/libopenamp-core.a
$(OPC_SAN_LIB): $(OPC_SRCS:%.c=$(BUILD)/san/%.o)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(BUILD)/tests/test_openamp_core: $(OPC_SAN_LIB) $(OPC_HDRS)
$(BUILD)/tests/test_openamp_core: SAN_TEST_LIBS += $(OPC_SAN_LIB) $(BUILD)/san/libamp-sim.a \
    $(BUILD)/san/libamp.a
test-c: $(PY_TEST_FIRMWARE) $(BUILD)/firmware/fault.elf

# The same test under ThreadSanitizer: the layer is all about threads (the
# receive thread, the board lock, waits that let it go). -Wno-tsan: the
# core's fences order shared memory for the other process, which TSan
# does not see anyway.
OPC_TSAN_TEST := $(BUILD)/tests-tsan/test_openamp_core
OPC_TSAN_SRCS := tests/c/test_openamp_core.c $(OPC_SRCS) $(sort $(wildcard $(H747)/sim/*.c)) $(CORE_SRCS)
$(OPC_TSAN_TEST): $(OPC_TSAN_SRCS) $(OPC_HDRS) $(wildcard include/amp/*.h $(H747)/sim/*.h)
	@mkdir -p $(@D)
	@echo "  CC-TSAN $@"; $(CC) $(CSTD) $(WARN) $(INC) -O1 -g -fsanitize=thread -Wno-tsan -D_GNU_SOURCE \
	    -DAMP_LIBEXECDIR='"$(LIBEXECDIR)"' $(OPC_TSAN_SRCS) -o $@ -lcmocka -lpthread
.PHONY: test-openamp-core-tsan
test-openamp-core-tsan: $(OPC_TSAN_TEST) $(PY_TEST_FIRMWARE) $(BUILD)/firmware/virtual_uart.elf \
    $(BUILD)/firmware/fault.elf $(BUILD)/bin/amp-simcore
	@$(RUN_SUITE) openamp-tsan env AMP_SIMCORE=$(BUILD)/bin/amp-simcore \
	    TSAN_OPTIONS=halt_on_error=1 tools/run-tests.sh $(OPC_TSAN_TEST)
test: test-openamp-core-tsan

PY_TEST_ENV := PYTHONPATH=$(BUILD)/python AMP_BUILD=$(BUILD) PYTHONDONTWRITEBYTECODE=1

test-python: python $(BUILD)/firmware/virtual_uart.elf $(BUILD)/firmware/fault.elf $(PY_TEST_FIRMWARE)
	@$(RUN_SUITE) python env $(PY_TEST_ENV) $(PYTHON) tests/python/run.py
test: test-python

# ---- The seed's example, bounded, against virtual_uart.elf. A board of its
# own (the default one may be in use) whose flash file goes away at exit.
demo-python: python $(BUILD)/firmware/virtual_uart.elf
	cd $(BUILD)/firmware && OPENAMP_SIM_NAME=seed-demo-$$$$ OPENAMP_SIM_REMOVE_FLASH=1 \
	    PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) $(abspath examples/seed_example.py)
demo: demo-python

# ---- Install: the module where $(PYTHON) finds it (its platlib) or, with
# PREFIX given, under PREFIX (posix_prefix scheme); its stub as the PEP 561
# stub-only package openamp-stubs beside it, which mypy and pyright find.
# amp-simcore goes to libexec/amp (mk/zinstall.mk): the module looks for it
# there relative to itself. DESTDIR stages.
PY_PLATLIB = $(shell $(PYTHON) -c 'import sys, sysconfig as s; p = sys.argv[1]; print(s.get_path("platlib", "posix_prefix", vars={"base": p, "platbase": p}) if p else s.get_path("platlib"))' '$(if $(filter file,$(origin PREFIX)),,$(PREFIX))')
PY_INSTALL_FILES = $(PY_PLATLIB)/openamp$(PY_EXT_SUFFIX):$(PY_MODULE):0755 \
                   $(PY_PLATLIB)/openamp-stubs/__init__.pyi:$(PY_STUB):0644
install-python: python
	@test -n '$(PY_PLATLIB)' || { echo "python.mk: no site-packages" >&2; exit 1; }
	@tools/install-files.sh install '$(DESTDIR)' $(PY_INSTALL_FILES)
uninstall-python:
	@test -n '$(PY_PLATLIB)' || { echo "python.mk: no site-packages" >&2; exit 1; }
	@tools/install-files.sh uninstall '$(DESTDIR)' $(PY_INSTALL_FILES)
.PHONY: uninstall-python
install: install-python
uninstall: uninstall-python

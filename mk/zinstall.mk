# `make install` / `make uninstall`: amp as a C library, its firmware SDKs,
# the amp command and the Python module (mk/python.mk). PREFIX (default
# /usr/local) and the directories below may be set on the command line;
# DESTDIR stages. Read after the other fragments (their variables are set).
#
#   $(INCLUDEDIR)/amp/*.h                 public headers
#   $(LIBDIR)/libamp{,-sim}.{a,so*}       static and shared (soname libamp.so.$(AMP_SOVERSION))
#   $(LIBDIR)/pkgconfig/amp{,-sim}.pc     pkg-config --cflags --libs amp-sim
#   $(LIBDIR)/cmake/amp/                  find_package(amp): amp::amp, amp::sim
#   $(LIBEXECDIR)/amp-simcore             the simulated core (boards/stm32h747/sim.mk)
#   $(LIBEXECDIR)/amp-bench, bench.elf    what `amp bench` runs (mk/bench.mk)
#   $(SDKDIR)/<target>/                   one firmware SDK per target, with firmware.mk
#   $(BINDIR)/amp                         the amp command (mk/cli.mk)
#
# A helper program the library runs (another core type...) is installed
# with LIBEXEC_PROGRAMS += <path in the build>, from its own fragment.
#
# A firmware target adds its SDK from its own fragment (read before this one):
#   SDK_TARGETS += <target>
#   SDK_<target>_LIB_OBJS := objects for libamp-fw.a (HAL + the core, built for it)
#   SDK_<target>_FILES    := name:source:mode ... (start-up, linker script, headers)
#   SDK_<target>_CC / _CFLAGS / _LDFLAGS / _LIBS: what firmware.mk sets; write
#       $$(AMP_SDK_DIR) for the installed SDK folder.

BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
SDKDIR       ?= $(LIBDIR)/amp/sdk
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/amp

# The files generated for the install directories are regenerated when these change.
PKG_DIRS_STAMP := $(BUILD)/pkg/dirs-$(shell printf '%s' '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(SDKDIR) $(LIBEXECDIR)' | cksum | cut -d' ' -f1)
$(PKG_DIRS_STAMP):
	@mkdir -p $(@D); rm -f $(BUILD)/pkg/dirs-*; touch $@

# ---- Libraries as installed. libamp-sim has the install's LIBEXECDIR built
# in (amp_sim_find_simcore's last resort, what a static program moved away
# from PREFIX/bin relies on), so its files.c is compiled again for the
# install's directories (PKG_DIRS_STAMP); the tree's own libraries
# are left alone. The host objects are position independent.
LIBAMP_SO     := $(BUILD)/lib/libamp.so.$(AMP_VERSION)
LIBAMP_SIM_SO := $(BUILD)/pkg/libamp-sim.so.$(AMP_VERSION)
LIBAMP_SIM_A  := $(BUILD)/pkg/libamp-sim.a
INSTALL_SIM_OBJS := $(filter-out %/files.o,$(SIM_HOST_OBJS)) $(BUILD)/pkg/sim-files.o
$(BUILD)/pkg/sim-files.o: $(H747)/sim/files.c $(PKG_DIRS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $< (for $(LIBEXECDIR))"; $(CC) $(HOST_CFLAGS) \
	    -DAMP_LIBEXECDIR='"$(LIBEXECDIR)"' -MMD -MP -c $< -o $@
$(LIBAMP_SIM_A): $(INSTALL_SIM_OBJS)
	@echo "  AR      $@"; rm -f $@; $(AR) rcs $@ $^
SO_LDFLAGS := -shared -Wl,--version-script,pkg/libamp.map -Wl,-z,defs
$(LIBAMP_SO): $(CORE_OBJS) pkg/libamp.map
	@mkdir -p $(@D)
	@echo "  LD-SO   $@"; $(CC) $(SO_LDFLAGS) -Wl,-soname,libamp.so.$(AMP_SOVERSION) -o $@ \
	    $(CORE_OBJS)
$(LIBAMP_SIM_SO): $(INSTALL_SIM_OBJS) $(LIBAMP_SO) pkg/libamp.map
	@mkdir -p $(@D)
	@echo "  LD-SO   $@"; $(CC) $(SO_LDFLAGS) -Wl,-soname,libamp-sim.so.$(AMP_SOVERSION) -o $@ \
	    $(INSTALL_SIM_OBJS) $(LIBAMP_SO)
.PHONY: shared
shared: $(LIBAMP_SO) $(LIBAMP_SIM_SO)
all: shared

# amp-simcore (and any other core program, e.g. SIMCORE_CM4 once a fragment
# defines it) beside each other, where amp_sim_find_simcore looks.
LIBEXEC_PROGRAMS += $(SIMCORE) $(SIMCORE_CM4) $(BENCH_BIN)

# ---- Firmware SDK of sim-h747's x86-64 core (boards/stm32h747/sim.mk builds its objects).
SDK_TARGETS += sim-h747-x86_64
SDK_sim-h747-x86_64_LIB_OBJS := $(filter-out %/crt0.o,$(FW_COMMON_OBJS))
SDK_sim-h747-x86_64_FILES := crt0.o:$(BUILD)/fw/$(H747)/sdk/crt0.o:0644 \
    sim-h747.ld:$(H747)/sdk/sim-h747.ld:0644 include/amp_fw.h:$(H747)/sdk/include/amp_fw.h:0644
SDK_sim-h747-x86_64_CC := $(CC)
SDK_sim-h747-x86_64_CFLAGS := $(filter-out $(WARN) $(INC) -I$(H747)/sdk/include,$(FW_CFLAGS)) -Wall
SDK_sim-h747-x86_64_LDFLAGS := $(subst $(H747)/sdk/sim-h747.ld,$$(AMP_SDK_DIR)/sim-h747.ld,$(FW_LDFLAGS))
SDK_sim-h747-x86_64_LIBS := $$(AMP_SDK_DIR)/crt0.o $$(AMP_SDK_DIR)/libamp-fw.a -lgcc

.SECONDEXPANSION:
$(BUILD)/sdk/%/libamp-fw.a: $$(SDK_$$*_LIB_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"; rm -f $@; $(AR) rcs $@ $^
$(BUILD)/sdk/%/firmware.mk: $(H747)/sdk/firmware.mk.in $(PKG_DIRS_STAMP)
	@mkdir -p $(@D)
	@echo "  GEN     $@"; sed -e 's|@TARGET@|$*|g' -e 's|@CC@|$(SDK_$*_CC)|' \
	    -e 's|@CFLAGS@|$(SDK_$*_CFLAGS)|' -e 's|@LDFLAGS@|$(SDK_$*_LDFLAGS)|' \
	    -e 's|@LIBS@|$(SDK_$*_LIBS)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' $< >$@

SDK_BUILT := $(foreach t,$(SDK_TARGETS),$(BUILD)/sdk/$(t)/libamp-fw.a $(BUILD)/sdk/$(t)/firmware.mk \
    $(foreach f,$(SDK_$(t)_FILES),$(word 2,$(subst :, ,$(f)))))
.PHONY: sdk
sdk: $(SDK_BUILT)
all: sdk

# ---- pkg-config and CMake files, with this install's directories.
PKG_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@SDKDIR@|$(SDKDIR)|g' \
    -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@VERSION@|$(AMP_VERSION)|g' \
    -e 's|@SOVERSION@|$(AMP_SOVERSION)|g'
PKG_FILES := $(BUILD)/pkg/amp.pc $(BUILD)/pkg/amp-sim.pc $(BUILD)/pkg/ampConfig.cmake \
             $(BUILD)/pkg/ampConfigVersion.cmake
$(BUILD)/pkg/%: pkg/%.in $(PKG_DIRS_STAMP)
	@mkdir -p $(@D)
	@echo "  GEN     $@"; $(PKG_SUBST) $< >$@

# ---- What goes where (DEST:SOURCE:MODE, see tools/install-files.sh).
AMP_HEADERS := $(sort $(wildcard include/amp/*.h))
INSTALL_FILES = \
    $(foreach h,$(AMP_HEADERS),$(INCLUDEDIR)/amp/$(notdir $(h)):$(h):0644) \
    $(LIBDIR)/libamp.a:$(BUILD)/lib/libamp.a:0644 \
    $(LIBDIR)/libamp-sim.a:$(LIBAMP_SIM_A):0644 \
    $(LIBDIR)/libamp.so.$(AMP_VERSION):$(LIBAMP_SO):0755 \
    $(LIBDIR)/libamp.so.$(AMP_SOVERSION):libamp.so.$(AMP_VERSION):link \
    $(LIBDIR)/libamp.so:libamp.so.$(AMP_SOVERSION):link \
    $(LIBDIR)/libamp-sim.so.$(AMP_VERSION):$(LIBAMP_SIM_SO):0755 \
    $(LIBDIR)/libamp-sim.so.$(AMP_SOVERSION):libamp-sim.so.$(AMP_VERSION):link \
    $(LIBDIR)/libamp-sim.so:libamp-sim.so.$(AMP_SOVERSION):link \
    $(PKGCONFIGDIR)/amp.pc:$(BUILD)/pkg/amp.pc:0644 \
    $(PKGCONFIGDIR)/amp-sim.pc:$(BUILD)/pkg/amp-sim.pc:0644 \
    $(CMAKEDIR)/ampConfig.cmake:$(BUILD)/pkg/ampConfig.cmake:0644 \
    $(CMAKEDIR)/ampConfigVersion.cmake:$(BUILD)/pkg/ampConfigVersion.cmake:0644 \
    $(foreach p,$(LIBEXEC_PROGRAMS),$(LIBEXECDIR)/$(notdir $(p)):$(p):0755) \
    $(LIBEXECDIR)/bench.elf:$(BENCH_FW):0644 \
    $(BINDIR)/amp:$(AMP_CLI):0755 \
    $(foreach t,$(SDK_TARGETS),$(foreach f,$(SDK_$(t)_FILES),$(SDKDIR)/$(t)/$(f)) \
        $(SDKDIR)/$(t)/libamp-fw.a:$(BUILD)/sdk/$(t)/libamp-fw.a:0644 \
        $(SDKDIR)/$(t)/firmware.mk:$(BUILD)/sdk/$(t)/firmware.mk:0644)

.PHONY: install-c uninstall-c
INSTALL_C_PREREQS := $(BUILD)/lib/libamp.a $(LIBAMP_SIM_A) $(LIBAMP_SO) \
    $(LIBAMP_SIM_SO) $(PKG_FILES) $(LIBEXEC_PROGRAMS) $(AMP_CLI) $(SDK_BUILT) $(BENCH_FW)
install-c: $(INSTALL_C_PREREQS)
	@tools/install-files.sh install '$(DESTDIR)' $(INSTALL_FILES)
uninstall-c:
	@tools/install-files.sh uninstall '$(DESTDIR)' $(INSTALL_FILES)
install: install-c
uninstall: uninstall-c

# ---- The install test: see tests/install/run.sh.
.PHONY: test-install
# Built here first; the test's own `make install` then only copies.
test-install: $(INSTALL_C_PREREQS) python $(FIRMWARE)
	+@$(RUN_SUITE) install env MAKE='$(MAKE)' PYTHON='$(PYTHON)' CC='$(CC)' tests/install/run.sh
test: test-install

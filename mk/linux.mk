# make test-linux (issue 14): the Linux kernel's virtio_rpmsg_bus as the
# peer of our remote role. Debian's linux-source-6.1 is built once as
# User-mode Linux into $(LINUX_UML) (reused while tests/linux/kernel.config
# and the package version are unchanged), booted against amp-vhost-rpmsg
# (mk/vhost.mk), and checked from the kernel's output and a guest tool:
# tests/linux/run.py, docs/linux-peer.md. Not part of `make test`.

LINUX_PKGS := linux-source-6.1 bison flex bc busybox-static xz-utils libc6-dev make gcc
LINUX_UML := $(BUILD)/linux-uml
LINUX_GUEST_TOOL := $(BUILD)/linux/amp-rpmsg-check
LINUX_BURST ?= 50000
LINUX_RUNS ?= event_idx,no_event_idx,broken_used_len
# LINUX_BROKEN=1: the broken_used_len boot must pass like the others (to watch it fail).
LINUX_BROKEN ?=

.PHONY: test-linux linux-deps linux-kernel
linux-deps:
	@tools/install-deps.sh $(LINUX_PKGS)

# The script decides whether a rebuild is needed (its stamp), so it always runs.
linux-kernel: linux-deps
	@timeout 3600 tests/linux/build-kernel.sh $(abspath $(LINUX_UML)) $(abspath tests/linux/kernel.config)

# The guest's one program: static, so a busybox root on hostfs is enough.
$(LINUX_GUEST_TOOL): tests/linux/guest/amp-rpmsg-check.c
	@mkdir -p $(@D)
	@echo "  CCLD    $@ (static)"; $(CC) -static -O2 $(WARN) -std=gnu11 $< -o $@

# (mk/vhost.mk is read after this file: the backend is named by its path.)
test-linux: linux-deps $(BUILD)/bin/amp-vhost-rpmsg $(LINUX_GUEST_TOOL) linux-kernel
	@timeout 1200 $(PYTHON) tests/linux/run.py --kernel $(LINUX_UML)/linux \
	    --modules $(LINUX_UML)/modules --backend $(BUILD)/bin/amp-vhost-rpmsg --guest-tool $(LINUX_GUEST_TOOL) \
	    --init tests/linux/init.sh --workdir $(abspath $(BUILD)/linux/run) \
	    --burst $(LINUX_BURST) --runs $(LINUX_RUNS) $(if $(LINUX_BROKEN),--broken-must-pass)

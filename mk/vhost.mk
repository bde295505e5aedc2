# The vhost-user backend (vhost/): serves an rpmsg virtio device with the
# remote role to any vhost-user front end (User-mode Linux, QEMU). `make`
# builds build/bin/amp-vhost-rpmsg; `make test` runs its cmocka test
# (tests/c/test_vhost_user.c) against the host role; `make test-linux`
# (mk/linux.mk) runs it against the Linux kernel.

VHOST_SRCS := vhost/vhost_user.c
VHOST_BIN  := $(BUILD)/bin/amp-vhost-rpmsg

$(BUILD)/lib/libamp-vhost.a: $(VHOST_SRCS:%.c=$(BUILD)/host/%.o)
	@mkdir -p $(@D)
	@echo "  AR      $@"; $(AR) rcs $@ $^
$(BUILD)/san/libamp-vhost.a: $(VHOST_SRCS:%.c=$(BUILD)/san/%.o)
	@echo "  AR      $@"; $(AR) rcs $@ $^

$(VHOST_BIN): vhost/amp-vhost-rpmsg.c vhost/vhost_user.h $(BUILD)/lib/libamp-vhost.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) $< -o $@ $(BUILD)/lib/libamp-vhost.a $(BUILD)/lib/libamp.a
all: $(VHOST_BIN)
test: $(VHOST_BIN)

# Its unit test links the sanitizer build of the backend before the core.
SAN_TEST_LIBS := $(BUILD)/san/libamp-vhost.a $(SAN_TEST_LIBS)
$(BUILD)/tests/test_vhost_user: SAN_CFLAGS += -Ivhost

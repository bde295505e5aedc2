# Tests. Every C test is a cmocka program under tests/c/, built with
# ASan + UBSan against the sanitizer builds of the libraries. Python tests
# live under tests/python and run with unittest.
#
# Other fragments add their own test steps with `test: <target>`.

.PHONY: deps test-c
deps:
	@tools/install-deps.sh

C_TEST_SRCS := $(sort $(wildcard tests/c/test_*.c))
C_TESTS := $(C_TEST_SRCS:tests/c/%.c=$(BUILD)/tests/%)
# Libraries a test may link against (sanitizer builds); fragments append.
SAN_TEST_LIBS += $(BUILD)/san/libamp.a

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(SAN_TEST_LIBS)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -Itests/c $< $(wildcard tests/c/support/*.c) -o $@ $(SAN_TEST_LIBS) -lcmocka -lpthread

test-c: $(C_TESTS)
	@tools/run-tests.sh $(C_TESTS)

test: check-freestanding
test: test-c

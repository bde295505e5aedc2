# Tests. Every C test is a cmocka program under tests/c/, built with
# ASan + UBSan against the sanitizer builds of the libraries. Python tests
# live under tests/python and run with unittest.
#
# Other fragments add their own test steps with `test: <target>`. A suite
# reports into make test's total by running its command through
#     $(RUN_SUITE) <name> <command...>
# which prints one line, keeps the command's output in
# $(BUILD)/test-results/<name>.log (shown when it fails), and records the
# counts from the command's last "N passed, N failed" line (or 1 passed /
# 1 failed from its exit status when it prints none). Stage 1 of the
# Makefile sums every suite's counts when make test ends (tools/test-total.sh).

# The packages are installed by stage 1 of the Makefile, before any rule runs.
.PHONY: deps test-c
deps:

RUN_SUITE = tools/run-suite.sh $(BUILD)/test-results

C_TEST_SRCS := $(sort $(wildcard tests/c/test_*.c))
C_TESTS := $(C_TEST_SRCS:tests/c/%.c=$(BUILD)/tests/%)
# Libraries a test may link against (sanitizer builds); fragments append.
SAN_TEST_LIBS += $(BUILD)/san/libamp.a

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(SAN_TEST_LIBS)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(SAN_CFLAGS) -Itests/c $< $(wildcard tests/c/support/*.c) \
	    -o $@ $(SAN_TEST_LIBS) -lcmocka -lpthread

test-c: $(C_TESTS)
	@$(RUN_SUITE) c tools/run-tests.sh $(C_TESTS)

test: check-freestanding
test: test-c

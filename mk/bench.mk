# Benchmarks (issue 5): `make bench` measures the full stack between this
# host and a simulated core running build/firmware/bench.elf, against raw
# baselines measured in the same run (docs/performance.md). `make test`
# runs the same binary once with tiny counts (bench-smoke): no timing
# assertions, only that it runs and writes well-formed JSON.

BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/amp-bench
BENCH_FW  := $(BUILD)/firmware/bench-x86_64.elf
BENCH_ARGS ?=

$(BENCH_BIN): bench/amp-bench.c bench/bench_proto.h $(BUILD)/lib/libamp-sim.a $(BUILD)/lib/libamp.a
	@mkdir -p $(@D)
	@echo "  CCLD    $@"; $(CC) $(HOST_CFLAGS) $< -o $@ $(BUILD)/lib/libamp-sim.a \
	    $(BUILD)/lib/libamp.a -lm

.PHONY: bench bench-smoke bench-build
# (boards/stm32h747/sim.mk is read after this file: name the core by its path, not $(SIMCORE).)
bench-build: $(BENCH_BIN) $(BENCH_FW) $(BUILD)/bin/amp-simcore

# The Python figure needs the module (mk/python.mk, read after this file):
# built here if it can be, else bench/python_rtt.py says it is skipped.
bench: bench-build
	$(BENCH_BIN) --firmware $(BENCH_FW) --out $(BENCH_DIR) $(BENCH_ARGS)
	@$(MAKE) --no-print-directory python >/dev/null 2>&1 || \
	    echo "bench: the openamp Python module does not build here"
	$(PYTHON) bench/python_rtt.py --firmware $(BENCH_FW) --module-dir $(BUILD)/python \
	    --results $(BENCH_DIR)/results.json
	gnuplot -e "dir='$(BENCH_DIR)'" bench/latency.gp
	@echo "wrote $(BENCH_DIR)/latency.png"
	@$(MAKE) --no-print-directory bench-cm4

bench-smoke: bench-build
	@$(RUN_SUITE) bench-smoke sh -c '"$$0" --smoke --firmware "$$1" --out "$$2" && \
	    $(PYTHON) bench/check_smoke.py "$$2/results.json"' \
	    $(BENCH_BIN) $(BENCH_FW) $(BENCH_DIR)/smoke

test: bench-smoke

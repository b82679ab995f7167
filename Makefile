# glory: the two commands a newcomer needs are `make run` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
RUN_DIR ?= $(CURDIR)/run

.PHONY: all deps build run stop test test-unit test-asan test-fuzz format format-check clean

all: build

deps:
	@sh tools/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A single-machine glory under $(RUN_DIR): a master, a metadata server and six data servers on
# 127.0.0.1, in the foreground (Ctrl-C stops it; the data stays for the next run).
run: deps build
	@$(BUILD)/bin/glory server --dir $(RUN_DIR)

stop:
	@$(BUILD)/bin/glory dev down --dir $(RUN_DIR)

# Everything: formatting, the full suite, the full suite again under ASan+UBSan (its long
# workloads cut down: GLORY_TEST_LIGHT in tests/cluster/lib.sh), the fuzz targets.
test: deps format-check build
	cd $(BUILD) && ctest --output-on-failure -j 2
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGLORY_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && GLORY_TEST_LIGHT=1 ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j 2

test-fuzz:
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DGLORY_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz -j $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@bad=$$(for f in $$(git ls-files '*.c' '*.h'); do clang-format --dry-run -Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$bad" ]; then echo "not clang-formatted (run 'make format'):"; echo "$$bad"; exit 1; fi

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

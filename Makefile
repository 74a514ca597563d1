# Shortcuts for the scripts; CMake does the building.
#   make            build build/ (server and tests)
#   make test       the whole test command (what CI runs)
#   make run        serve on 127.0.0.1:8080 with demo data
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS each (default 60)
#   make soak       the chaos soak for SOAK_SECONDS (default 300)
#   make bench      the benchmark (bench/run.sh; docs/benchmarks.md), about
#                   16 minutes (with the 10,000-stream workload); results in build-bench/results/
#   make profile    callgrind profiles of poll, seatmap and purchase
#                   (bench/profile.sh), in build-bench/profile-*/
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 300

.PHONY: all build test run fuzz soak bench profile format
all: build
build:
	cmake -S . -B build -DBO_WERROR=ON && cmake --build build -j$$(nproc)
test:
	scripts/test.sh
run:
	scripts/run.sh
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)
soak:
	scripts/soak.sh $(SOAK_SECONDS)
bench:
	bench/run.sh
profile:
	for w in poll seatmap purchase; do bench/profile.sh $$w || exit 1; done
format:
	scripts/format.sh

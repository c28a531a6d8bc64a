#!/usr/bin/env bash
# gpu-check.sh — the CUDA device's check, in two halves:
#
#   scripts/gpu-check.sh build   # here (Go, cgo and cuda.h; no GPU needed)
#   scripts/gpu-check.sh emu     # here: the built binary on the CPU emulator of the driver
#   scripts/gpu-check.sh run     # on the GPU machine (NVIDIA driver, no Go)
#
# build: compiles the cuda-tagged test binaries of accel/cuda into
#   out/gpu-check/ (cuda.test, and cuda-race.test with -race), plus the CPU
#   emulator of the CUDA driver (out/gpu-check/emu/libcuda.so.1, see
#   accel/cuda/testdata/emu) and a manifest. Needs Go, g++ and the CUDA
#   headers and libcuda (scripts/install-cuda.sh).
#
# emu: runs the shared device suite (accel/devicetest) and the comparison
#   with the CPU device on the emulator: a functional check of the Go code
#   and the kernels on a machine without a GPU (about a minute).
#
# run: on a GPU host, runs the prebuilt binaries, each step under a
#   timeout (the whole run fits a 10-minute call, about 4 minutes on an
#   H100):
#     1. devicetest against the CUDA device, Info and Open, and its
#        concurrency test again with the race detector;
#     2. the CUDA device against the CPU device on large random problems,
#        and training every model type on both (losses within 1e-9);
#     3. BenchmarkWaveForward1e8: one 1D wave over 10^8 points, bytes read
#        and written per second against the H100's ~3 TB/s (the aim: half),
#        and the 16-wave ensemble (compute bound);
#     4. BenchmarkTrainEpoch1D (ensemble n=16, glitchy chirp) and
#        BenchmarkTrainEpoch4D (ensemble n=8, 20³ grid), CUDA and CPU in the
#        same binary.
#   Logs and summary.txt go to $OUT when set (the device tool's folder that
#   comes back), else to out/gpu-check/results/. With SANITIZE=1 it also
#   runs the suite under compute-sanitizer's memcheck.
#   `scripts/gpu-check.sh summary DIR` prints the summary of logs again.
#   FORWARD_BENCH overrides the forward benchmarks' pattern (a dry run of
#   `run` on the emulator: LD_LIBRARY_PATH=out/gpu-check/emu FORWARD_BENCH='^$').
#
# With the device tool, after `build` here:
#   run(command="bash scripts/gpu-check.sh run", carry=["out/gpu-check"], timeout_s=540)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=out/gpu-check

build() {
	set -e
	mkdir -p "$dir"
	go vet -tags cuda ./accel/...
	go test -c -tags cuda -o "$dir/cuda.test" ./accel/cuda/
	go test -c -race -tags cuda -o "$dir/cuda-race.test" ./accel/cuda/
	if command -v g++ >/dev/null; then
		accel/cuda/testdata/emu/build.sh "$dir/emu" >/dev/null
	else
		echo "no g++: skipping the CPU emulator of the driver"
	fi
	{
		echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
		go version
		nvcc --version 2>/dev/null | tail -n 2 | head -n 1 || true
		sha256sum accel/cuda/kernels/dredge.fatbin "$dir/cuda.test" "$dir/cuda-race.test"
	} >"$dir/manifest.txt"
	cat "$dir/manifest.txt"
	du -sh "$dir"
	echo "next, on the GPU machine: bash scripts/gpu-check.sh run   (carry out/gpu-check)"
}

emu() {
	[ -x "$dir/cuda.test" ] && [ -f "$dir/emu/libcuda.so.1" ] || { echo "run '$0 build' first"; exit 2; }
	LD_LIBRARY_PATH="$dir/emu" timeout 600 "$dir/cuda.test" -test.run 'TestDevice|TestInfoAndOpen|TestClose|CPU' -test.v 2>&1 |
		grep -E '^(--- |ok|PASS|FAIL)|^\s+--- FAIL|emulator|panic' 
}

# findlibcuda puts the directory of the driver's libcuda.so.1 on
# LD_LIBRARY_PATH when the loader does not find it by itself.
findlibcuda() {
	if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then return; fi
	for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat /usr/lib/wsl/lib; do
		if [ -e "$d/libcuda.so.1" ]; then
			export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
			return
		fi
	done
	echo "warning: libcuda.so.1 not found; the binaries will not start" >&2
}

# summarize DIR prints the benchmark lines of DIR/forward.log and
# DIR/train.log and the figures that matter: the forward pass's bandwidth
# and the CUDA/CPU ratios of the training epochs.
summarize() {
	grep -hE '^Benchmark' "$1/forward.log" "$1/train.log" 2>/dev/null
	awk '
		/^BenchmarkWaveForward1e8\/wave1D\/cuda/ { for (i = 1; i < NF; i++) { if ($(i+1) == "GB/s") gb = $i; if ($(i+1) == "%peak") pk = $i } }
		/^BenchmarkTrainEpoch/ {
			split($1, a, "/"); dev = a[2]; sub(/-[0-9]+$/, "", dev)
			for (i = 1; i < NF; i++) if ($(i+1) == "ms/epoch") ms[a[1] "/" dev] = $i
		}
		END {
			if (gb != "") printf "forward 1e8 (one 1D wave): %s GB/s = %s%% of 3 TB/s (aim: 50%%)\n", gb, pk
			for (k in ms) if (k ~ /\/cuda$/) {
				n = k; sub(/\/cuda$/, "", n)
				c = ms[n "/cpu"]
				if (c != "") printf "%s: cuda %s ms/epoch, cpu %s ms/epoch: cuda %.2fx faster\n", n, ms[k], c, c / ms[k]
			}
		}' "$1/forward.log" "$1/train.log" 2>/dev/null
}

run() {
	[ -x "$dir/cuda.test" ] || { echo "missing $dir/cuda.test: run '$0 build' where Go is, and carry $dir"; exit 2; }
	res=${OUT:-$dir/results}
	mkdir -p "$res"
	sum="$res/summary.txt"
	: >"$sum"
	note() { echo "$*" | tee -a "$sum"; }
	findlibcuda
	note "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	head -n 1 "$dir/manifest.txt" 2>/dev/null | sed 's/^/binaries: /' | tee -a "$sum"
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$sum"
	status=0
	step() { # step NAME TIMEOUT CMD...
		local name=$1 t=$2
		shift 2
		local start=$SECONDS
		timeout "$t" "$@" >"$res/$name.log" 2>&1
		local rc=$?
		[ $rc -eq 124 ] && echo "TIMEOUT after ${t}s" >>"$res/$name.log"
		[ $rc -ne 0 ] && status=1
		note "$(printf '%-10s rc=%-3s %4ss' "$name" "$rc" "$((SECONDS - start))")"
		grep -E '^\s*--- FAIL|^FAIL|panic:|cuda emulator:|TIMEOUT|no usable CUDA|Error in initialization' "$res/$name.log" | head -n 20 | tee -a "$sum"
		return $rc
	}

	suite=(-test.run 'TestDevice|TestInfoAndOpen|TestClose' -test.v -test.timeout 140s)
	step suite 150 "$dir/cuda.test" "${suite[@]}"
	# The race detector's memory layout may clash with the driver's
	# mappings: only a reported race fails the check.
	keep=$status
	step race 150 "$dir/cuda-race.test" -test.run 'TestDevice/Concurrent' -test.v -test.timeout 140s
	if grep -q 'DATA RACE' "$res/race.log"; then
		status=1
	elif [ $status -ne $keep ]; then
		note "warning: the race binary failed without reporting a race (see race.log); not counted"
		status=$keep
	fi
	grep -m1 'Kind:cuda' "$res/suite.log" | sed 's/^ */info: /' | tee -a "$sum"
	step compare 150 "$dir/cuda.test" -test.run 'CPU' -test.v -test.timeout 140s
	step forward 120 "$dir/cuda.test" -test.run '^$' -test.bench "${FORWARD_BENCH:-WaveForward1e8}" -test.benchtime 5x -test.timeout 110s
	step train 120 "$dir/cuda.test" -test.run '^$' -test.bench 'TrainEpoch' -test.benchtime 2s -test.timeout 110s
	if [ "${SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
		step memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 3 "$dir/cuda.test" -test.run 'TestDevice/(Wave|Interference|Linear|BatchNorm|MSE|Adam|Fourier)' -test.timeout 140s
	fi

	note "== results"
	summarize "$res" | tee -a "$sum"
	if [ $status -eq 0 ]; then note "gpu-check: PASS"; else note "gpu-check: FAIL (logs in $res)"; fi
	return $status
}

case "${1:-}" in
build) build ;;
emu) emu ;;
run) run ;;
summary) summarize "${2:?usage: $0 summary DIR}" ;;
*)
	sed -n '2,/^set -uo/p' "$0" | sed '$d'
	exit 2
	;;
esac

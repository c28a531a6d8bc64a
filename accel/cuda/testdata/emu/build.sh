#!/usr/bin/env bash
# build.sh DIR — builds DIR/libcuda.so.1, the CPU stand-in for the CUDA
# driver described in emu.cpp, from the kernels' sources. Needs g++ and
# cuda.h (scripts/install-cuda.sh). Then, for example:
#
#	go test -c -tags cuda -o out/cuda.test ./accel/cuda/
#	LD_LIBRARY_PATH=DIR out/cuda.test -test.run 'TestDevice|MatchCPU'
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: build.sh DIR}
mkdir -p "$dir"
g++ -std=c++17 -O2 -g -U_FORTIFY_SOURCE -fPIC -shared -w -Wl,-soname,libcuda.so.1 \
	-o "$dir/libcuda.so.1" "$here/emu.cpp"
echo "built $dir/libcuda.so.1"

#!/usr/bin/env bash
# install-cuda.sh — install the Debian CUDA toolkit (nvcc 11.8, cuda.h,
# libcuda stub) needed to build DREDGE with `-tags cuda` and to regenerate
# the kernels' PTX/fatbin with `go generate ./accel/cuda/`.
#
# Idempotent: re-running it only re-checks the sources file and lets apt
# decide there is nothing to do. Needs root (or sudo) on Debian bookworm.
#
#   scripts/install-cuda.sh          # install the toolkit (nvcc) and headers
#   scripts/install-cuda.sh dev      # headers and libraries only (CI)
#   nvcc --version                   # expect "release 11.8"
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# "dev" installs only the headers and libraries the cuda build needs (what
# CI checks); no argument adds nvcc, for regenerating the kernels.
PKGS="nvidia-cuda-toolkit nvidia-cuda-dev"
if [ "${1:-}" = dev ]; then
	PKGS="nvidia-cuda-dev"
	if [ -f /usr/include/cuda.h ]; then
		echo "install-cuda: cuda.h already present"
		exit 0
	fi
elif command -v nvcc >/dev/null 2>&1 && [ -f /usr/include/cuda.h ]; then
	echo "install-cuda: nvcc and cuda.h already present: $(nvcc --version | tail -n 2 | head -n 1)"
	exit 0
fi

SRC=/etc/apt/sources.list.d/debian-nonfree.sources
BASE=/etc/apt/sources.list.d/debian.sources
# Same mirror and keyring as the machine's main Debian source (its first
# stanza): this script names no mirror of its own.
URIS=$(awk '/^URIs:/{print; exit}' "$BASE" 2>/dev/null || true)
SIGNED=$(awk '/^Signed-By:/{print; exit}' "$BASE" 2>/dev/null || true)
if [ -z "$URIS" ]; then
	echo "install-cuda: no URIs: line in $BASE to copy for the non-free source" >&2
	exit 1
fi

WANT="Types: deb
${URIS}
Suites: bookworm bookworm-updates
Components: contrib non-free
${SIGNED}"

if [ ! -f "$SRC" ] || [ "$(cat "$SRC")" != "$WANT" ]; then
	echo "install-cuda: writing $SRC"
	printf '%s\n' "$WANT" | $SUDO tee "$SRC" >/dev/null
fi

$SUDO apt-get update -qq
# shellcheck disable=SC2086 # PKGS is a list
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null

if command -v nvcc >/dev/null 2>&1; then nvcc --version | tail -n 2; fi
ls -l /usr/include/cuda.h

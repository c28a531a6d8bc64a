#!/usr/bin/env bash
# install-cuda.sh — install the Debian CUDA toolkit (nvcc 11.8, cuda.h,
# libcuda stub) needed to build DREDGE with `-tags cuda` and to regenerate
# the kernels' PTX/fatbin with `go generate ./accel/cuda/`.
#
# Idempotent: re-running it only re-checks the sources file and lets apt
# decide there is nothing to do. Needs root (or sudo) on Debian bookworm.
#
#   scripts/install-cuda.sh          # install
#   nvcc --version                   # expect "release 11.8"
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v nvcc >/dev/null 2>&1 && [ -f /usr/include/cuda.h ]; then
	echo "install-cuda: nvcc and cuda.h already present: $(nvcc --version | tail -n 2 | head -n 1)"
	exit 0
fi

SRC=/etc/apt/sources.list.d/debian-nonfree.sources
BASE=/etc/apt/sources.list.d/debian.sources
# Same mirror and keyring as the main Debian source (first stanza).
URIS=$(awk '/^URIs:/{print; exit}' "$BASE" 2>/dev/null || true)
SIGNED=$(awk '/^Signed-By:/{print; exit}' "$BASE" 2>/dev/null || true)
: "${URIS:=URIs: http://deb.debian.org/debian}"
: "${SIGNED:=Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg}"

WANT="Types: deb
${URIS}
Suites: bookworm bookworm-updates
Components: contrib non-free
${SIGNED}"

if [ ! -f "$SRC" ] || [ "$(cat "$SRC")" != "$WANT" ]; then
	echo "install-cuda: writing $SRC"
	printf '%s\n' "$WANT" | $SUDO tee "$SRC" >/dev/null
fi

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
	nvidia-cuda-toolkit nvidia-cuda-dev

nvcc --version | tail -n 2

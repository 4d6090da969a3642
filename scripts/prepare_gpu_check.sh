#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for scripts/gpu_check.sh, which runs on a GPU machine that
# cannot reach a package index: Python 3.12 wheels of what that machine's image lacks
# (brian2 2.10.1, brian2cuda 1.0b1, netCDF4, cftime) and the MNIST files, gzipped.
# Run it here, in the repository, with brainlc installed (MNIST is fetched if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu/wheels .gpu/mnist
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .gpu/wheels \
    brian2==2.10.1 brian2cuda==1.0b1 netCDF4 cftime
data=$(python3 -c "from brainlc.experiment.mnist import load_mnist, data_dir; load_mnist(); print(data_dir())")
for file in "$data"/*-ubyte; do
    gzip -9 -c "$file" > ".gpu/mnist/$(basename "$file").gz"
done
du -sh .gpu

#!/usr/bin/env bash
# Every GPU check of the CUDA device, as one command on a GPU machine (Python 3.12 with
# numpy, sympy, Cython, Jinja2, xarray, scikit-learn; nvcc and cuRAND; no package index):
#   1. installs the wheels and MNIST that scripts/prepare_gpu_check.sh put in .gpu/, and
#      brainlc itself, into /tmp;
#   2. scripts/prebuild_cuda_tests.py compiles the test networks in parallel processes;
#      python -m pytest -m cuda: compiles the trace networks for this GPU, checks the
#      generated code, runs them and compares spikes, weights and thresholds with the
#      numpy reference; runs one network twice with one seed;
#   3. scripts/benchmark_devices.py: lc-100-k12 on the CPU and the GPU side by side: one
#      network at a time, evaluation replicas (R = 1 on one CPU core against R = 1..1024
#      on the GPU), lc-1000-k12 training on each, and 16 lc-25-k12 configurations trained one
#      after the other against as 16 training replicas.
# Results go to $OUT (default /tmp/brainlc-gpu-check): log.txt, cuda-tests.xml, devices.json.
# With the device tool: run(command="bash scripts/gpu_check.sh", carry=[".gpu"]).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/brainlc-gpu-check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/brainlc-site BRAINLC_DATA=/tmp/brainlc-mnist \
    BRAINLC_CACHE=${BRAINLC_CACHE:-/tmp/brainlc-compiled}
status=0
{
    set -e
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
    python3 --version
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/brainlc-site \
        "$repo"/.gpu/wheels/*.whl
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/brainlc-site "$repo"
    mkdir -p "$BRAINLC_DATA"
    for file in "$repo"/.gpu/mnist/*.gz; do
        gunzip -c "$file" > "$BRAINLC_DATA/$(basename "$file" .gz)"
    done
    cd /tmp  # import the installed brainlc, not the source folder
    python3 -c "import brainlc, brian2, brian2cuda; from brainlc.sim import devices; print('brainlc', brainlc.__version__, 'brian2', brian2.__version__, 'brian2cuda', devices.brian2cuda_version(), 'nvcc', devices.nvcc_path(), 'curand', devices.curand_dirs(), 'gpus', devices.visible_gpus())"
    set +e
    time python3 "$repo/scripts/prebuild_cuda_tests.py" || status=1
    python3 -m pytest -c "$repo/pyproject.toml" --rootdir "$repo" -p no:cacheprovider -m cuda -v \
        --junitxml "$out/cuda-tests.xml" "$repo/tests/test_cuda.py" || status=1
    python3 "$repo/scripts/benchmark_devices.py" --devices cpp cuda --images 40 --repeats 3 \
        --replicas 1,64,256,1024 --eval-images 2048 --train-preset lc-1000-k12 --train-images 20 \
        --sweep-replicas 16 --cache "$BRAINLC_CACHE/bench" --prebuild 12 \
        -o "$out/devices.json" || status=1
    exit $status
} 2>&1 | tee "$out/log.txt"
exit "${PIPESTATUS[0]}"

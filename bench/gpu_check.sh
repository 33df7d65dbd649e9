#!/usr/bin/env bash
# The GPU measurements of issues 13 and 14, as one script for a lent GPU machine (Python
# 3.12 with torch, no network). Before it, onnxruntime-gpu 1.31.1 (CUDA 13, 255 MB: more
# than one transfer may carry) arrives in five parts under /tmp/w/ (see the closing note of
# issues 13/14); piexif and platformdirs come as wheels in .whl/. Writes under $OUT:
# providers.json (bench/provider.py), train_scale_gpu.json and BENCHMARKS.md
# (bench/train_scale.py --device cuda), gpu_check.log.
set -uo pipefail
exec > >(tee "$OUT/gpu_check.log") 2>&1
WHL=/tmp/w/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl
cat /tmp/w/part1 /tmp/w/part2 /tmp/w/part3 /tmp/w/part4 /tmp/w/part5 > "$WHL"
echo "05d548956197b9d01f59b625de740e0d6be3593f874e241a12dc0362650ecdf7  $WHL" | sha256sum -c - || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHL" .whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1
# the CUDA 13 / cuDNN 9 libraries onnxruntime-gpu loads: those of the image's torch
LD_LIBRARY_PATH=$(python3 -c "import site,glob;print(':'.join(sorted({g for s in site.getsitepackages() for g in glob.glob(s+'/nvidia/**/lib',recursive=True)})))"):${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import onnxruntime as o; print(o.__version__, o.__file__, o.get_available_providers())"
timeout 150 python3 bench/provider.py --json "$OUT/providers.json" --count 4 --rounds 2
cp BENCHMARKS.md "$OUT/BENCHMARKS.md"
timeout 270 python3 bench/train_scale.py --device cuda --data .devdata \
    --json "$OUT/train_scale_gpu.json" --write-md "$OUT/BENCHMARKS.md"
echo "gpu_check done"

#!/usr/bin/env bash
# Reproduces the bundled default model (size "small", headroom head) with the project's own
# `train`:
#   1. synthetic pre-training on clean photos (detail degradations only: noise, blur,
#      JPEG, over-sharpening — not tone, which the real pairs carry),
#   2. fine-tuning on the real DPED iPhone→Canon pairs (flagged pairs excluded; 15 % fixed
#      validation split by name hash, never trained on) with identity examples (a share
#      of each batch is a DSLR target or a clean photo that must come out unchanged),
#      early stopping, then calibration and quantization-aware training,
#   3. copying the exports into weights/ (packaged into the wheel as photoenhance/weights).
# Only the training 80 % of photos/ is used (bench/_common.py photo_split): the other 20 %
# stay unseen for the harm measures of bench/quality.py.
# Usage: bash bench/train_default.sh [DATA_DIR]   (default ../shared/data)
# The recipe (loss, identity share) comes from bench/recipe.py; see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
OUT=runs/default
IDENTITY="${IDENTITY:-0.3}"
LOSS="${LOSS:-l1mse}"
CHROMA="${CHROMA:-1.0}"
SEED="${SEED:-1}"
start=$(date +%s)
python bench/_common.py link-train-photos "$DATA/photos" "$OUT/photos-train"

photoenhance train --synthetic "$OUT/photos-train" --from scratch --size small --head headroom \
  --steps 1000 --qat-steps 0 --lr 1e-3 --eval-every 100 --checkpoint-every 100 \
  --threads 2 --seed "$SEED" --out "$OUT/pretrain"

photoenhance train --pairs "$DATA/dped-iphone" --from "$OUT/pretrain/checkpoint.pt" \
  --identity-share "$IDENTITY" --identity-photos "$OUT/photos-train" --loss "$LOSS" --chroma-weight "$CHROMA" \
  --steps 2000 --qat-steps 600 --lr 5e-4 --qat-lr 5e-5 --val-fraction 0.15 \
  --eval-every 50 --checkpoint-every 100 --threads 2 --seed "$SEED" --out "$OUT/dped"

W=weights
cp "$OUT/dped/model.onnx" "$W/photoenhance-small-int8.onnx"
cp "$OUT/dped/model-fp32.onnx" "$W/photoenhance-small-fp32.onnx"
cp "$OUT/dped/checkpoint.pt" "$W/photoenhance-small.pt"
echo "wall time: $(( $(date +%s) - start )) s"

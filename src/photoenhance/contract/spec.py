"""The model's ONNX I/O contract, format 2: names, sizes and metadata keys.

Written by :mod:`photoenhance.contract.writer` (used by ``quant/export.py``), checked by
:mod:`photoenhance.contract.reader` (used by the inference session). No torch, no
onnxruntime, no onnx here: plain values only, so training and inference share them.

``image``     float32 ``(N, H/2, W/2, 12)``: RGB in [0, 1] in space-to-depth NHWC layout
              (:mod:`photoenhance.contract.layout`), H and W multiples of :data:`MULTIPLE`
``thumb``     float32 ``(N, 3, 64, 64)``: the whole image's context thumbnail
              (:mod:`photoenhance.contract.context`), identical for every tile
``enhanced``  the output, in the layout of ``image``, in [0, 1]
"""

from __future__ import annotations

#: the I/O contract version in the metadata: "2" = space-to-depth NHWC image tensors
FORMAT = "2"
IMAGE_INPUT = "image"
THUMB_INPUT = "thumb"
INPUT_NAMES: tuple[str, str] = (IMAGE_INPUT, THUMB_INPUT)
OUTPUT_NAME = "enhanced"
#: side of the context thumbnail (the network's global-context input)
CONTEXT_SIZE = 64
#: channels of the packed layout (2 x 2 sub-pixels x RGB)
PACKED_CHANNELS = 12
#: image sides are multiples of this (the network's stride)
MULTIPLE = 8
#: halo a model without ``photoenhance.halo`` metadata is read with
MIN_HALO = 64

#: metadata keys (ONNX ``metadata_props``), in the order the writer adds them
META_VERSION = "photoenhance.version"
META_FORMAT = "photoenhance.format"
META_MODEL_SIZE = "photoenhance.model_size"
META_CONFIG = "photoenhance.config"
META_PRECISION = "photoenhance.precision"
META_MACS_PER_MP = "photoenhance.macs_per_mp"
META_MULTIPLE = "photoenhance.multiple"
META_PARAMS = "photoenhance.params"
META_HALO = "photoenhance.halo"
META_CONTEXT = "photoenhance.context"
META_IO = "photoenhance.io"

#: the ``photoenhance.io`` description written into every model
IO_DESCRIPTION = (
    "image: float32 (N, H/2, W/2, 12) space-to-depth(2) NHWC of RGB "
    "[0,1], channel (dy*2+dx)*3+c, H,W multiple of 8; output enhanced: same layout, [0,1]"
)
#: how the thumbnail is made, as written into ``photoenhance.context``
CONTEXT_METHOD = (
    "adaptive_avg_pool2d of the whole image, RGB [0,1], "
    "same bins as torch.nn.functional.adaptive_avg_pool2d"
)
#: onnx dynamic axes of the inputs and output (for the exporter)
DYNAMIC_AXES: dict[str, dict[int, str]] = {
    IMAGE_INPUT: {0: "batch", 1: "half_height", 2: "half_width"},
    THUMB_INPUT: {0: "batch"},
    OUTPUT_NAME: {0: "batch", 1: "half_height", 2: "half_width"},
}

"""The model's ONNX I/O contract, formats 2 and 3: names, sizes and metadata keys.

Written by :mod:`photoenhance.contract.writer` (used by ``quant/export.py``), checked by
:mod:`photoenhance.contract.reader` (used by the inference session). No torch, no
onnxruntime, no onnx here: plain values only, so training and inference share them.

``image``     float32 ``(N, H/2, W/2, 12)``: RGB in [0, 1] in space-to-depth NHWC layout
              (:mod:`photoenhance.contract.layout`), H and W multiples of :data:`MULTIPLE`
``thumb``     float32 ``(N, 3, 64, 64)``: the whole image's context thumbnail
              (:mod:`photoenhance.contract.context`), identical for every tile
``stats``     (format 3 only) float32 ``(N, 51, 1, 1)``: the thumbnail's whole-photo
              statistics in [0, 1] (:mod:`photoenhance.contract.statistics`)
``enhanced``  the output, in the layout of ``image``, in [0, 1]
"""

from __future__ import annotations

#: the I/O contract version in the metadata: "2" = space-to-depth NHWC image tensors
#: and the thumbnail (models 0.1, 0.2, any model without statistics)
FORMAT = "2"
#: "3" = format 2 plus the ``stats`` input (model 0.3)
FORMAT_STATS = "3"
#: the formats this version reads
FORMATS: tuple[str, ...] = (FORMAT, FORMAT_STATS)
IMAGE_INPUT = "image"
THUMB_INPUT = "thumb"
STATS_INPUT = "stats"
INPUT_NAMES: tuple[str, str] = (IMAGE_INPUT, THUMB_INPUT)
INPUT_NAMES_STATS: tuple[str, str, str] = (IMAGE_INPUT, THUMB_INPUT, STATS_INPUT)
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
#: how the statistics are made, as written into ``photoenhance.context`` (format 3)
STATS_METHOD = (
    "photoenhance.contract.statistics.thumbnail_statistics of the context thumbnail: "
    "mean, 2*std, percentiles 2/10/25/50/75/90/98 per channel; luma mean, 2*std, mean "
    "saturation; 8-bin luma and 4-bin saturation histograms; 2*cov+0.5; log means"
)

#: onnx dynamic axes of the inputs and output (for the exporter)
DYNAMIC_AXES: dict[str, dict[int, str]] = {
    IMAGE_INPUT: {0: "batch", 1: "half_height", 2: "half_width"},
    THUMB_INPUT: {0: "batch"},
    STATS_INPUT: {0: "batch"},
    OUTPUT_NAME: {0: "batch", 1: "half_height", 2: "half_width"},
}

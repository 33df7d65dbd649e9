"""photoenhance: phone-to-DSLR photo enhancement with a small INT8 network.

Image convention (stated once, used everywhere): images are float32 RGB in [0, 1];
the network sees NCHW batches, the I/O edge hands out HWC arrays. Only
:mod:`photoenhance.io` deals with file modes, bit depths, orientation and metadata.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

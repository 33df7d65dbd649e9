"""The exceptions of the Python API (:mod:`photoenhance.api`).

Every failure of :func:`photoenhance.enhance`, :func:`photoenhance.enhance_file` and
:class:`photoenhance.Enhancer` is one of the project's exception types, never
onnxruntime's (its errors are mapped by their type, see
:func:`photoenhance.api.engine.run_network`), each with a one-line message:

=================================  ==========================================================
``ImageReadError`` (ValueError)    the input cannot be read as a photo (``"<name>: <reason>"``)
``ImageWriteError`` (OSError)      the output cannot be encoded or written
``OutputExistsError``              ``enhance_file``: the output exists (``overwrite=False``)
(FileExistsError)
``OutputConflictError``            ``enhance_file``: the output would replace the input
(ValueError)
``UnsupportedImageError``          an in-memory image of a kind, mode, dtype or shape the
(ValueError, TypeError)            API does not take
``ModelLoadError`` (RuntimeError)  the model is missing or not a photoenhance model
``ProviderUnavailableError``       the execution provider cannot be used here
(ValueError)
``EnhanceError`` (RuntimeError)    the network failed while enhancing (onnxruntime's error,
                                   or out of memory)
=================================  ==========================================================

The three defined here are light (no onnxruntime); the others are where the rest of the
package defines them, reached lazily from ``photoenhance`` (``photoenhance.ModelLoadError``).
"""

from __future__ import annotations


class EnhanceError(RuntimeError):
    """The network failed on an image (an onnxruntime error at run time, or out of memory)."""


class OutputExistsError(FileExistsError):
    """``enhance_file`` would replace an existing file, and ``overwrite`` is False."""


class UnsupportedImageError(ValueError, TypeError):
    """An in-memory image the API does not take: another type, a Pillow mode without an
    RGB meaning (``F``, ``LAB``, ``HSV``...), a dtype other than uint8/uint16/float32, or a
    shape other than ``(H, W)``, ``(H, W, 1|2|3|4)``."""

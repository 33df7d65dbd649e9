"""Text for one-line messages: file names with control characters, escaped.

A file name may hold any byte but ``/`` and NUL: a newline in a name would split the
one-line ``error: <path>: <reason>`` messages, a carriage return or an escape
sequence could rewrite the terminal.  :func:`printable` escapes such characters the
way :func:`repr` does (``\\n``, ``\\x1b``, ``\\u2028``); undecodable bytes (kept by
Python as lone surrogates) become ``\\xNN``.  Everything else is left as it is, so
ordinary (Unicode) names print unchanged.  No dependencies: the CLI imports this early.
"""

from __future__ import annotations

import os
import unicodedata

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: categories escaped: controls, line/paragraph separators, lone surrogates
_UNPRINTABLE = frozenset({"Cc", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` (or a path) with control characters escaped repr-style: one printable line."""
    text = os.fspath(text)
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in text)

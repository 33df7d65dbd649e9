"""Text for one-line messages: file names with control characters, escaped.

A file name may hold any byte but ``/`` and NUL: a newline in a name would split the
one-line ``error: <path>: <reason>`` messages, a carriage return or an escape
sequence could rewrite the terminal.  :func:`printable` escapes such characters the
way :func:`repr` does (``\\n``, ``\\x1b``, ``\\u2028``); undecodable bytes (kept by
Python as lone surrogates) become ``\\xNN``.  Everything else is left as it is, so
ordinary (Unicode) names print unchanged.  No dependencies: the CLI imports this early.

Also the plain-text progress lines for a stderr that is not a terminal
(:class:`PlainProgress`).
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


def duration(seconds: float) -> str:
    """``seconds`` as ``45s``, ``1m20s`` or ``2h05m`` (for ETAs)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class PlainProgress:
    """Progress as plain lines, for a stderr that is not a terminal (cron, CI logs):
    ``12/40 photos, 3.1 MP/s, ETA 1m20s`` every ``every`` seconds, at each tenth of the
    batch and at its end - never more than one line per finished photo.

    :meth:`line` takes the clock as an argument (``now``, seconds), so the rule is
    tested without waiting.
    """

    def __init__(self, start: float, every: float = 10.0) -> None:
        self.start = start
        self.every = every
        self.last = start
        self.next_step = 0

    def line(self, done: int, total: int, megapixels: float | None, now: float) -> str | None:
        """The line to print after ``done`` of ``total`` finished, or None (``megapixels``
        None: no MP/s in the line)."""
        if done <= 0 or total <= 0:
            return None
        step = max(1, -(-total // 10))  # ceil(total / 10)
        due = done >= total or done >= self.next_step or now - self.last >= self.every
        if not due:
            return None
        self.last = now
        self.next_step = (done // step + 1) * step
        elapsed = max(now - self.start, 1e-6)
        eta = elapsed / done * (total - done)
        rate = "" if megapixels is None else f", {megapixels / elapsed:.1f} MP/s"
        return f"{done}/{total} photos{rate}, ETA {duration(eta)}"


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as a single line: newlines and runs of whitespace become one space;
    longer than ``limit`` characters, cut there and ended with ``...``.  The one rule for
    every error and warning the program prints or returns."""
    flat = " ".join(str(text).split())
    if limit is not None and len(flat) > limit:
        return flat[:limit] + "..."
    return flat

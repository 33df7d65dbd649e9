"""One-line messages: file names with control characters are escaped (issue 11, item 11)."""

from __future__ import annotations

import os
from pathlib import Path

from photoenhance.display import printable
from photoenhance.io import ImageReadError, ImageWriteError


def test_printable_escapes_only_what_breaks_a_line() -> None:
    assert printable("Ürlaub 2024/straße café [red].JPG") == "Ürlaub 2024/straße café [red].JPG"
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable("x\x1b[2Jy\x7f\x85") == "x\\x1b[2Jy\\x7f\\x85"
    assert printable("line\u2028sep") == "line\\u2028sep"
    assert printable(Path(os.fsdecode(b"bad\xff.jpg"))) == "bad\\xff.jpg"  # undecodable byte


def test_errors_are_one_line_with_the_real_name_escaped() -> None:
    cases = [
        (ImageReadError("in/a\nb.jpg", "empty\nfile"), "in/a\\nb.jpg: empty file"),
        (ImageWriteError("o/a\nb.jpg", "disk full"), "o/a\\nb.jpg: disk full"),
    ]
    for exc, text in cases:
        assert str(exc) == text
        assert "\n" in str(exc.path)  # the path itself is kept as it is

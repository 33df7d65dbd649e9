"""Lossless EXIF editing: set ``Software`` and replace/drop the thumbnail.

EXIF blobs here are raw TIFF structures (``II*\\0``/``MM\\0*`` header onwards, no
``Exif\\0\\0`` prefix).  Edits are *append-only*: a new IFD0 (and IFD1) is appended
and the header is re-pointed at it, so every other byte - sub-IFDs, MakerNote and
its vendor-specific internal offsets, unknown tags - stays exactly where it was.
The old thumbnail bytes are cut off (when they are the tail) or zeroed, so no stale
preview survives.  Anything we cannot parse is returned unchanged with a warning.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import piexif

EXIF_PREFIX = b"Exif\x00\x00"
TAG_SOFTWARE = 0x0131
TAG_ORIENTATION = 0x0112  # read by parse_exif (ParsedExif.orientation)
TAG_THUMB_OFFSET = 0x0201
TAG_THUMB_LENGTH = 0x0202
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_INTEROP_IFD = 0xA005
TYPE_ASCII = 2
TYPE_LONG = 4
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


class ExifFormatError(ValueError):
    """The blob is not a TIFF structure whose IFD0 we can parse."""


@dataclass(frozen=True)
class EditedExif:
    """Result of :func:`edit_exif`: the new blob and warnings (empty when clean)."""

    data: bytes
    warnings: tuple[str, ...]


def strip_prefix(data: bytes) -> bytes:
    """Remove a leading ``Exif\\0\\0`` (APP1/WebP/HEIF style) if present."""
    return data[len(EXIF_PREFIX) :] if data.startswith(EXIF_PREFIX) else data


@dataclass(frozen=True)
class _Ifd:
    """An IFD's raw 12-byte entries (tag -> entry) and its next-IFD pointer."""

    entries: dict[int, bytes]
    next_offset: int


class _Tiff:
    """Minimal bounds-checked reader for a TIFF/EXIF structure."""

    def __init__(self, data: bytes) -> None:
        if data[:4] == b"II*\x00":
            self.endian = "<"
        elif data[:4] == b"MM\x00*":
            self.endian = ">"
        else:
            raise ExifFormatError("no TIFF header")
        self.data = data
        self.ifd0_offset = self.u32(4)

    def u16(self, pos: int) -> int:
        if pos < 0 or pos + 2 > len(self.data):
            raise ExifFormatError(f"offset {pos} out of range")
        return int(struct.unpack_from(self.endian + "H", self.data, pos)[0])

    def u32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > len(self.data):
            raise ExifFormatError(f"offset {pos} out of range")
        return int(struct.unpack_from(self.endian + "I", self.data, pos)[0])

    def ifd(self, offset: int) -> _Ifd:
        count = self.u16(offset)
        end = offset + 2 + 12 * count
        if end + 4 > len(self.data):
            raise ExifFormatError(f"IFD at {offset} runs past the end")
        entries = {}
        for i in range(count):
            raw = self.data[offset + 2 + 12 * i : offset + 14 + 12 * i]
            entries[struct.unpack(self.endian + "H", raw[:2])[0]] = raw
        return _Ifd(entries, self.u32(end))

    def long_value(self, entry: bytes) -> int:
        """Value of a single SHORT/LONG entry."""
        return _long_value(self.endian, entry)


def _long_value(endian: str, entry: bytes) -> int:
    """Value of a single SHORT/LONG entry in byte order ``endian``."""
    typ = struct.unpack(endian + "H", entry[2:4])[0]
    fmt = "H" if typ == 3 else "I"
    return int(struct.unpack(endian + fmt, entry[8 : 8 + struct.calcsize(fmt)])[0])


def _entry(endian: str, tag: int, typ: int, count: int, value_field: bytes) -> bytes:
    return struct.pack(endian + "HHI", tag, typ, count) + value_field.ljust(4, b"\x00")


class _Appender:
    """Builds the appended tail; offsets are absolute from the TIFF header."""

    def __init__(self, base: bytearray, endian: str) -> None:
        self.buf = base
        self.endian = endian
        self.align()

    def align(self) -> None:
        if len(self.buf) % 2:
            self.buf += b"\x00"

    def put(self, data: bytes) -> int:
        self.align()
        pos = len(self.buf)
        self.buf += data
        return pos

    def value_field(self, payload: bytes) -> bytes:
        """Inline payload (<= 4 bytes) or append it and return its offset field."""
        if len(payload) <= 4:
            return payload
        return struct.pack(self.endian + "I", self.put(payload))

    def ifd(self, entries: dict[int, bytes], next_offset: int) -> int:
        body = struct.pack(self.endian + "H", len(entries))
        body += b"".join(entries[t] for t in sorted(entries))
        body += struct.pack(self.endian + "I", next_offset)
        return self.put(body)


def _remove_thumbnail(endian: str, buf: bytearray, ifd1: _Ifd) -> None:
    """Cut off (if it is the tail) or zero the old thumbnail bytes in ``buf``."""
    off_entry = ifd1.entries.get(TAG_THUMB_OFFSET)
    len_entry = ifd1.entries.get(TAG_THUMB_LENGTH)
    if off_entry is None or len_entry is None:
        return
    start, length = _long_value(endian, off_entry), _long_value(endian, len_entry)
    end = start + length
    if start < 8 or length <= 0 or end > len(buf):
        return
    if end == len(buf):
        del buf[start:]
    else:
        buf[start:end] = bytes(length)


@dataclass(frozen=True, eq=False)
class ParsedExif:
    """A photo's EXIF read once (:func:`parse_exif`): what :class:`~photoenhance.io.Metadata`
    carries, so that the orientation, the thumbnail check and :func:`edit_exif` need not
    read the blob again.

    Attributes:
        data: the blob as carried over (out-of-bounds entries removed, no prefix); empty
            when the EXIF had to be dropped.
        warnings: what the check and the validation found (as :func:`check_exif` and
            :func:`exif_warnings` word it).
        walked: every IFD was read within bounds; when False the IFDs below are None and
            the users read ``data`` the old way (the damaged blob keeps its old handling).
        endian: ``"<"`` or ``">"`` ("" when there is no TIFF header).
        ifd0, ifd1: IFD0 and IFD1 entries as ``data`` holds them (None: absent/unread).
        orientation: EXIF Orientation 1..8 (1 when absent or out of range), or None when
            the entry is of an unusual type or count (Pillow's reading decides then:
            :func:`photoenhance.io.orientation.exif_orientation`).
    """

    data: bytes
    warnings: tuple[str, ...]
    walked: bool
    endian: str
    ifd0: _Ifd | None
    ifd1: _Ifd | None
    orientation: int | None


_ORIENTATION_FORMATS = {3: "H", 4: "I", 8: "h", 9: "i"}  # SHORT, LONG, SSHORT, SLONG


def _orientation(endian: str, ifd0: _Ifd) -> int | None:
    """Orientation from IFD0 as Pillow's ``Exif().get(0x0112, 1)`` reads it, for one value
    of an integer type; None for anything else (left to Pillow)."""
    raw = ifd0.entries.get(TAG_ORIENTATION)
    if raw is None:
        return 1
    typ, count = struct.unpack(endian + "HI", raw[2:8])
    fmt = _ORIENTATION_FORMATS.get(typ)
    if fmt is None or count != 1:
        return None
    value = int(struct.unpack(endian + fmt, raw[8 : 8 + struct.calcsize(fmt)])[0])
    return value if 1 <= value <= 8 else 1


def parse_exif(data: bytes) -> ParsedExif:
    """Read a photo's EXIF blob once: bounds check and repair (:func:`check_exif`),
    validation by piexif (:func:`exif_warnings`, when the walk read every IFD), and IFD0,
    IFD1 and the orientation kept for later use.  Never raises."""
    checked, endian, ifd0, ifd1 = _walk(data)
    warnings = checked.warnings
    if checked.data and checked.walked:
        warnings = (*warnings, *_piexif_warnings(checked.data))
    walked = checked.walked and ifd0 is not None
    orientation = _orientation(endian, ifd0) if walked and ifd0 is not None else None
    return ParsedExif(
        checked.data,
        warnings,
        walked,
        endian,
        ifd0 if walked else None,
        ifd1 if walked else None,
        orientation,
    )


def edit_exif(data: bytes | ParsedExif, *, software: str | None, thumbnail: bytes | None) -> EditedExif:
    """Return ``data`` with ``Software`` set and the IFD1 thumbnail replaced or dropped.

    Args:
        data: the photo's :class:`ParsedExif` (its IFDs are not read again), or raw EXIF
            (TIFF header onwards; an ``Exif\\0\\0`` prefix is tolerated).
        software: new IFD0 ``Software`` value (None leaves it as is).
        thumbnail: JPEG bytes for the new IFD1 thumbnail, or None to drop IFD1.
            A thumbnail is only written if the original had an IFD1.

    Never raises: unparseable input is returned unchanged, with a warning.
    """
    if isinstance(data, ParsedExif):
        if data.walked and data.ifd0 is not None:  # IFD0 and IFD1 read whole by parse_exif
            try:
                return _edit_ifds(data.data, data.endian, data.ifd0, data.ifd1, [], software, thumbnail)
            except (ExifFormatError, struct.error, ValueError, OverflowError) as exc:
                warning = f"EXIF structure not editable ({exc}); carried over unchanged"
                return EditedExif(data.data, (warning,))
        data = data.data  # a blob the walk could not read whole: read it as before
    data = strip_prefix(data)
    try:
        return _edit(data, software, thumbnail)
    except (ExifFormatError, struct.error, ValueError, OverflowError) as exc:
        warning = f"EXIF structure not editable ({exc}); carried over unchanged"
        return EditedExif(data, (warning,))


def _edit(data: bytes, software: str | None, thumbnail: bytes | None) -> EditedExif:
    tiff = _Tiff(data)
    ifd0 = tiff.ifd(tiff.ifd0_offset)
    ifd1: _Ifd | None = None
    warnings: list[str] = []
    if ifd0.next_offset:
        try:
            ifd1 = tiff.ifd(ifd0.next_offset)
        except ExifFormatError:
            warnings.append("EXIF IFD1 (thumbnail) unreadable; dropped")
    return _edit_ifds(data, tiff.endian, ifd0, ifd1, warnings, software, thumbnail)


def _edit_ifds(
    data: bytes,
    e: str,
    ifd0: _Ifd,
    ifd1: _Ifd | None,
    warnings: list[str],
    software: str | None,
    thumbnail: bytes | None,
) -> EditedExif:
    """The append-only edit of ``data`` whose IFD0 and IFD1 (byte order ``e``) are read."""
    buf = bytearray(data)
    if ifd1 is not None:
        _remove_thumbnail(e, buf, ifd1)
    app = _Appender(buf, e)
    entries0 = dict(ifd0.entries)
    if software is not None:
        payload = software.encode("utf-8", "replace") + b"\x00"
        entries0[TAG_SOFTWARE] = _entry(e, TAG_SOFTWARE, TYPE_ASCII, len(payload), app.value_field(payload))
    next_offset = 0
    if ifd1 is not None and thumbnail is not None:
        entries1 = {t: v for t, v in ifd1.entries.items() if t not in (TAG_THUMB_OFFSET, TAG_THUMB_LENGTH)}
        thumb_pos = app.put(thumbnail)
        entries1[TAG_THUMB_OFFSET] = _entry(e, TAG_THUMB_OFFSET, TYPE_LONG, 1, struct.pack(e + "I", thumb_pos))
        entries1[TAG_THUMB_LENGTH] = _entry(e, TAG_THUMB_LENGTH, TYPE_LONG, 1, struct.pack(e + "I", len(thumbnail)))
        next_offset = app.ifd(entries1, 0)
    new_ifd0 = app.ifd(entries0, next_offset)
    app.buf[4:8] = struct.pack(e + "I", new_ifd0)
    return EditedExif(bytes(app.buf), tuple(warnings))


def has_thumbnail(data: bytes | ParsedExif) -> bool:
    """True if the blob has an IFD1 with a JPEG thumbnail (never raises)."""
    if isinstance(data, ParsedExif):
        if data.walked:
            return data.ifd1 is not None and TAG_THUMB_OFFSET in data.ifd1.entries
        data = data.data
    try:
        tiff = _Tiff(strip_prefix(data))
        ifd0 = tiff.ifd(tiff.ifd0_offset)
        return bool(ifd0.next_offset) and TAG_THUMB_OFFSET in tiff.ifd(ifd0.next_offset).entries
    except (ExifFormatError, struct.error):
        return False


def minimal_exif(software: str) -> bytes:
    """A tiny big-endian EXIF blob holding only IFD0 ``Software``."""
    return bytes(piexif.dump({"0th": {TAG_SOFTWARE: software.encode("utf-8", "replace")}}))[
        len(EXIF_PREFIX) :
    ]


# --------------------------------------------------------------------------- bounds

# sub-IFDs walked (as piexif reads them): IFD name -> {pointer tag: sub-IFD name}
_SUB_IFDS = {"IFD0": {TAG_EXIF_IFD: "Exif", TAG_GPS_IFD: "GPS"}, "Exif": {TAG_INTEROP_IFD: "Interop"}}
_MAX_IFDS = 16  # IFD0, IFD1 (+ a few chained), Exif, GPS, Interop: more is a crafted loop
_MAX_LISTED = 3  # dropped entries named one by one in warnings; the rest are counted
PIEXIF_MAX_BYTES = 1 << 18
"""Larger blobs are not given to piexif (its memory grows with the counts it reads)."""


@dataclass(frozen=True)
class CheckedExif:
    """Result of :func:`check_exif`.

    Attributes:
        data: the blob with every out-of-bounds entry removed (in place: other bytes
            and offsets unchanged), or unchanged when nothing was wrong.
        warnings: one line per problem.
        walked: True if every IFD was read within bounds (safe for a full parser).
    """

    data: bytes
    warnings: tuple[str, ...]
    walked: bool


def _oversized(tiff: _Tiff, raw: bytes) -> int | None:
    """Bytes an entry claims if its value lies outside the blob, else None."""
    typ, count = struct.unpack(tiff.endian + "HI", raw[2:8])
    size = _TYPE_SIZES.get(typ)
    if size is None or size * count <= 4:
        return None
    start = struct.unpack(tiff.endian + "I", raw[8:12])[0]
    return size * count if start + size * count > len(tiff.data) else None


def _rewrite_ifd(buf: bytearray, tiff: _Tiff, offset: int, keep: list[bytes], next_offset: int) -> None:
    """Write an IFD with only ``keep`` at ``offset`` (it shrinks: the tail is zeroed)."""
    old_end = offset + 2 + 12 * tiff.u16(offset) + 4
    body = struct.pack(tiff.endian + "H", len(keep)) + b"".join(keep)
    body += struct.pack(tiff.endian + "I", next_offset)
    buf[offset:old_end] = body.ljust(old_end - offset, b"\x00")


def check_exif(data: bytes) -> CheckedExif:
    """Validate every IFD entry's count x size against the blob, *before* any parser.

    Walks IFD0, the IFD chain after it, and the Exif, GPS and Interop sub-IFDs with
    bounds checks only (no value is decoded, loops are cut).  An entry whose value
    would lie outside the blob - e.g. SHORT x 0x04000000, which makes piexif build a
    count-sized format string (gigabytes) - is removed from its IFD in place, with a
    warning; the photo keeps the rest of its EXIF.  When an IFD itself cannot be read
    (``walked`` False) the blob - repaired where possible - is carried as raw bytes
    and must not be given to a full parser; if that unreadable IFD has an oversized
    entry among the ones that can be read, the EXIF is dropped (``data`` empty).
    Never raises.
    """
    return _walk(data)[0]


def _walk(data: bytes) -> tuple[CheckedExif, str, _Ifd | None, _Ifd | None]:
    """:func:`check_exif`, and IFD0 / IFD1 as read (None when not read whole) with the
    byte order."""
    data = strip_prefix(data)
    try:
        tiff = _Tiff(data)
    except ExifFormatError as exc:
        return CheckedExif(data, (f"EXIF not parseable ({exc}); carried over as raw bytes",), False), "", None, None
    read: dict[str, _Ifd] = {}  # IFD0 and IFD1 as kept (what the repaired blob holds)
    buf = bytearray(data)
    dropped: list[str] = []
    problems: list[str] = []
    unrepairable = False
    seen: set[int] = set()
    todo: list[tuple[int, str]] = [(tiff.ifd0_offset, "IFD0")]
    while todo:
        offset, name = todo.pop(0)
        if offset in seen or len(seen) >= _MAX_IFDS:
            problems.append(f"EXIF {name} loops or nests too deep")
            continue
        seen.add(offset)
        try:
            ifd = tiff.ifd(offset)
        except ExifFormatError as exc:
            problems.append(f"EXIF {name} unreadable ({exc})")
            unrepairable = unrepairable or _partial_ifd_oversized(tiff, offset)
            continue
        keep = []
        raws = [bytes(data[offset + 2 + 12 * i : offset + 14 + 12 * i]) for i in range(tiff.u16(offset))]
        for raw in raws:  # every entry, duplicates included (``ifd.entries`` keeps one per tag)
            tag = struct.unpack(tiff.endian + "H", raw[:2])[0]
            claimed = _oversized(tiff, raw)
            if claimed is not None:
                dropped.append(f"tag {tag:#06x} in {name} claims {claimed} bytes")
                continue
            keep.append(raw)
            sub = _SUB_IFDS.get(name, {}).get(tag)
            if sub is not None:
                todo.append((tiff.long_value(raw), sub))
        if len(keep) < len(raws):
            _rewrite_ifd(buf, tiff, offset, keep, ifd.next_offset)
        if name in ("IFD0", "IFD1"):
            read[name] = _Ifd({struct.unpack(tiff.endian + "H", raw[:2])[0]: raw for raw in keep}, ifd.next_offset)
        if name.startswith("IFD") and ifd.next_offset:
            todo.append((ifd.next_offset, f"IFD{int(name[3:]) + 1}"))
    warnings = []
    walked = not problems
    if unrepairable:
        warnings.append(
            f"EXIF has entries larger than its {len(data)}-byte block and cannot be repaired "
            f"({'; '.join(problems[:_MAX_LISTED])}); dropped"
        )
        return CheckedExif(b"", tuple(warnings), False), tiff.endian, None, None
    if dropped:
        more = f" and {len(dropped) - _MAX_LISTED} more" if len(dropped) > _MAX_LISTED else ""
        warnings.append(
            f"EXIF entries larger than the {len(data)}-byte EXIF block dropped: "
            f"{', '.join(dropped[:_MAX_LISTED])}{more}"
        )
    warnings.extend(f"{p}; EXIF carried over as raw bytes" for p in problems[:_MAX_LISTED])
    checked = CheckedExif(bytes(buf) if dropped else data, tuple(warnings), walked)
    return checked, tiff.endian, read.get("IFD0"), read.get("IFD1")


def _partial_ifd_oversized(tiff: _Tiff, offset: int) -> bool:
    """True if an IFD that runs past the end has a readable oversized entry."""
    try:
        count = tiff.u16(offset)
    except ExifFormatError:
        return False
    for i in range(count):
        pos = offset + 2 + 12 * i
        if pos + 12 > len(tiff.data):
            break
        if _oversized(tiff, bytes(tiff.data[pos : pos + 12])) is not None:
            return True
    return False


def exif_warnings(data: bytes) -> tuple[str, ...]:
    """Warnings for EXIF that piexif cannot parse (it is still carried as raw bytes).

    Call on a blob that :func:`check_exif` walked; blobs over
    :data:`PIEXIF_MAX_BYTES` are not parsed (no warning).
    """
    notes = _piexif_warnings(data)
    if notes or len(strip_prefix(data)) > PIEXIF_MAX_BYTES:
        return notes
    try:
        tiff = _Tiff(strip_prefix(data))
        tiff.ifd(tiff.ifd0_offset)
    except (ExifFormatError, struct.error) as exc:
        return (f"EXIF IFD0 not parseable ({exc}); carried over as raw bytes",)
    return ()


def _piexif_warnings(data: bytes) -> tuple[str, ...]:
    """piexif's complaint about ``data``, if any (blobs over :data:`PIEXIF_MAX_BYTES`:
    none).  After a walk that read IFD0 whole, the IFD0 check of :func:`exif_warnings`
    cannot fail, so :func:`parse_exif` needs only this."""
    if len(strip_prefix(data)) > PIEXIF_MAX_BYTES:
        return ()
    try:
        piexif.load(strip_prefix(data))
    except Exception as exc:  # piexif raises many types on malformed data
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        return (f"EXIF not parseable ({reason}); carried over as raw bytes",)
    return ()


# --------------------------------------------------------------------------- TIFF

_IFD0_POINTERS = (TAG_EXIF_IFD, TAG_GPS_IFD)
_CHILD_POINTERS = {TAG_EXIF_IFD: (TAG_INTEROP_IFD,), TAG_GPS_IFD: (), TAG_INTEROP_IFD: ()}
_THUMB_TAGS = frozenset({TAG_THUMB_OFFSET, TAG_THUMB_LENGTH})
# element width for byte-order conversion (BYTE/ASCII/SBYTE/UNDEFINED need none)
_SWAP_WIDTH = {3: 2, 8: 2, 4: 4, 9: 4, 11: 4, 13: 4, 5: 4, 10: 4, 12: 8}


def _little(payload: bytes, typ: int, endian: str) -> bytes:
    """``payload`` (values of TIFF type ``typ`` in byte order ``endian``) as little-endian."""
    width = _SWAP_WIDTH.get(typ)
    if endian == "<" or width is None or not payload:
        return payload
    return b"".join(payload[i : i + width][::-1] for i in range(0, len(payload), width))


def _relocate(
    src: _Tiff,
    offset: int,
    app: _Appender,
    *,
    pointers: tuple[int, ...],
    skip: frozenset[int],
    warnings: list[str],
    seen: set[int],
) -> dict[int, bytes]:
    """Copy the IFD at ``offset`` of ``src`` into ``app`` (little-endian), values moved.

    Every entry keeps its tag, type, count and value bytes exactly (only byte order
    and offsets change); sub-IFDs named in ``pointers`` are copied recursively and
    re-pointed.  Returns the new 12-byte entries; entries that cannot be read are
    dropped with a warning.
    """
    if offset in seen:
        raise ExifFormatError(f"IFD loop at offset {offset}")
    seen.add(offset)
    ifd = src.ifd(offset)
    out: dict[int, bytes] = {}
    for tag, raw in ifd.entries.items():
        if tag in skip:
            continue
        typ, count = struct.unpack(src.endian + "HI", raw[2:8])
        if typ == 13 and tag not in pointers:  # an IFD offset we do not follow: would go stale
            warnings.append(f"EXIF tag {tag:#06x} points to an unknown IFD; dropped")
            continue
        if tag in pointers:
            try:
                child = _relocate(
                    src,
                    src.long_value(raw),
                    app,
                    pointers=_CHILD_POINTERS.get(tag, ()),
                    skip=frozenset(),
                    warnings=warnings,
                    seen=seen,
                )
            except (ExifFormatError, struct.error) as exc:
                warnings.append(f"EXIF sub-IFD {tag:#06x} unreadable ({exc}); dropped")
                continue
            pos = app.ifd(child, 0)
            out[tag] = _entry("<", tag, TYPE_LONG, 1, struct.pack("<I", pos))
            continue
        size = _TYPE_SIZES.get(typ)
        if size is None:
            warnings.append(f"EXIF tag {tag:#06x} has unknown type {typ}; dropped")
            continue
        n = size * count
        if n <= 4:
            payload = raw[8 : 8 + n]
        else:
            start = struct.unpack(src.endian + "I", raw[8:12])[0]
            if start + n > len(src.data):
                warnings.append(f"EXIF tag {tag:#06x} points past the end; dropped")
                continue
            payload = bytes(src.data[start : start + n])
        out[tag] = _entry("<", tag, typ, count, app.value_field(_little(payload, typ, src.endian)))
    return out


def merge_exif_into_tiff(template: bytes, exif: bytes, *, skip: frozenset[int]) -> EditedExif:
    """Add raw EXIF to a little-endian TIFF: IFD0 tags plus Exif/GPS/Interop sub-IFDs.

    The EXIF's IFD0 entries (except ``skip``, thumbnail and sub-IFD pointers) join
    the TIFF's IFD0 - the TIFF's own entries (layout, ICC, XMP, resolution) win on
    conflicts - and the Exif (with its Interop IFD) and GPS IFDs are copied after it
    and pointed to.  Values are copied byte for byte: types (UNDEFINED MakerNote and
    UserComment, unreduced RATIONALs, non-ASCII text) are kept, only byte order and
    offsets change.  Vendor MakerNotes whose internal offsets are relative to the
    original EXIF header (rather than to the MakerNote) cannot survive any relocation.
    A new IFD0 is appended and the header re-pointed (the template's is left unused).

    Returns the new TIFF and warnings.  Raises ExifFormatError (or struct.error) if
    the template or the EXIF's IFD0 cannot be parsed.
    """
    tpl = _Tiff(template)
    if tpl.endian != "<":
        raise ExifFormatError("template TIFF must be little-endian")
    tpl_ifd0 = tpl.ifd(tpl.ifd0_offset)
    src = _Tiff(strip_prefix(exif))
    warnings: list[str] = []
    app = _Appender(bytearray(template), "<")
    copied = _relocate(
        src,
        src.ifd0_offset,
        app,
        pointers=_IFD0_POINTERS,
        skip=frozenset(skip) | _THUMB_TAGS | {TAG_INTEROP_IFD},
        warnings=warnings,
        seen=set(),
    )
    entries = {**copied, **tpl_ifd0.entries}
    new_ifd0 = app.ifd(entries, tpl_ifd0.next_offset)
    app.buf[4:8] = struct.pack("<I", new_ifd0)
    return EditedExif(bytes(app.buf), tuple(warnings))


def exif_from_tiff(data: bytes, *, skip: frozenset[int]) -> EditedExif:
    """Raw little-endian EXIF blob from a TIFF file's first IFD and its sub-IFDs.

    ``data`` is the TIFF file (bytes or an mmap).  IFD0 entries in ``skip`` (the
    file's own layout tags) are left out; everything else - including Exif, GPS and
    Interop IFDs - is copied byte for byte (see :func:`merge_exif_into_tiff`).
    Raises ExifFormatError (e.g. BigTIFF) or struct.error if IFD0 is unreadable.
    """
    src = _Tiff(data)
    warnings: list[str] = []
    app = _Appender(bytearray(b"II*\x00\x00\x00\x00\x00"), "<")
    entries = _relocate(
        src,
        src.ifd0_offset,
        app,
        pointers=_IFD0_POINTERS,
        skip=frozenset(skip) | {TAG_INTEROP_IFD},
        warnings=warnings,
        seen=set(),
    )
    if not entries:
        return EditedExif(b"", tuple(warnings))
    ifd0 = app.ifd(entries, 0)
    app.buf[4:8] = struct.pack("<I", ifd0)
    return EditedExif(bytes(app.buf), tuple(warnings))

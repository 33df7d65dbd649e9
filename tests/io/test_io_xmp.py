"""Metadata honesty (issue 21, item 2): the camera's EXIF ``Software`` is kept byte for
byte, and the processing is recorded in XMP (an ``xmpMM:History`` event), merged into the
photo's own packet without changing a byte of it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import piexif
import pytest
from _iohelpers import smooth_rgb
from PIL import Image

from photoenhance.io import read_image, write_image
from photoenhance.io.xmp import EVT_NS, MM_NS, RDF_NS, record_processing

SOFTWARE = b"Nikon Transfer 1.1 W\x00"  # as a camera tool writes it, NUL included
PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF_NS + '">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Camera 6.1.6">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Café</rdf:li></rdf:Alt></dc:title>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>\n" + " " * 64 + '<?xpacket end="w"?>'
).encode()


def _events(packet: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(packet.decode().rstrip())
    seqs = root.findall(f".//{{{MM_NS}}}History/{{{RDF_NS}}}Seq")
    assert len(seqs) == 1
    return [
        {child.tag.split("}")[1]: child.text or "" for child in li}
        for li in seqs[0].findall(f"{{{RDF_NS}}}li")
    ]


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "webp"])
def test_software_kept_and_processing_recorded(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "cam.jpg"
    exif = {"0th": {piexif.ImageIFD.Software: SOFTWARE, piexif.ImageIFD.Make: b"NIKON"}}
    Image.fromarray(smooth_rgb(16, 24)).save(src, exif=piexif.dump(exif), xmp=PACKET)
    img = read_image(src)
    out = tmp_path / f"o.{fmt}"
    written = write_image(out, img, img.rgb, format=fmt, software="photoenhance 9.9")
    assert written.warnings == ()
    back = read_image(out)
    raw = out.read_bytes() if fmt == "tiff" else back.metadata.exif
    assert piexif.load(raw)["0th"][piexif.ImageIFD.Software] == SOFTWARE
    xmp = back.metadata.xmp or b""
    assert _events(xmp) == [
        {"action": "edited", "softwareAgent": "photoenhance 9.9", "changed": "/"}
    ]
    # the photo's own packet is all there, byte for byte, around the inserted event
    head, tail = PACKET.split(b"</rdf:RDF>")
    assert xmp.startswith(head) and xmp.endswith(b"</rdf:RDF>" + tail)
    assert b'xmp:CreatorTool="Camera 6.1.6"' in xmp
    # the same photo, enhanced again: the same bytes (no date in the event)
    again = tmp_path / f"again.{fmt}"
    write_image(again, img, img.rgb, format=fmt, software="photoenhance 9.9")
    assert again.read_bytes() == out.read_bytes()


def test_history_is_appended_and_a_photo_without_xmp_gets_one() -> None:
    once = record_processing(PACKET, "pe 1").data
    twice = record_processing(once, "pe 2")
    assert twice.note is None
    assert [e["softwareAgent"] for e in _events(twice.data)] == ["pe 1", "pe 2"]
    fresh = record_processing(None, "pe <1>")
    assert fresh.note is None
    assert _events(fresh.data) == [{"action": "edited", "softwareAgent": "pe <1>", "changed": "/"}]
    # another prefix for the event namespace is reused, not redeclared
    other = PACKET.replace(b"xmlns:dc=", f'xmlns:ev="{EVT_NS}" xmlns:dc='.encode())
    assert b"<ev:action>edited</ev:action>" in record_processing(other, "pe").data


@pytest.mark.parametrize(
    "packet",
    [
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>',  # rdf unbound
        b"\xff\xfe<\x00x\x00",  # not UTF-8
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    ],
)
def test_a_packet_that_cannot_be_edited_is_carried_unchanged_with_a_note(packet: bytes) -> None:
    edit = record_processing(packet, "pe")
    assert edit.data == packet
    assert edit.note and "carried over unchanged" in edit.note

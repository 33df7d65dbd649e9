"""Record the processing in a photo's XMP, the way editors do: one ``xmpMM:History`` event
(``stEvt:action`` ``edited``, ``stEvt:softwareAgent`` the program, ``stEvt:changed`` ``/``)
appended to the packet's history, or a new history in a packet of our own when the photo
has no XMP.  EXIF ``Software`` (the camera's firmware) is left alone.

The existing packet is edited as text, never re-serialised: every byte of it stays as it
was and the event is inserted before the history's closing ``</rdf:Seq>`` (or, when the
packet has no history, as a new ``rdf:Description`` before ``</rdf:RDF>``).  The result
must parse as XML.  A packet that cannot be edited that way (not UTF-8, not well-formed,
with a DTD, no ``rdf:RDF``, several histories...) is carried over unchanged and the
processing is not recorded, with a note.  No date is written (``stEvt:when``): the same
photo enhanced twice gives the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
MM_NS = "http://ns.adobe.com/xap/1.0/mm/"
EVT_NS = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"


@dataclass(frozen=True)
class XmpEdit:
    """The packet to write and, when the processing could not be recorded, why."""

    data: bytes
    note: str | None = None


def _prefix(text: str, namespace: str) -> str | None:
    m = re.search(r"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(namespace) + r"[\"']", text)
    return m.group(1) if m else None


def _well_formed(text: str) -> bool:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # XMP has no DTD; never expand entities
        return False
    try:
        ET.fromstring(text.rstrip("\x00 \t\r\n"))
    except ET.ParseError:
        return False
    return True


def _event(rdf: str, evt: str | None, agent: str) -> str:
    p = evt or "stEvt"
    declare = f' xmlns:{p}="{EVT_NS}"'  # always: the packet's own may be out of scope here
    agent = agent.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<{rdf}:li {rdf}:parseType="Resource"{declare}>'
        f"<{p}:action>edited</{p}:action><{p}:softwareAgent>{agent}</{p}:softwareAgent>"
        f"<{p}:changed>/</{p}:changed></{rdf}:li>"
    )


def fresh_packet(agent: str) -> bytes:
    """A packet holding only the history event (for a photo without XMP)."""
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF_NS}">'
        f'<rdf:Description rdf:about="" xmlns:xmpMM="{MM_NS}">'
        f"<xmpMM:History><rdf:Seq>{_event('rdf', None, agent)}</rdf:Seq></xmpMM:History>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def record_processing(packet: bytes | None, agent: str) -> XmpEdit:
    """``packet`` (raw XMP, or None) with one history event for ``agent`` added."""
    if not packet:
        return XmpEdit(fresh_packet(agent))
    unchanged = (
        "XMP packet not editable ({}); carried over unchanged, the processing is not recorded in it"
    )
    try:
        text = packet.decode("utf-8")
    except UnicodeDecodeError:
        return XmpEdit(packet, unchanged.format("not UTF-8"))
    if not _well_formed(text):
        return XmpEdit(packet, unchanged.format("not well-formed XML"))
    rdf = _prefix(text, RDF_NS)
    if rdf is None:
        return XmpEdit(packet, unchanged.format("no rdf:RDF"))
    mm = _prefix(text, MM_NS)
    evt = _prefix(text, EVT_NS)
    histories = len(re.findall(rf"<{re.escape(mm)}:History[\s>/]", text)) if mm else 0
    if histories > 1:
        return XmpEdit(packet, unchanged.format("several xmpMM:History"))
    if histories == 1:
        m = re.search(rf"<{mm}:History\b[^>]*>(.*?)</{mm}:History\s*>", text, re.S)
        end = -1 if m is None else m.group(1).rfind(f"</{rdf}:Seq>")
        if m is None or end < 0:
            return XmpEdit(packet, unchanged.format("an xmpMM:History that is not a list"))
        at = m.start(1) + end
        new = text[:at] + _event(rdf, evt, agent) + text[at:]
    else:
        at = text.rfind(f"</{rdf}:RDF>")
        if at < 0:
            return XmpEdit(packet, unchanged.format("no rdf:RDF element"))
        description = (
            f'<{rdf}:Description {rdf}:about="" xmlns:xmpMM="{MM_NS}">'
            f"<xmpMM:History><{rdf}:Seq>{_event(rdf, evt, agent)}</{rdf}:Seq></xmpMM:History>"
            f"</{rdf}:Description>"
        )
        new = text[:at] + description + text[at:]
    if not _well_formed(new):  # pragma: no cover - insertion into well-formed XML
        return XmpEdit(packet, unchanged.format("the edit would not be well-formed"))
    return XmpEdit(new.encode("utf-8"))

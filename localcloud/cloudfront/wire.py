"""CloudFront's wire format for invalidations: request parsing and XML answers.

Shapes follow botocore's CloudFront service model (API version 2020-05-31):
``InvalidationBatch`` in, ``Invalidation`` / ``InvalidationList`` / ``ErrorResponse`` out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from localcloud.cloudfront.errors import CloudFrontError
from localcloud.cloudfront.model import Batch, InvalidationRecord

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "XMLNS",
    "error_xml",
    "invalidation_list_xml",
    "invalidation_xml",
    "parse_batch",
    "parse_list_query",
]

XMLNS: Final = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
DEFAULT_MAX_ITEMS: Final = 100


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local_name(child.tag) == name:
            return child
    return None


def parse_batch(body: bytes) -> Batch:
    """Parse an InvalidationBatch body; structural errors answer as CloudFront does.

    The items themselves are checked by :func:`localcloud.cloudfront.model.check_items`,
    which needs to know the distribution.
    """
    if not body.strip():
        raise CloudFrontError("MissingBody")
    try:
        # The body comes from a local client of a test server; expat in Python >= 3.11
        # refuses entity-expansion bombs anyway.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise CloudFrontError(
            "InvalidArgument", f"The request body is not valid XML: {exc}"
        ) from exc
    if _local_name(root.tag) != "InvalidationBatch":
        raise CloudFrontError("InvalidArgument", "The request body must be an InvalidationBatch.")
    ref_el = _child(root, "CallerReference")
    reference = (ref_el.text or "").strip() if ref_el is not None else ""
    if not reference:
        raise CloudFrontError("InvalidArgument", "The CallerReference is required.")
    paths_el = _child(root, "Paths")
    if paths_el is None:
        raise CloudFrontError("InvalidArgument", "The invalidation batch has no Paths.")
    quantity_el = _child(paths_el, "Quantity")
    try:
        quantity = int((quantity_el.text or "") if quantity_el is not None else "")
    except ValueError as exc:
        raise CloudFrontError("InvalidArgument", "Paths.Quantity must be an integer.") from exc
    items_el = _child(paths_el, "Items")
    paths = tuple(
        (el.text or "")
        for el in (items_el if items_el is not None else [])
        if _local_name(el.tag) == "Path"
    )
    if quantity != len(paths):
        raise CloudFrontError(
            "InconsistentQuantities",
            f"The value of Quantity ({quantity}) and the size of Items ({len(paths)}) don't match.",
        )
    return Batch(reference, paths)


def parse_list_query(marker: str | None, max_items: str | None) -> tuple[str | None, int]:
    """ListInvalidations' ``Marker`` and ``MaxItems`` query parameters, checked.

    An empty ``Marker`` is refused: stock moto 5.2.5 answers it 400 and AWS documents
    Marker only as the NextMarker of an earlier page, so the first page carries none
    (botocore's paginator sends none).
    """
    if marker is not None and not marker:
        raise CloudFrontError(
            "InvalidArgument", "Marker must not be empty; omit it to get the first page."
        )
    if max_items is None:
        return marker, DEFAULT_MAX_ITEMS
    try:
        count = int(max_items)
    except ValueError as exc:
        raise CloudFrontError("InvalidArgument", "MaxItems must be an integer.") from exc
    # AWS documents no range; a page of 0 items could never say where the next begins
    # (NextMarker is the last item's Id), so the stricter reading refuses it.
    if count < 1:
        raise CloudFrontError("InvalidArgument", "MaxItems must be at least 1.")
    return marker, count


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _xml(root: ET.Element) -> bytes:
    return ('<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")).encode("utf-8")


def invalidation_xml(record: InvalidationRecord, now: float) -> bytes:
    """The ``Invalidation`` answer of Create and Get (either flavour)."""
    root = ET.Element("Invalidation", {"xmlns": XMLNS})
    _sub(root, "Id", record.id)
    _sub(root, "Status", record.status(now))
    _sub(root, "CreateTime", _timestamp(record.create_time))
    batch = _sub(root, "InvalidationBatch")
    paths = _sub(batch, "Paths")
    _sub(paths, "Quantity", str(len(record.paths)))
    items = _sub(paths, "Items")
    for path in record.paths:
        _sub(items, "Path", path)
    _sub(batch, "CallerReference", record.caller_reference)
    return _xml(root)


def invalidation_list_xml(
    page: Sequence[InvalidationRecord],
    *,
    marker: str | None,
    next_marker: str | None,
    max_items: int,
    now: float,
) -> bytes:
    """The ``InvalidationList`` answer: summaries carry Id, CreateTime and Status only."""
    root = ET.Element("InvalidationList", {"xmlns": XMLNS})
    _sub(root, "Marker", marker or "")
    if next_marker is not None:
        _sub(root, "NextMarker", next_marker)
    _sub(root, "MaxItems", str(max_items))
    _sub(root, "IsTruncated", "true" if next_marker is not None else "false")
    _sub(root, "Quantity", str(len(page)))
    if page:
        items = _sub(root, "Items")
        for record in page:
            summary = _sub(items, "InvalidationSummary")
            _sub(summary, "Id", record.id)
            _sub(summary, "CreateTime", _timestamp(record.create_time))
            _sub(summary, "Status", record.status(now))
    return _xml(root)


def error_xml(error: CloudFrontError, request_id: str) -> bytes:
    """CloudFront's ``ErrorResponse``: Sender for 4xx, Receiver for 5xx."""
    root = ET.Element("ErrorResponse", {"xmlns": XMLNS})
    err = _sub(root, "Error")
    _sub(err, "Type", "Receiver" if error.status >= 500 else "Sender")
    _sub(err, "Code", error.code)
    _sub(err, "Message", error.message)
    _sub(root, "RequestId", request_id)
    return _xml(root)

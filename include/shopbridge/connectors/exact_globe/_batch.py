"""OData v2 ``$batch`` bodies (multipart/mixed), built and parsed. Pure: no I/O, no clock.

Both directions live here so the client (builds requests, parses responses) and the sandbox
(parses requests, builds responses) share one reading of the format and can be round-trip
tested. The layout is the OData v2 one (odata.org "Batch Processing", WCF Data Services):

* the batch is ``multipart/mixed; boundary=batch_…``; each part is either a changeset
  (``multipart/mixed; boundary=changeset_…``) or a single retrieve operation;
* every operation is a part with ``Content-Type: application/http`` and
  ``Content-Transfer-Encoding: binary`` whose body is a whole HTTP message: request line
  (``POST SalesOrderLine HTTP/1.1``, a URL relative to the service root), headers, a blank
  line, the JSON body;
* the response has one part per request part. A changeset that succeeded answers with a
  ``multipart/mixed`` of one ``HTTP/1.1 201 Created`` (or ``204``) per operation, in
  request order; a changeset that failed answers with ONE ``application/http`` part: the
  failing operation's status and OData error body, nothing of the changeset applied.

Decisions:

* ``Content-ID`` (1-based, unique in the batch) goes in each operation's *inner* request
  headers, where the WCF Data Services client writes it; the parser also accepts it in the
  MIME part headers (where the OData v3 spec's examples put it). It lets a failed
  changeset's error part name the operation that failed.
* Lines end in CRLF when built (RFC 2046); the parser accepts CRLF or bare LF. The CRLF
  before a delimiter belongs to the delimiter, so bodies come back byte-exact.
* JSON is written ASCII-only, so ``Content-Length`` in characters equals bytes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_STATUS_LINE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$")
_REQUEST_LINE = re.compile(r"^([A-Za-z]+)\s+(\S+)(?:\s+HTTP/\d(?:\.\d)?)?$")


class BatchFormatError(ValueError):
    """A multipart body that is not an OData batch (missing boundary, unclosed part, ...)."""


@dataclass(frozen=True)
class Operation:
    """One change inside a changeset: ``method`` on ``entity`` (a set, or ``Set(guid'…')``)."""

    method: str
    entity: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ChangesetResult:
    """What one changeset came to.

    ``ok``: every operation applied; ``bodies`` are then the ``d`` objects Globe answered,
    one per operation in request order (``{}`` for a bodiless ``204``). When not ``ok``
    nothing of the changeset was applied, ``bodies`` is empty and ``error`` is the OData
    error text (``"... -> 400 ValidationError: Customer 60093 not found"``); ``status`` is
    the failing operation's status.
    """

    ok: bool
    status: int
    bodies: list[dict[str, Any]]
    error: str | None = None


@dataclass(frozen=True)
class HttpMessage:
    """An HTTP request or response carried in an ``application/http`` part.

    ``start`` is the request line (``POST SalesOrderLine HTTP/1.1``) or the status line
    (``HTTP/1.1 201 Created``); ``headers`` keys are lower-cased; ``content_id`` is taken
    from the inner headers or, failing that, from the MIME part's.
    """

    start: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    content_id: str | None = None

    @property
    def status(self) -> int:
        """The status code of a response message."""
        m = _STATUS_LINE.match(self.start)
        if m is None:
            raise BatchFormatError(f"not an HTTP status line: {self.start[:80]!r}")
        return int(m[1])

    @property
    def method_and_target(self) -> tuple[str, str]:
        """``("POST", "SalesOrderLine")`` of a request message."""
        m = _REQUEST_LINE.match(self.start)
        if m is None:
            raise BatchFormatError(f"not an HTTP request line: {self.start[:80]!r}")
        return m[1].upper(), m[2]

    def json(self) -> Any:
        """The body as JSON (``None`` when empty); ``ValueError`` when it is not JSON."""
        return json.loads(self.body) if self.body.strip() else None


#: A changeset (list of operations) or a lone retrieve operation, in a parsed batch.
BatchItem = list[HttpMessage] | HttpMessage


def new_boundary(prefix: str) -> str:
    """``batch_<uuid4>`` / ``changeset_<uuid4>``: cannot occur inside ASCII JSON bodies."""
    return f"{prefix}_{uuid.uuid4()}"


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a ``multipart/mixed`` Content-Type."""
    if not content_type.lower().lstrip().startswith("multipart/mixed"):
        raise BatchFormatError(f"expected multipart/mixed, got {content_type[:80]!r}")
    m = _BOUNDARY.search(content_type)
    if m is None:
        raise BatchFormatError(f"multipart/mixed without a boundary: {content_type[:80]!r}")
    return m[1] or m[2]


def _dump(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True, default=str)


def _head(headers: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{k}: {v}{CRLF}" for k, v in headers)


def _multipart(boundary: str, parts: Sequence[str]) -> str:
    return "".join(f"--{boundary}{CRLF}{p}{CRLF}" for p in parts) + f"--{boundary}--{CRLF}"


def _http_part(message: str) -> str:
    return (
        _head([("Content-Type", "application/http"), ("Content-Transfer-Encoding", "binary")])
        + CRLF
        + message
    )


def _changeset_part(boundary: str, parts: Sequence[str]) -> str:
    return (
        _head([("Content-Type", f"multipart/mixed; boundary={boundary}")])
        + CRLF
        + _multipart(boundary, parts)
    )


def build_request(
    changesets: Sequence[Sequence[Operation]],
    *,
    headers: Mapping[str, str] | None = None,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """``(Content-Type, body)`` of a ``$batch`` POST: one changeset per entry, in order.

    ``headers`` are added to every operation (the client passes ``ServerName``,
    ``DatabaseName`` and ``Accept``: [U] whether Globe's adapter reads them from the outer
    request or from each operation is not documented, so they go in both).
    """
    boundary = boundary or new_boundary("batch")
    extra = list((headers or {}).items())
    parts, content_id = [], 0
    for ops in changesets:
        if not ops:
            raise ValueError("an OData changeset needs at least one operation")
        cs = new_boundary("changeset")
        inner = []
        for op in ops:
            content_id += 1
            payload = _dump(op.body)
            message = (
                f"{op.method.upper()} {op.entity} HTTP/1.1{CRLF}"
                + _head(
                    [
                        *extra,
                        ("Content-Type", "application/json"),
                        ("Content-ID", str(content_id)),
                        ("Content-Length", str(len(payload))),
                    ]
                )
                + CRLF
                + payload
            )
            inner.append(_http_part(message))
        parts.append(_changeset_part(cs, inner))
    return f"multipart/mixed; boundary={boundary}", _multipart(boundary, parts).encode("ascii")


def _response_message(status: int, body: Any, content_id: str | None) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    head: list[tuple[str, str]] = []
    payload = ""
    if body is not None:
        payload = _dump(body)
        head.append(("Content-Type", "application/json"))
    if content_id is not None:
        head.append(("Content-ID", content_id))
    head.append(("Content-Length", str(len(payload))))
    return f"HTTP/1.1 {status} {phrase}".rstrip() + CRLF + _head(head) + CRLF + payload


@dataclass(frozen=True)
class OperationResponse:
    """What the server answers for one operation (the sandbox's side of the format)."""

    status: int
    body: Any = None
    content_id: str | None = None


def build_response(
    items: Sequence[Sequence[OperationResponse] | OperationResponse],
    *,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """``(Content-Type, body)`` of a batch response: one part per request part.

    A sequence is a changeset that succeeded (a nested multipart); a lone
    :class:`OperationResponse` is a failed changeset's error (or a retrieve's answer).
    """
    boundary = boundary or new_boundary("batchresponse")
    parts = []
    for item in items:
        if isinstance(item, OperationResponse):
            parts.append(_http_part(_response_message(item.status, item.body, item.content_id)))
        else:
            parts.append(
                _changeset_part(
                    new_boundary("changesetresponse"),
                    [_http_part(_response_message(r.status, r.body, r.content_id)) for r in item],
                )
            )
    return f"multipart/mixed; boundary={boundary}", _multipart(boundary, parts).encode("ascii")


# -- parsing ---------------------------------------------------------------------------------


def _split_head(text: str) -> tuple[list[str], str]:
    """Header lines up to the first blank line, and the rest (the body)."""
    head, _, body = text.partition("\n\n")
    return [ln for ln in head.split("\n") if ln.strip()], body


def _headers(lines: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in lines:
        name, sep, value = ln.partition(":")
        if not sep:
            raise BatchFormatError(f"malformed header line {ln[:80]!r}")
        out[name.strip().lower()] = value.strip()
    return out


def _parts(text: str, boundary: str) -> Iterator[tuple[dict[str, str], str]]:
    """``(MIME headers, body)`` of each part between ``--boundary`` delimiters."""
    delimiter, close = f"--{boundary}", f"--{boundary}--"
    current: list[str] | None = None
    for line in text.split("\n"):
        bare = line.rstrip()  # transport padding after a delimiter is allowed
        if bare in (delimiter, close):
            if current is not None:
                head, body = _split_head("\n".join(current))
                yield _headers(head), body
            if bare == close:
                return
            current = []
        elif current is not None:
            current.append(line)
    raise BatchFormatError(f"multipart body not closed by --{boundary}--")


def _message(mime: Mapping[str, str], body: str) -> HttpMessage:
    if not mime.get("content-type", "").lower().startswith("application/http"):
        raise BatchFormatError(f"expected an application/http part, got {dict(mime)!r}")
    start, _, rest = body.lstrip("\n").partition("\n")
    head, payload = _split_head(rest) if rest.strip() else ([], "")
    headers = _headers(head)
    return HttpMessage(
        start=start.strip(),
        headers=headers,
        body=payload,
        content_id=headers.get("content-id") or mime.get("content-id"),
    )


def parse(content_type: str, body: bytes | str) -> list[BatchItem]:
    """A batch request or response -> one item per part (a changeset is a list)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.replace("\r\n", "\n")
    items: list[BatchItem] = []
    for mime, part in _parts(text, boundary_of(content_type)):
        ctype = mime.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            items.append([_message(m, b) for m, b in _parts(part, boundary_of(ctype))])
        else:
            items.append(_message(mime, part))
    return items


def odata_error(load_json: Callable[[], Any]) -> str | None:
    """``"<code>: <message>"`` of an OData error body, or None when it is not one."""
    try:
        err = load_json()["error"]
        code, text = err.get("code", ""), err.get("message", "")
        if isinstance(text, dict):  # OData v2 also allows {"lang":..,"value":..}
            text = text.get("value", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return f"{code}: {text}"


def error_text(message: HttpMessage) -> str:
    """``"<status> <code>: <message>"`` from an OData error body, else a bounded raw excerpt."""
    error = odata_error(message.json)
    if error is None:
        return f"{message.status} {message.body.strip()[:500]}".strip()
    return f"{message.status} {error}"


def _d(message: HttpMessage) -> dict[str, Any]:
    try:
        payload = message.json()
    except ValueError:
        raise BatchFormatError(
            f"operation answered {message.status} with a non-JSON body: {message.body[:200]!r}"
        ) from None
    if payload is None:
        return {}
    d = payload.get("d") if isinstance(payload, dict) else None
    if not isinstance(d, dict):
        raise BatchFormatError(f"operation answered {message.status} without a 'd' object")
    return d


def results(
    changesets: Sequence[Sequence[Operation]], items: Sequence[BatchItem]
) -> list[ChangesetResult]:
    """Pair a parsed response with the changesets sent: one :class:`ChangesetResult` each.

    Content-IDs are numbered across the batch as :func:`build_request` numbers them, so a
    failure names its operation (``op 3 POST SalesOrderHeader``) when the server echoes it.
    """
    if len(items) != len(changesets):
        raise BatchFormatError(f"{len(changesets)} changesets sent, {len(items)} parts answered")
    ops_by_id: dict[str, Operation] = {}
    first = 1
    for ops in changesets:
        ops_by_id.update({str(first + i): op for i, op in enumerate(ops)})
        first += len(ops)
    out = []
    for n, (ops, item) in enumerate(zip(changesets, items, strict=True), start=1):
        answers = [item] if isinstance(item, HttpMessage) else item
        failed = next((a for a in answers if a.status >= 400), None)
        if failed is not None:
            op = ops_by_id.get(failed.content_id or "")
            where = f"changeset {n}" + (
                f" op {failed.content_id} {op.method} {op.entity}" if op is not None else ""
            )
            out.append(
                ChangesetResult(
                    ok=False,
                    status=failed.status,
                    bodies=[],
                    error=f"{where} -> {error_text(failed)}",
                )
            )
            continue
        if len(answers) != len(ops):
            raise BatchFormatError(
                f"changeset {n}: {len(ops)} operations sent, {len(answers)} answered"
            )
        out.append(
            ChangesetResult(
                ok=True, status=max(a.status for a in answers), bodies=[_d(a) for a in answers]
            )
        )
    return out

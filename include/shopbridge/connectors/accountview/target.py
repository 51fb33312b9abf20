"""AccountView as an :class:`~shopbridge.connectors.base.OrderTarget`: debtors, sales orders
and sales invoices in one AccountView.net company.

Debtors (``AR1``, table ``CONTACT``) are matched by ``MAIL_BUS`` in batched list
filters, with the managed fields read in the same query so an unchanged customer costs
no update (:func:`~.translate.fingerprint`). The debtor terms go to CONTACT fields named
by :class:`~.options.TargetOptions` (classification -> ``RPL_GRP``, tax code ->
``VAT_CODE``, revenue account -> ``LNK_ACCT``, all ASSUMPTION [U] but ``VAT_CODE``);
``ACCT_NR`` is the control account, set on create only.

Who numbers a new debtor (``SUB_NR``)? ASSUMPTION [U], decided: **the client**, by
default. Both public clients send ``SUB_NR`` in their AR1 writes [S], nothing shows
AccountView numbering a row sent without one, and a number we chose makes the POST an
upsert by a key of ours, so it is safe to retry after a lost answer. The next number is
the highest ``SUB_NR`` in ``debtor_number_start..end`` plus one (all numbers are read once
per target instance), checked free just before the POST and read back after it: when a
parallel worker took the same number (the last POST wins), the loser sees someone else's
e-mail on it and takes the next number (at most 3 tries). OPEN RISK (known, kept): the
number is picked client-side; a person creating debtors by hand in the same range at the
same moment can still collide, and the public PHP integration creates debtors without
``SUB_NR``, so AccountView may number them itself (``debtor_numbering="server"``).
The read-back compares all managed fields (:meth:`_holds`), so a collision is seen, also
for customers without an e-mail. ``debtor_numbering="server"``
sends no ``SUB_NR`` and reads the number AccountView assigned from its answer (or by
e-mail).

ASSUMPTION [U]: a POST whose key (``SUB_NR``) exists updates that row (upsert). Updates
therefore first check that the debtor exists (else a ``RecordError``), so an update can
never create one.

Orders, by the flow's ``orders.order_type``:

* ``sales_order`` -> business object ``SO1``: ``SO_HDR`` (``RPL_INV``/``RPL_DEL`` = the
  debtor, ``ORD_DATE``, our reference in ``order_reference_field`` = ``COMMENT1``,
  ``TO_EMAIL``, ``DEL_*``) with ``SO_LINE`` rows (``ART_CODE``, ``ORD_QTY``, ``ART_PX``,
  ``DISC_AMT``) linked by ``HeaderId``. AccountView assigns ``ORD_NR``, the id returned.
* ``sales_invoice`` and ``direct_invoice`` -> a page of the sales journal, business object
  ``DJ2`` (``DJ_PAGE`` + ``DJ_LINE``) [S: go-accountview.net's ``dj_page_type.go``],
  decided because invoices and open items as objects are [U] while the daybook is how
  integrations book sales in AccountView, and it needs no order module. The page carries
  the debtor (``SUB_NR``), the invoice number = our reference (``INV_NR``) and the date;
  each order line is a revenue line (``ACCT_NR`` = the mapped line's ``ACCT_NR`` or
  ``revenue_account``, ``AMOUNT`` excl. VAT, ``VAT_CODE`` from ``vat_codes``). Both kinds
  book the same way: a daybook page moves no stock, so use ``sales_order`` when
  AccountView's order module should deliver. The id returned is ``PAGE_NR`` [U] (else the
  invoice number). From the mapping only ``DJ_PAGE``/``DJ_LINE`` fields are taken (the
  default mapping's SO fields do not exist there).
* ``journal_entry`` is not supported (``ConfigError``).

Payloads start from the canonical order (:func:`~.translate.order_header`,
:func:`~.translate.order_lines`) and the mapped header/lines override or add fields; the
debtor and our reference are always ours. Several orders go in one POST
(``write_batch_size``); a POST is never retried (a lost answer is looked up by reference
by the flow). When AccountView refuses a POST of several orders, the ones that landed are
looked up and the rest are sent one by one, so each refusal is tied to its own order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors._kit.writes import check_order_type, no_such_debtor
from shopbridge.connectors.accountview._rows import (
    FIELD_TYPES,
    HEADER_ID,
    ROW_ID,
    Table,
    build_table,
)
from shopbridge.connectors.accountview.client import AccountViewClient, Filter, rows_of
from shopbridge.connectors.accountview.options import TargetOptions
from shopbridge.connectors.accountview.translate import (
    MANAGED,
    SYSTEM,
    contact_from_customer,
    fingerprint,
    invoice_lines,
    invoice_page,
    order_header,
    order_lines,
    search_code,
    terms_fields,
)
from shopbridge.connectors.base import DebtorMatch, DebtorTerms, OrderWrite
from shopbridge.errors import AuthError, FatalError
from shopbridge.models import Customer

log = logging.getLogger(__name__)

#: tries to claim a debtor number that a parallel worker may take at the same moment
NUMBER_TRIES = 3


@dataclass(frozen=True)
class _Document:
    kind: str
    business_object: str
    header: str
    line: str
    #: the field AccountView assigns: the document's id
    number: str


_SALES_ORDER = _Document("sales_order", "SO1", "SO_HDR", "SO_LINE", "ORD_NR")
_INVOICE = _Document("sales_invoice", "DJ2", "DJ_PAGE", "DJ_LINE", "PAGE_NR")
_DOCUMENTS = {"sales_order": _SALES_ORDER, "sales_invoice": _INVOICE, "direct_invoice": _INVOICE}


def _document(kind: str) -> _Document:
    check_order_type("AccountView", kind, _DOCUMENTS)
    return _DOCUMENTS[kind]


def _number(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class AccountViewTarget(ClientEndpoint[AccountViewClient]):
    """Writes canonical customers and orders into one AccountView.net company. Built as
    ``AccountViewTarget(client, TargetOptions(...))``."""

    system = SYSTEM

    def __init__(self, client: AccountViewClient, options: TargetOptions | None = None) -> None:
        super().__init__(client)
        self.options = options or TargetOptions()
        #: debtor numbers known to be taken (read once, on the first client-side create)
        self._taken: set[int] | None = None

    # --- lookups ---------------------------------------------------------------------

    def _reference_field(self, doc: _Document) -> str:
        return (
            self.options.order_reference_field
            if doc is _SALES_ORDER
            else self.options.invoice_reference_field
        )

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Our reference -> the id of the documents of ``kind`` already in AccountView."""
        doc = _document(kind)
        field = self._reference_field(doc)
        wanted = set(references)
        extra = (
            [Filter("DJ_CODE", "Equal", self.options.invoice_journal)] if doc is _INVOICE else []
        )
        found: dict[str, str] = {}
        for row in self.client.lookup(
            doc.business_object, doc.header, field, references, fields=[doc.number], filters=extra
        ):
            ref = str(row.get(field) or "")
            if ref in wanted:
                found.setdefault(ref, str(row.get(doc.number) or ref))
        return found

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Lower-cased e-mail -> debtor (``SUB_NR``) with the fingerprint of its managed
        fields. When two debtors share an e-mail the lowest number wins.

        ASSUMPTION [U]: AccountView compares ``MAIL_BUS`` case-insensitively; e-mails are
        asked lower-cased (as the canonical customer holds them), so on a case-sensitive
        AccountView a debtor typed as ``Anna@…`` would not be found.
        """
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        rows = list(
            self.client.lookup(
                "AR1", "CONTACT", "MAIL_BUS", sorted(wanted), fields=["SUB_NR", *MANAGED]
            )
        )
        rows.sort(
            key=lambda r: (
                _number(r.get("SUB_NR")) is None,
                _number(r.get("SUB_NR")) or 0,
                str(r.get("SUB_NR")),
            )
        )
        found: dict[str, DebtorMatch] = {}
        for row in rows:
            email = str(row.get("MAIL_BUS") or "").lower()
            if email in wanted and row.get("SUB_NR"):
                found.setdefault(email, DebtorMatch(str(row["SUB_NR"]), fingerprint(row)))
        return found

    def find_debtors(self, emails: Sequence[str]) -> dict[str, str]:
        """Lower-cased e-mail -> ``SUB_NR`` (see :meth:`match_debtors`)."""
        return {email: m.code for email, m in self.match_debtors(emails).items()}

    def debtor_fingerprint(self, customer: Customer) -> str:
        """What :meth:`match_debtors` reports once ``customer`` is written."""
        return fingerprint(contact_from_customer(customer))

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The subset of ``skus`` that are articles (``AK1``, ``ART_CODE``)."""
        wanted = set(skus)
        return {
            str(row.get("ART_CODE"))
            for row in self.client.lookup("AK1", "ARTICLE", "ART_CODE", skus)
        } & wanted

    # --- debtors ---------------------------------------------------------------------

    def _write_contact(self, row: Mapping[str, Any], *, retry: bool) -> Any:
        table = build_table("CONTACT", [{ROW_ID: "1", **row}], overrides=self.options.field_types)
        return self.client.write("AR1", table, retry=retry)

    def _exists(self, code: str) -> bool:
        return any(True for _ in self.client.lookup("AR1", "CONTACT", "SUB_NR", [code]))

    def _holds(self, code: str, body: Mapping[str, Any]) -> bool:
        """Does debtor ``code`` hold what we wrote? Its managed fields are read back and
        compared by fingerprint: the confirmation of a create (AccountView's answer to a
        POST is undocumented [U]), and how a number taken by a parallel writer shows,
        customers without an e-mail included (their ``MAIL_BUS`` alone is ``""`` for all)."""
        rows = list(self.client.lookup("AR1", "CONTACT", "SUB_NR", [code], fields=list(MANAGED)))
        return bool(rows) and fingerprint(rows[0]) == fingerprint(body)

    def _next_number(self) -> str:
        """The next free debtor number in the range, checked free right now."""
        lo, hi = self.options.debtor_number_start, self.options.debtor_number_end
        if self._taken is None:
            self._taken = {
                n
                for row in self.client.read(
                    "AR1", "CONTACT", fields=["SUB_NR"], sort_fields=["SUB_NR"]
                )
                if (n := _number(row.get("SUB_NR"))) is not None
            }
        candidate = max((n for n in self._taken if lo <= n <= hi), default=lo - 1) + 1
        while True:
            if candidate > hi:
                raise FatalError(
                    f"no free debtor number left in {lo}..{hi} (widen the "
                    "connection's extra.debtor_number_start/_end)"
                )
            if candidate not in self._taken and not self._exists(str(candidate)):
                self._taken.add(candidate)
                return str(candidate)
            self._taken.add(candidate)
            candidate += 1

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """Create the debtor (company or person alike: one CONTACT row); return its number.

        See the module docstring for how the number is chosen and claimed.
        """
        body = {
            **contact_from_customer(customer),
            "SRC_CODE": search_code(customer),
            "ACCT_NR": self.options.control_account,
            **terms_fields(terms, self.options),
        }
        if self.options.debtor_numbering == "server":
            return self._create_numbered_by_server(customer, body)
        for _ in range(NUMBER_TRIES):
            code = self._next_number()
            self._write_contact({"SUB_NR": code, **body}, retry=True)
            if self._holds(code, body):
                return code
            log.warning("debtor number %s was taken by a parallel write; trying the next one", code)
        raise FatalError(
            f"could not claim a free debtor number for {customer.label} after "
            f"{NUMBER_TRIES} tries (parallel writers?)"
        )

    def _create_numbered_by_server(self, customer: Customer, body: Mapping[str, Any]) -> str:
        """POST without ``SUB_NR``; the number is the one AccountView echoes (when it
        echoes rows [U]), confirmed by reading the debtor back, else the highest-numbered
        debtor holding what we wrote, found by e-mail (or, without one, by ``SRC_CODE``)."""
        answer = self._write_contact(body, retry=False)
        try:
            rows = rows_of(answer, "CONTACT")
        except FatalError:
            rows = []
        code = str(rows[0].get("SUB_NR") or "") if rows else ""
        if code and self._holds(code, body):
            return code
        field, value = (
            ("MAIL_BUS", customer.email) if customer.email else ("SRC_CODE", str(body["SRC_CODE"]))
        )
        numbers = [
            str(r["SUB_NR"])
            for r in self.client.lookup(
                "AR1", "CONTACT", field, [value], fields=["SUB_NR", *MANAGED]
            )
            if r.get("SUB_NR") and fingerprint(r) == fingerprint(body)
        ]
        if not numbers:
            raise FatalError(
                f"AccountView accepted {customer.label} but it cannot be found by its {field}"
            )
        return max(numbers, key=lambda n: (_number(n) or 0, n))

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """Bring debtor ``code`` in line with ``customer`` (its control account untouched)."""
        if not self._exists(code):
            raise no_such_debtor("AccountView", code, customer)
        self._write_contact(
            {
                "SUB_NR": code,
                **contact_from_customer(customer),
                **terms_fields(terms, self.options),
            },
            retry=True,
        )

    # --- orders ----------------------------------------------------------------------

    def _allowed(self, table: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The mapped fields that exist in ``table`` (known, or typed in ``field_types``)."""
        known = FIELD_TYPES.get(table, {})
        declared = {
            k.split(".", 1)[1] for k in self.options.field_types if k.startswith(f"{table}.")
        }
        return {k: v for k, v in fields.items() if k in known or k in declared}

    def payloads(self, w: OrderWrite) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The header row and line rows of one order, canonical fields overridden by the
        mapped ones; ``ValueError`` when they cannot be built or encoded."""
        doc = _document(w.kind)
        mapped = w.mapped or {}
        mapped_lines = list(mapped.get("lines") or [])
        if mapped_lines and len(mapped_lines) != len(w.order.lines):
            raise ValueError(
                f"the mapping gave {len(mapped_lines)} lines for {len(w.order.lines)} order lines"
            )
        ref_field = self._reference_field(doc)
        header: dict[str, Any]
        lines: list[dict[str, Any]]
        if doc is _SALES_ORDER:
            header = {
                **order_header(
                    w.order,
                    debtor_code=w.debtor_code,
                    reference=w.reference,
                    reference_field=ref_field,
                ),
                **dict(mapped.get("header") or {}),
                "RPL_INV": w.debtor_code,
                "RPL_DEL": w.debtor_code,
                ref_field: w.reference,
            }
            lines = [
                {**line, **(mapped_lines[i] if mapped_lines else {})}
                for i, line in enumerate(order_lines(w.order))
            ]
        else:
            header = {
                **invoice_page(
                    w.order, debtor_code=w.debtor_code, reference=w.reference, options=self.options
                ),
                **self._allowed(doc.header, mapped.get("header") or {}),
                "DJ_CODE": self.options.invoice_journal,
                "SUB_NR": w.debtor_code,
                ref_field: w.reference,
            }
            lines = [
                {**line, **(self._allowed(doc.line, mapped_lines[i]) if mapped_lines else {})}
                for i, line in enumerate(
                    invoice_lines(
                        w.order,
                        debtor_code=w.debtor_code,
                        reference=w.reference,
                        options=self.options,
                    )
                )
            ]
        # encode once alone, so a bad value is this order's problem, not its batch's
        build_table(doc.header, [header], overrides=self.options.field_types)
        build_table(doc.line, lines, overrides=self.options.field_types)
        return header, lines

    def create_order(self, write: OrderWrite) -> str:
        """Commit one document; returns its id. Never retried (see :meth:`create_orders`)."""
        [result] = self.create_orders([write])
        if isinstance(result, FatalError):
            raise result
        return result

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """Commit orders, ``write_batch_size`` per POST; one result per write, in order.

        A POST that fails as a whole (transport, 429, 5xx) raises: it may have committed,
        so the flow looks the references up before trying again. An order refused by
        AccountView (or whose fields cannot be encoded) is its own ``FatalError``.
        """
        results: list[str | FatalError | None] = [None] * len(writes)
        pending: dict[_Document, list[tuple[int, dict[str, Any], list[dict[str, Any]]]]] = {}
        for i, w in enumerate(writes):
            doc = _document(w.kind)
            try:
                header, lines = self.payloads(w)
            except ValueError as err:
                results[i] = FatalError(f"order {w.reference}: {err}")
                continue
            pending.setdefault(doc, []).append((i, header, lines))
        size = self.options.write_batch_size
        for doc, items in pending.items():
            for start in range(0, len(items), size):
                self._commit(doc, items[start : start + size], writes, results)
        return [
            r if r is not None else FatalError(f"order {writes[i].reference} was not written")
            for i, r in enumerate(results)
        ]

    def _tables(
        self, doc: _Document, chunk: Sequence[tuple[int, dict[str, Any], list[dict[str, Any]]]]
    ) -> tuple[Table, Table]:
        headers: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        for k, (_, header, lines) in enumerate(chunk, start=1):
            headers.append({ROW_ID: str(k), **header})
            details.extend(
                {ROW_ID: str(len(details) + 1), HEADER_ID: str(k), **line} for line in lines
            )
        types = self.options.field_types
        return (
            build_table(doc.header, headers, overrides=types),
            build_table(doc.line, details, overrides=types),
        )

    def _commit(
        self,
        doc: _Document,
        chunk: Sequence[tuple[int, dict[str, Any], list[dict[str, Any]]]],
        writes: Sequence[OrderWrite],
        results: list[str | FatalError | None],
    ) -> None:
        """POST one chunk; on a refusal of several, settle each order on its own."""
        ref_field = self._reference_field(doc)
        header_table, line_table = self._tables(doc, chunk)
        try:
            answer = self.client.write(
                doc.business_object,
                header_table,
                [line_table],
                book_date=writes[chunk[0][0]].order.created_at,
            )
        except AuthError:
            raise
        except FatalError as err:
            if len(chunk) == 1:
                results[chunk[0][0]] = type(err)(
                    f"AccountView refused order {writes[chunk[0][0]].reference}: {err}",
                    response=err.response,
                )
                return
            log.warning(
                "AccountView refused a POST of %d orders (%s); settling them one by one",
                len(chunk),
                str(err)[:200],
            )
            landed = self.find_orders([str(h[ref_field]) for _, h, _ in chunk], kind=doc.kind)
            for item in chunk:
                ref = str(item[1][ref_field])
                if ref in landed:
                    results[item[0]] = landed[ref]
                else:
                    self._commit(doc, [item], writes, results)
            return
        numbers = self._numbers(doc, answer, chunk)
        missing = [str(h[ref_field]) for i, h, _ in chunk if i not in numbers]
        landed = self.find_orders(missing, kind=doc.kind) if missing else {}
        for i, header, _ in chunk:
            ref = str(header[ref_field])
            number = numbers.get(i) or landed.get(ref)
            results[i] = (
                number
                if number
                else FatalError(
                    f"AccountView accepted order {ref} but it cannot be found by its reference"
                )
            )

    def _numbers(
        self,
        doc: _Document,
        answer: Any,
        chunk: Sequence[tuple[int, dict[str, Any], list[dict[str, Any]]]],
    ) -> dict[int, str]:
        """Write index -> the number AccountView assigned, from its answer when it echoes
        the rows (by ``RowId``) [U]; missing ones are looked up by reference instead."""
        try:
            rows = rows_of(answer, doc.header)
        except FatalError:
            return {}
        by_row = {str(r.get(ROW_ID) or r.get(ROW_ID.upper()) or ""): r for r in rows}
        out: dict[int, str] = {}
        for k, (i, _, _) in enumerate(chunk, start=1):
            number = by_row.get(str(k), {}).get(doc.number)
            if number not in (None, ""):
                out[i] = str(number)
        return out

"""Exact Globe as an :class:`~shopbridge.connectors.base.OrderTarget` (and, through
:class:`~shopbridge.connectors.exact_globe.catalogue.ExactGlobeCatalogue`, as a
``ProductTarget`` and ``StockTarget``: the hook hands out this one object as "the target").

Lookups are batched ``or`` filters (:func:`any_of`) so a batch of 200 orders costs a few
GETs, not 200. Writes follow Globe's header/line pattern; see :meth:`create_order`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shopbridge.connectors._kit import debtors
from shopbridge.connectors._kit.writes import check_order_type, no_such_debtor, write_each
from shopbridge.connectors.base import DebtorMatch, DebtorTerms, OrderWrite
from shopbridge.connectors.exact_globe._batch import Operation
from shopbridge.connectors.exact_globe.catalogue import ExactGlobeCatalogue
from shopbridge.connectors.exact_globe.client import any_of, odata_quote
from shopbridge.connectors.exact_globe.translate import (
    account_from_customer,
    contact_from_customer,
    dec,
    order_header,
    order_lines,
    percent,
    transaction_key,
)
from shopbridge.errors import ConfigError, FatalError
from shopbridge.models import Customer, Order

#: Fields a debtor update must not touch: blocking/reactivating or retyping an account is a
#: decision for the people running the ERP, not for a sync.
_KEEP_ON_UPDATE = ("AccountStatus", "CustomerType")


#: Account fields a sync writes (and compares before deciding an update is needed), in
#: Exact's documented names.
_MANAGED = (
    "AccountName",
    "EmailAddress",
    "PhoneNumber",
    "MailingAddress1",
    "MailingPostcode",
    "MailingCity",
    "MailingCountry",
    "VATNumber",
)


def _terms(terms: DebtorTerms | None) -> dict[str, str]:
    """The Account fields of the debtor terms that are set. [U] ``Classification``,
    ``VATCode`` and ``RevenueGLAccount`` as REST field names."""
    if not terms:
        return {}
    fields = {
        "Classification": terms.classification,
        "VATCode": terms.tax_code,
        "RevenueGLAccount": terms.revenue_account,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _fingerprint(account: Mapping[str, Any]) -> str:
    """Stable over Globe's padding and casing quirks: trimmed text, e-mail lower-cased."""
    return debtors.fingerprint(account, _MANAGED, email="EmailAddress")


@dataclass(frozen=True)
class _Document:
    header: str
    line: str
    #: the document number's field: Exact's documented name, then the older one
    numbers: tuple[str, ...]
    #: fields the header gets for this kind (e.g. the invoice type)
    extra: tuple[tuple[str, str], ...] = ()


#: order-type setting -> Globe entities. [U] the invoice entities follow the sales order's
#: header/line staging; ``Type`` "I" invoices delivered goods, "D" is a direct invoice.
_DOCUMENTS = {
    "sales_order": _Document(
        "SalesOrderHeader", "SalesOrderLine", ("SalesOrderNumber", "OrderNumber")
    ),
    "sales_invoice": _Document(
        "SalesInvoiceHeader", "SalesInvoiceLine", ("InvoiceNumber",), (("Type", "I"),)
    ),
    "direct_invoice": _Document(
        "SalesInvoiceHeader", "SalesInvoiceLine", ("InvoiceNumber",), (("Type", "D"),)
    ),
    # [U] a financial mutation: G/L lines staged like order lines, committed by a header
    # that Globe only accepts when the lines balance
    "journal_entry": _Document("GLTransactionHeader", "GLTransactionLine", ("EntryNumber",)),
}


def _document(kind: str) -> _Document:
    check_order_type("Exact Globe", kind, _DOCUMENTS)
    return _DOCUMENTS[kind]


def _code(value: Any) -> str:
    """Globe stores codes right-aligned in char columns (the REST layer keeps the padding:
    ``"                60093"``, [S] omniboost's test filters ``AccountCode`` padded), so
    codes are compared stripped."""
    return "" if value is None else str(value).strip()


def _number_of(doc: _Document, body: Mapping[str, Any]) -> str:
    """The document number Globe answered (documented field first), stripped."""
    return next((_code(body[n]) for n in doc.numbers if _code(body.get(n))), "")


#: Globe rounds amounts to the cent; a total within this of what was sent is confirmed
_TOLERANCE = Decimal("0.01")


def sent_amount(lines: Sequence[Mapping[str, Any]]) -> Decimal | None:
    """The net amount of the order lines sent, in the order's price basis: per line
    ``Quantity x Price`` less ``DiscountAmount`` (or ``DiscountPercentage`` of it),
    rounded to the cent. None when a line carries no readable quantity or price (e.g. a
    mapping that sends other fields): then there is nothing to compare."""
    total = Decimal(0)
    for ln in lines:
        try:
            qty, price = Decimal(str(ln["Quantity"])), Decimal(str(ln["Price"]))
            gross = qty * price
            if ln.get("DiscountAmount") not in (None, ""):
                gross -= Decimal(str(ln["DiscountAmount"]))
            elif ln.get("DiscountPercentage") not in (None, ""):
                gross -= gross * Decimal(str(ln["DiscountPercentage"])) / 100
        except (KeyError, InvalidOperation):
            return None
        total += gross.quantize(Decimal("0.01"))
    return total


def unconfirmed(
    doc: _Document,
    reference: str,
    sent_header: Mapping[str, Any],
    sent_lines: Sequence[Mapping[str, Any]],
    answers: Sequence[Mapping[str, Any]],
) -> str | None:
    """Why Globe's answer does not confirm the document sent, or None when it does.

    A write counts as done only when the answer carries the document number, one answer
    per line sent (each echoing the TransactionKey when it sends one) and, for a sales
    order whose answer has Globe's read-only totals, a total that matches the lines sent:
    ``TotalAmountExcludingVAT`` against their net amount (``TotalAmount`` when the prices
    were sent incl. VAT), within a cent per line.
    """
    header = answers[-1] if answers else {}
    if not _number_of(doc, header):
        return (
            f"Globe answered the {doc.header} of {reference} without a "
            f"{doc.numbers[0]}: {dict(header)!r:.300}"
        )
    lines = answers[:-1]
    if len(lines) != len(sent_lines):
        return (
            f"{reference}: {len(sent_lines)} lines sent, Globe answered {len(lines)} "
            f"{doc.line} rows"
        )
    key = sent_header.get("TransactionKey")
    stray = [
        i for i, ln in enumerate(lines, start=1) if ln.get("TransactionKey") not in (None, "", key)
    ]
    if stray:
        return f"{reference}: Globe staged line(s) {stray} under another TransactionKey than {key}"
    if doc.header != "SalesOrderHeader":
        return None
    field = "TotalAmount" if sent_header.get("VATIncluded") else "TotalAmountExcludingVAT"
    got, want = header.get(field), sent_amount(sent_lines)
    if got in (None, "") or want is None:
        return None
    try:
        amount = Decimal(str(got).strip())
    except InvalidOperation:
        return f"{reference}: Globe answered {field} {got!r}, not an amount"
    if abs(amount - want) > _TOLERANCE * max(1, len(sent_lines)):
        return (
            f"{reference}: Globe booked {field} {amount}, the {len(sent_lines)} lines "
            f"sent come to {want}; not counted as done"
        )
    return None


class ExactGlobeTarget(ExactGlobeCatalogue):
    """Writes canonical customers and orders (and, inherited, items, categories, images and
    stock) into one Globe administration. Built as ``ExactGlobeTarget(client,
    default_warehouse="1")``."""

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """``YourReference`` -> number of the documents of ``kind`` already in Globe."""
        doc = _document(kind)
        found: dict[str, str] = {}
        for flt in any_of("YourReference", references):
            for row in self.client.query(
                doc.header, filter=flt, select=["YourReference", doc.numbers[0]]
            ):
                ref, number = _code(row.get("YourReference")), _number_of(doc, row)
                if ref and number:
                    found.setdefault(ref, number)
        return found

    def find_debtors(self, emails: Sequence[str]) -> dict[str, str]:
        """Lower-cased e-mail -> ``DebtorCode`` (see :meth:`match_debtors`)."""
        return {email: m.code for email, m in self.match_debtors(emails).items()}

    def debtor_fingerprint(self, customer: Customer) -> str:
        """Hash of the Account fields a sync manages, as :meth:`update_debtor` writes them."""
        return _fingerprint(account_from_customer(customer))

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Lower-cased e-mail -> debtor of customer accounts (``Type 'C'`` [U]).

        The managed Account fields come along in the same query, so a customer whose
        details did not change is recognised without another call.

        The type is checked here rather than in the filter: ``A and (B or C)`` needs
        parentheses, and Globe's OData adapter is not known to honour them. E-mails are
        matched case-insensitively (SQL Server's default collation does the same); when
        two accounts share an e-mail the first one Globe returns wins.
        """
        wanted = {e.lower() for e in emails if e}
        found: dict[str, DebtorMatch] = {}
        for flt in any_of("EmailAddress", sorted(wanted)):
            for row in self.client.query(
                "Account", filter=flt, select=["DebtorCode", "CustomerType", *_MANAGED]
            ):
                email = _code(row.get("EmailAddress")).lower()
                kind = _code(row.get("CustomerType")) or "C"
                if email in wanted and kind == "C" and _code(row.get("DebtorCode")):
                    found.setdefault(
                        email, DebtorMatch(_code(row["DebtorCode"]), _fingerprint(row))
                    )
        return found

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """POST the Account, then its Contact; returns Globe's new ``DebtorCode``.

        The answer must carry the new ``ID`` and ``DebtorCode`` and echo the name and
        e-mail sent; otherwise the debtor is not counted as created (a ``FatalError``
        naming both values: the record is quarantined, not booked on a debtor that may
        not be the customer's).

        Persons get a Contact too (decision): the Account holds one name string, and
        the Contact is where Globe keeps first/last name for salutations and e-mail, so
        both kinds are kept alike and :meth:`update_debtor` treats them the same. Neither
        POST is retried (no idempotency key); if the Contact POST fails the Account is
        still found by e-mail next run and ``update_debtor`` adds the missing Contact.
        """
        sent = {**account_from_customer(customer), **_terms(terms)}
        account = self.client.create("Account", sent, retry=False)
        account_id, code = _code(account.get("ID")), _code(account.get("DebtorCode"))
        if not account_id or not code:
            raise FatalError(
                f"Globe answered the Account of {customer.label} without "
                f"{'ID' if not account_id else 'DebtorCode'}: "
                f"{dict(account)!r:.300}"
            )
        for field in ("AccountName", "EmailAddress"):
            got, want = _code(account.get(field)), _code(sent.get(field))
            if field in account and got.lower() != want.lower():
                raise FatalError(
                    f"Globe created debtor {code} for {customer.label} with "
                    f"{field} {got!r}, sent {want!r}; not counted as done"
                )
        self.client.create("Contact", contact_from_customer(customer, account_id), retry=False)
        return code

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """MERGE the Account (not its Status/Type) and its default Contact, in place."""
        rows = list(
            self.client.query(
                "Account", filter=f"DebtorCode eq {odata_quote(code)}", select=["ID", "DebtorCode"]
            )
        )
        if not rows:
            raise no_such_debtor("Exact Globe", code, customer)
        account_id = str(rows[0]["ID"])
        body = {
            k: v for k, v in account_from_customer(customer).items() if k not in _KEEP_ON_UPDATE
        } | _terms(terms)
        self.client.merge("Account", account_id, body)
        contact = contact_from_customer(customer, account_id)
        contacts = list(
            self.client.query(
                "Contact", filter=f"Account eq guid'{account_id}'", select=["ID", "IsDefault"]
            )
        )
        if not contacts:
            self.client.create("Contact", contact, retry=False)
            return
        default = next((c for c in contacts if c.get("IsDefault")), contacts[0])
        self.client.merge(
            "Contact", str(default["ID"]), {k: v for k, v in contact.items() if k != "Account"}
        )

    def order_payloads(
        self,
        order: Order,
        *,
        debtor_code: str,
        reference: str,
        mapped: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The staged lines and the committing header of one order.

        ``mapped`` (the datamapper's ``{"header": …, "lines": […]}``) decides every field
        but the ones Globe's staging needs and only we can set: the TransactionKey, the
        debtor, our reference and the line numbers.
        """
        key = transaction_key(reference, revision=order.content_hash()[:16])
        if mapped is None:
            return (
                order_lines(order, key),
                order_header(
                    order, debtor_code=debtor_code, reference=reference, transaction_key=key
                ),
            )
        lines = [
            {**fields, "TransactionKey": key, "LineNumber": n}
            for n, fields in enumerate(mapped["lines"], start=1)
        ]
        header = {
            **mapped["header"],
            "TransactionKey": key,
            "OrderDebtor": debtor_code,
            "YourReference": reference,
        }
        return lines, header

    def journal_payloads(self, w: OrderWrite) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One order as a balanced journal entry: receivable debit, revenue and VAT credits.

        Amounts are signed (debit positive). Revenue goes to each line's mapped
        ``GLAccount`` when the mapping sets one (e.g. per country), else to the default
        revenue account; VAT is credited per rate. Discounts are already on the lines
        and shipping is expected as a line (``shipping_line``), so credits equal the total.
        """
        acc = dict(w.accounts or {})
        if not acc:
            raise ConfigError("order type journal_entry needs its accounts (journal_entry: …)")
        order = w.order
        key = transaction_key(w.reference, revision=order.content_hash()[:16])
        mapped_lines = list((w.mapped or {}).get("lines", [])) or [{} for _ in order.lines]
        lines: list[dict[str, Any]] = [
            {
                "GLAccount": acc["receivable_account"],
                "Debtor": w.debtor_code,
                "AmountDC": dec(order.total_incl),
                "Description": order.number,
            }
        ]
        vat: dict[str, Decimal] = {}
        for ol, fields in zip(order.lines, mapped_lines, strict=True):
            lines.append(
                {
                    "GLAccount": fields.get("GLAccount") or acc["revenue_account"],
                    "AmountDC": dec(-ol.net_excl),
                    "Description": ol.description or ol.sku,
                }
            )
            rate = percent(ol.tax_rate)
            vat[rate] = vat.get(rate, Decimal(0)) + ol.net_incl - ol.net_excl
        for rate, amount in sorted(vat.items()):
            if amount:
                lines.append(
                    {
                        "GLAccount": acc["vat_account"],
                        "AmountDC": dec(-amount),
                        "Description": f"VAT {rate}%",
                        "VATPercentage": rate,
                    }
                )
        for n, gl in enumerate(lines, start=1):
            gl.update(TransactionKey=key, LineNumber=n)
        header = {
            "TransactionKey": key,
            "Journal": acc["journal"],
            "YourReference": w.reference,
            "Description": order.number,
            "Debtor": w.debtor_code,
            "EntryDate": order.created_at.date().isoformat(),
            "Currency": order.currency,
        }
        return lines, header

    def _payloads(self, w: OrderWrite) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if w.kind == "journal_entry":
            return self.journal_payloads(w)
        lines, header = self.order_payloads(
            w.order, debtor_code=w.debtor_code, reference=w.reference, mapped=w.mapped
        )
        header.update(_document(w.kind).extra)
        return lines, header

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """Commit orders: one ``$batch`` per ``batch_size`` orders, one changeset per order
        (its lines, then the header that commits them), so each order lands whole or not.

        With ``write_mode="single"`` each order goes through :meth:`create_order`. A whole
        ``$batch`` that fails (timeout, 429, 5xx) raises: some changesets may have
        committed, so the flow looks the references up before trying again.
        """
        if self.client.write_mode != "batch":
            return write_each(writes, self.create_order)
        out: list[str | FatalError] = []
        size = self.client.batch_size
        for i in range(0, len(writes), size):
            chunk = writes[i : i + size]
            changesets, payloads = [], []
            for w in chunk:
                doc = _document(w.kind)
                lines, header = self._payloads(w)
                payloads.append((lines, header))
                changesets.append(
                    [
                        *(Operation("POST", doc.line, ln) for ln in lines),
                        Operation("POST", doc.header, header),
                    ]
                )
            for w, sent, res in zip(chunk, payloads, self.client.batch(changesets), strict=True):
                doc = _document(w.kind)
                if not res.ok:
                    out.append(FatalError(res.error or f"Globe refused {w.reference}"))
                    continue
                why = unconfirmed(doc, w.reference, sent[1], sent[0], res.bodies)
                out.append(FatalError(why) if why else _number_of(doc, res.bodies[-1]))
        return out

    def create_order(self, write: OrderWrite) -> str:
        """Stage every line, then POST the header that commits them; returns ``OrderNumber``.

        Line POSTs are retried: the TransactionKey is deterministic, and a line with the
        same key and LineNumber replaces the staged one. The header POST is not: it
        commits, a timeout can hide a success, and the flow looks the reference up again
        before any second attempt (a blind replay would also find no staged lines left).
        """
        doc = _document(write.kind)
        lines, header_body = self._payloads(write)
        answers = [self.client.create(doc.line, line, retry=True) for line in lines]
        answers.append(self.client.create(doc.header, header_body, retry=False))
        why = unconfirmed(doc, write.reference, header_body, lines, answers)
        if why:
            raise FatalError(why)
        return _number_of(doc, answers[-1])

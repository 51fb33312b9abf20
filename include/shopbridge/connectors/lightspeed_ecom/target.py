"""Lightspeed eCom as an :class:`~shopbridge.connectors.base.OrderTarget`, as a
:class:`~shopbridge.connectors.base.ShipmentTarget` (:meth:`LightspeedEcomTarget.apply_shipment`)
and, through
:class:`~shopbridge.connectors.lightspeed_ecom.catalogue_target.LightspeedEcomCatalogue`,
as a ``ProductTarget`` and ``StockTarget``: the hook hands out this one object as "the
target".

Orders booked elsewhere (the ERP) are created in the webshop. Lightspeed has no
``POST orders`` (VENDOR_APIS.md §1), so each order is a checkout walked through to the end:
create it with the customer, add the lines by variant id, choose a shipment and a payment
method, set the addresses and accept the terms, validate, and turn it into an order. That
costs ``7 + lines`` requests per order; nothing can be batched.

Our reference travels in the checkout's ``comment``, which becomes the order's comment
(``shopbridge ref <reference>`` on its first line). ASSUMPTION [U]: the vendor keeps the
checkout comment on the order verbatim. Lightspeed cannot filter orders by comment, so
:meth:`LightspeedEcomTarget.find_orders` pages every order created in the last
``lookup_days`` (``fields=id,comment``, 250 a page): ``ceil(orders created in that window /
250)`` GETs per call, stopping early once every reference is found. The flow asks its
ledger first and calls this only for orders the ledger does not know (a lost ledger) or
whose write died mid-way (a stale claim), so the scan is the exception, not the rule. An
order created longer ago than ``lookup_days`` and missing from the ledger is not found and
would be created again: keep ``lookup_days`` above any ledger loss you want to survive.

Prices: ASSUMPTION [U] the checkout prices every line from the shop's catalogue (the
API takes a variant and a quantity, no price), and the shipment method brings its own
cost; order-level discounts are not carried over. When the shop's unit price differs from
the order's, the shop's wins and a warning names the order and line.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shopbridge.connectors._kit.writes import (
    check_order_type,
    created_id,
    no_such_debtor,
    status_of,
    write_each,
)
from shopbridge.connectors.base import DebtorMatch, DebtorTerms, OrderWrite
from shopbridge.connectors.lightspeed_ecom.catalogue_target import (
    DEFAULT_ITEM_CODE_FIELD,
    VENDOR,
    LightspeedEcomCatalogue,
)
from shopbridge.connectors.lightspeed_ecom.client import FILTER_FORMAT, LightspeedEcomClient
from shopbridge.errors import AuthError, ConfigError, FatalError, RecordError
from shopbridge.models import Address, Customer, CustomerKind, Order, Shipment

log = logging.getLogger(__name__)

#: how our reference is written on the first line of the checkout's (and order's) comment
REFERENCE_PREFIX = "shopbridge ref "
DEFAULT_LOOKUP_DAYS = 30
_CENT = Decimal("0.01")

#: customer fields a sync manages (what :meth:`update_debtor` writes and the fingerprint
#: compares); the shipping address is the customer's own business after the first write
_MANAGED = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "isCompany",
    "companyName",
    "companyVatNumber",
    "addressBillingName",
    "addressBillingStreet",
    "addressBillingNumber",
    "addressBillingExtension",
    "addressBillingZipcode",
    "addressBillingCity",
    "addressBillingCountry",
)


def reference_comment(reference: str, extra: str = "") -> str:
    """The comment that carries ``reference`` (and any mapped comment text after it)."""
    return f"{REFERENCE_PREFIX}{reference}" + (f"\n{extra}" if extra else "")


def reference_from_comment(comment: Any) -> str | None:
    """Our reference in an order's comment, or ``None`` for an order we did not create."""
    if not isinstance(comment, str):
        return None
    for line in comment.splitlines():
        if line.startswith(REFERENCE_PREFIX) and line[len(REFERENCE_PREFIX) :].strip():
            return line[len(REFERENCE_PREFIX) :].strip()
    return None


def _address_fields(prefix: str, name: str, a: Address) -> dict[str, Any]:
    """``addressBilling*``/``addressShipping*`` as a customer write takes them (the country
    as its ISO code; reads return an object)."""
    return {
        f"{prefix}Name": name,
        f"{prefix}Street": a.street,
        f"{prefix}Number": a.house_number,
        f"{prefix}Extension": a.house_number_ext,
        f"{prefix}Zipcode": a.postcode,
        f"{prefix}City": a.city,
        f"{prefix}Country": a.country.lower(),
    }


def customer_fields(customer: Customer) -> dict[str, Any]:
    """The managed customer fields (an update's body): identity and billing address."""
    company = customer.kind is CustomerKind.COMPANY
    return {
        "email": customer.email,
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "phone": customer.phone,
        "isCompany": company,
        "companyName": customer.company_name if company else "",
        "companyVatNumber": customer.vat_number if company else "",
        **_address_fields("addressBilling", customer.display_name, customer.billing_address),
    }


def new_customer_fields(customer: Customer) -> dict[str, Any]:
    """A create's body: the managed fields, and the billing address as the first shipping
    address too (the canonical customer has no other)."""
    return {
        **customer_fields(customer),
        **_address_fields("addressShipping", customer.display_name, customer.billing_address),
    }


def _normalised(name: str, value: Any) -> str:
    if isinstance(value, Mapping):  # a country object as the API returns it
        value = value.get("code")
    if name == "isCompany":
        return "1" if value in (True, 1, "1", "true") else "0"
    text = "" if value is None or value is False else str(value).strip()
    return text.lower() if name in ("email", "addressBillingCountry") else text


def fingerprint(record: Mapping[str, Any]) -> str:
    """Hash of the managed fields, equal for what we write and what the API reads back
    (trimmed text, e-mail and country code lower-cased, the country object reduced to
    its code, ``isCompany`` as a flag)."""
    values = "\x1f".join(_normalised(name, record.get(name)) for name in _MANAGED)
    return hashlib.sha256(values.encode()).hexdigest()


def checkout_address(name: str, a: Address) -> dict[str, Any]:
    """An address as the checkout takes it. ASSUMPTION [U]: the vendor SDK's example shape
    (``address1`` is the street, ``country`` the ISO code)."""
    return {
        "name": name,
        "address1": a.street,
        "number": a.house_number,
        "extension": a.house_number_ext,
        "zipcode": a.postcode,
        "city": a.city,
        "country": a.country.lower(),
    }


def _pick(methods: Sequence[Mapping[str, Any]], wanted: str) -> Mapping[str, Any] | None:
    """The method whose title (or id) is ``wanted`` (case-insensitive), else the first.

    Why fall back rather than refuse: an ERP order usually names no webshop method, and a
    shop offers few; the method then only decides the webshop's shipping line. Map
    ``shipmentMethod``/``paymentMethod`` in the header to choose explicitly.
    """
    if not methods:
        return None
    key = wanted.strip().lower()
    if key:
        for method in methods:
            if key in (
                str(method.get("title", "")).strip().lower(),
                str(method.get("id", "")).strip().lower(),
            ):
                return method
        log.warning("no checkout method titled %r; using %r", wanted, methods[0].get("title"))
    return methods[0]


def _shipment_sort_key(row: Mapping[str, Any]) -> tuple[int, str]:
    rid = str(row.get("id", ""))
    return (int(rid), "") if rid.isdigit() else (1 << 62, rid)


def _code(row: Mapping[str, Any]) -> str:
    value = row.get("trackingCode")
    return value.strip() if isinstance(value, str) else ""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LightspeedEcomTarget(LightspeedEcomCatalogue):
    """Writes canonical customers and orders (and, inherited, products and stock) into
    one Lightspeed shop."""

    def __init__(
        self,
        client: LightspeedEcomClient,
        *,
        lookup_days: int = DEFAULT_LOOKUP_DAYS,
        now: Callable[[], datetime] = _utcnow,
        item_code_field: str = DEFAULT_ITEM_CODE_FIELD,
    ) -> None:
        if lookup_days < 1:
            raise ConfigError(f"order_lookup_days must be at least 1, got {lookup_days}")
        super().__init__(client, item_code_field=item_code_field)
        self.lookup_days = lookup_days
        self._now = now

    # --- customers -----------------------------------------------------------------------

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Lower-cased e-mail -> the customer's id and fingerprint.

        One ``customers.json?email=`` GET per e-mail: the API has no "any of" filter
        (the flow asks its ledger first, so only customers it never wrote cost a call).
        The e-mail is compared again here in case the vendor's filter is looser than an
        exact match; when two customers share an e-mail the first one wins.
        """
        found: dict[str, DebtorMatch] = {}
        for email in sorted({e.strip().lower() for e in emails if e and e.strip()}):
            for row in self.client.customers_by_email(email):
                if str(row.get("email") or "").strip().lower() == email and "id" in row:
                    found[email] = DebtorMatch(str(row["id"]), fingerprint(row))
                    break
        return found

    def debtor_fingerprint(self, customer: Customer) -> str:
        """What :meth:`match_debtors` reports once :meth:`update_debtor` wrote ``customer``."""
        return fingerprint(customer_fields(customer))

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """POST the customer (not retried); returns its id.

        ``terms`` (classification, tax code, revenue account) are ERP notions a Lightspeed
        customer has no field for; they are accepted and not sent.
        """
        record = self.client.create_customer(new_customer_fields(customer))
        return created_id(VENDOR, record, "id", customer.label)

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """PUT the managed fields; the shipping address is left as the shop has it."""
        try:
            self.client.update_customer(code, customer_fields(customer))
        except FatalError as err:
            if status_of(err) == 404:
                raise no_such_debtor(VENDOR, code, customer) from None
            raise

    # --- orders --------------------------------------------------------------------------

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Our reference -> order id, for orders created in the last ``lookup_days``.

        See the module docstring for the cost; it stops paging once all are found.
        """
        check_order_type(VENDOR, kind)
        wanted = set(references)
        found: dict[str, str] = {}
        if not wanted:
            return found
        since = (self._now() - timedelta(days=self.lookup_days)).astimezone(UTC)
        params = {"created_at_min": since.strftime(FILTER_FORMAT), "fields": "id,comment"}
        for row in self.client.iter_list("orders", params):
            ref = reference_from_comment(row.get("comment"))
            if ref in wanted and "id" in row:
                found.setdefault(ref, str(row["id"]))
                if len(found) == len(wanted):
                    break
        return found

    def _cart(self, order: Order) -> list[tuple[str, int]]:
        """(variant id, whole quantity) per line; a line the shop cannot take is the
        order's problem, named by its field (``lines[1].sku``)."""
        variants = self._variants()
        cart: list[tuple[str, int]] = []
        for i, line in enumerate(order.lines):
            variant = variants.get(line.sku)
            if variant is None:
                raise RecordError(
                    "order",
                    order.ref.id,
                    f"lines[{i}].sku",
                    f"SKU {line.sku} is not a variant in Lightspeed",
                )
            if line.quantity != line.quantity.to_integral_value():
                raise RecordError(
                    "order",
                    order.ref.id,
                    f"lines[{i}].quantity",
                    f"Lightspeed takes whole quantities, got {line.quantity}",
                )
            cart.append((variant, int(line.quantity)))
        return cart

    def create_order(self, write: OrderWrite) -> str:
        """Walk a checkout to an order; returns the order id.

        ``debtor_code`` is the customer id (``mode: customer``); empty places a guest
        order. ``mapped["header"]`` may name ``shipmentMethod``/``paymentMethod`` (a title
        or id; else the order's own method by title, else the shop's first) and
        ``comment`` (text after our reference line); other keys and the lines mapping
        have no checkout field and are ignored.

        Only idempotent steps (GETs, PUTs of the same fields) are retried. The POSTs
        that add something are not: a retried line would double its quantity, and the
        final ``order.json`` commits; if it times out or answers 5xx the
        ``RetriableError`` propagates and the flow's ledger finds the order by its
        reference before any second attempt. A checkout that fails before its order is
        left behind, as an abandoned cart.
        """
        check_order_type(VENDOR, write.kind)
        order, debtor_code, reference = write.order, write.debtor_code, write.reference
        header = dict((write.mapped or {}).get("header") or {})
        cart = self._cart(order)
        c = order.customer
        customer: dict[str, Any] = {
            "email": c.email,
            "firstname": c.first_name,
            "lastname": c.last_name,
            "phone": c.phone,
            "isCompany": c.kind is CustomerKind.COMPANY,
            "companyName": c.company_name,
            "companyVatNumber": c.vat_number,
        }
        mode = "guest"
        if debtor_code:
            if not debtor_code.strip().isdigit():
                raise ConfigError(f"debtor {debtor_code!r} is not a Lightspeed customer id")
            mode, customer["id"] = "customer", int(debtor_code)
        comment = reference_comment(reference, str(header.get("comment") or ""))
        checkout = self.client.create_checkout(
            {"mode": mode, "customer": customer, "comment": comment}
        )
        cid = created_id(VENDOR, checkout, "id", f"a checkout for {reference}")
        for i, (variant, quantity) in enumerate(cart):
            try:
                added = self.client.add_checkout_product(cid, variant, quantity)
            except AuthError:
                raise
            except FatalError as err:
                raise RecordError(
                    "order",
                    order.ref.id,
                    f"lines[{i}].sku",
                    f"Lightspeed refused SKU {order.lines[i].sku}: {err}",
                ) from err
            self._compare_price(order, i, added)
        ship = _pick(
            self.client.checkout_shipment_methods(cid),
            str(header.get("shipmentMethod") or order.shipping_method),
        )
        if ship is not None:
            self.client.update_checkout(cid, {"shipmentMethod": ship["id"]})
        pay = _pick(
            self.client.checkout_payment_methods(cid),
            str(header.get("paymentMethod") or order.payment_method),
        )
        name = c.display_name
        final: dict[str, Any] = {
            "billingAddress": checkout_address(name, c.billing_address),
            "shippingAddress": checkout_address(name, order.shipping_address),
            "terms": True,
        }
        if pay is not None:
            final["paymentMethod"] = {"id": pay["id"]}
        self.client.update_checkout(cid, final)
        result = self.client.validate_checkout(cid)
        if not result.get("validated"):
            errors = result.get("errors") or ["(no reason given)"]
            texts = [str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors]
            raise FatalError(
                f"Lightspeed refused order {reference} (source {order.ref.id}, "
                f"checkout {cid}): {'; '.join(texts)}"
            )
        return self.client.order_checkout(cid)

    def _compare_price(self, order: Order, i: int, added: Mapping[str, Any]) -> None:
        """Warn when the shop prices a line differently from the order (the shop wins)."""
        try:
            shop = Decimal(str(added["priceIncl"])).quantize(_CENT)
        except (KeyError, ArithmeticError):
            return
        ours = order.lines[i].unit_price_incl.quantize(_CENT)
        if shop != ours:
            log.warning(
                "order %s lines[%d] (%s): the shop prices it at %s incl. tax, the "
                "order at %s; the shop's price is used",
                order.number,
                i,
                order.lines[i].sku,
                shop,
                ours,
            )

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """One checkout per write, in order (Lightspeed has no batch for them), once every
        write's order type is known to be one the shop takes.

        A refused order (validation, a SKU the shop does not sell) is that write's
        ``FatalError``; a ``RecordError`` becomes one too, naming its field. Auth, config
        and transient errors raise and stop the loop: orders already created are found by
        reference when the flow tries again.
        """
        for w in writes:
            check_order_type(VENDOR, w.kind)
        return write_each(writes, self.create_order)

    # --- shipments -----------------------------------------------------------------------

    def apply_shipment(self, order_id: str, shipment: Shipment) -> str:
        """Mark the Lightspeed order ``order_id`` shipped with ``shipment``'s tracking code;
        return the Lightspeed shipment id.

        Lightspeed cannot create shipments (``shipments`` is GET and PUT only, §1): every
        order comes with its own, so one of those is updated. Of the order's shipments
        (by id) it picks the one with the same ``trackingCode`` (with no tracking code:
        one already shipped without one), else the first neither shipped nor cancelled.
        Only what differs is PUT (``status: shipped`` and ``trackingCode``), so applying
        the same shipment again costs one GET and writes nothing.

        A ``not_shipped`` shipment only sets the tracking code: this never un-ships a
        parcel. ``carrier``, ``shipped_at`` and the lines have no writable field on a
        Lightspeed shipment and are not sent. Whether marking the shipment shipped
        moves the order's ``shipmentStatus`` is the shop's business (ASSUMPTION [U]).

        ``FatalError`` (naming the order) when the order does not exist, has no shipments,
        or has none left to mark (every one shipped under another tracking code).
        """
        oid = str(order_id).strip()
        if not oid.isdigit():
            raise FatalError(f"Lightspeed order id {order_id!r} is not a number")
        rows = sorted(
            (r for r in self.client.shipments_for_order(oid) if isinstance(r, Mapping)),
            key=_shipment_sort_key,
        )
        if not rows:
            try:
                self.client.get_order(oid)
            except FatalError as err:
                if status_of(err) == 404:
                    raise FatalError(
                        f"Lightspeed order {oid} does not exist", response=err.response
                    ) from None
                raise
            raise FatalError(f"Lightspeed order {oid} has no shipments to mark shipped")
        code = shipment.tracking_code.strip()
        same = [r for r in rows if _code(r) == code and (code or r.get("status") == "shipped")]
        open_ = [r for r in rows if r.get("status") not in ("shipped", "cancelled")]
        if same:
            pick = same[0]
        elif open_:
            pick = open_[0]
        else:
            raise FatalError(
                f"Lightspeed order {oid}: every shipment is already shipped or cancelled, "
                f"none with tracking code {code!r} (Lightspeed cannot add a shipment)"
            )
        if pick.get("id") in (None, False, ""):
            raise FatalError(f"Lightspeed order {oid}: a shipment has no id")
        sid = str(pick["id"])
        fields: dict[str, Any] = {}
        if shipment.status == "shipped" and pick.get("status") != "shipped":
            fields["status"] = "shipped"
        if code and _code(pick) != code:
            fields["trackingCode"] = code
        if fields:
            self.client.update_shipment(sid, fields)
            log.info(
                "Lightspeed order %s: shipment %s updated (%s)", oid, sid, ", ".join(sorted(fields))
            )
        return sid

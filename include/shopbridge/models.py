"""Canonical records every connector translates to and from.

Flows only ever see these: a vendor's field names and quirks stop at its ``translate.py``.
They are frozen value objects (so a content hash is stable), money is ``Decimal`` with an
ISO currency, and timestamps carry their offset.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=4)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Canonical(BaseModel):
    """Base: frozen, no unknown fields, and a content hash for change detection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def content_hash(self) -> str:
        """Stable across processes: the ledger compares it to skip unchanged records."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


class ExternalRef(Canonical):
    """Identity of a record in one system: what the ledger keys on."""

    system: NonEmpty
    id: NonEmpty


class Address(Canonical):
    """An address as far as the source knows it: real accounts hold customers without a
    street or a country. ``country`` is ISO-2, or ``""`` when the source has none: the
    flow fills the pair's ``default_country`` and reports it, never the translator."""

    street: str = ""
    house_number: str = ""
    house_number_ext: str = ""
    postcode: str = ""
    city: str = ""
    country: CountryCode | Literal[""] = ""


class CustomerKind(StrEnum):
    COMPANY = "company"
    PERSON = "person"


class Customer(Canonical):
    """A buyer: a company (debtor with this person as its contact) or a private person.

    Real accounts hold customers without an e-mail (a till's walk-in customer, a debtor
    typed in by hand): ``email`` is then ``""`` and ``customer_number``, the source's own
    id of the customer, is what the ledger matches it by.
    """

    kind: CustomerKind
    email: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, to_lower=True, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$"
        ),
    ] = ""
    #: the source system's own number/id of this customer (not personal data)
    customer_number: str = ""
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    vat_number: str = ""
    phone: str = ""
    billing_address: Address = Address()

    @model_validator(mode="after")
    def _company_has_name(self) -> Customer:
        if self.kind is CustomerKind.COMPANY and not self.company_name.strip():
            raise ValueError("a company customer needs a company_name")
        if self.kind is CustomerKind.PERSON and not (self.first_name or self.last_name):
            raise ValueError("a person customer needs a first or last name")
        return self

    @property
    def label(self) -> str:
        """How an error message names the customer without personal data: a short hash of
        the e-mail, else the source's customer number (messages end up in logs,
        quarantine reasons and run reports)."""
        if self.email:
            return "customer #" + hashlib.sha256(self.email.encode()).hexdigest()[:12]
        if self.customer_number:
            return f"customer no. {self.customer_number}"
        return "customer (no e-mail, no number)"

    @property
    def person_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def display_name(self) -> str:
        return self.company_name if self.kind is CustomerKind.COMPANY else self.person_name


class ItemKeys(Canonical):
    """The item keys a vendor gives a line, variant or stock level, each in its own field.

    Vendors disagree on which key identifies an item (Lightspeed eCom lines often carry
    ``"sku": ""`` and the code in ``articleCode``), so translators fill what the vendor
    has and the pair's ``item_key`` rule (:func:`resolve_item_key`) picks one, the same
    for orders, products and stock, before anything is looked up: after that, ``sku`` is
    the item's code in the target.
    """

    sku: str = ""
    article_code: str = ""
    ean: str = ""

    @model_validator(mode="after")
    def _some_key(self) -> ItemKeys:
        if not (self.sku.strip() or self.article_code.strip() or self.ean.strip()):
            raise ValueError("no item key: sku, article_code and ean are all empty")
        return self


#: the pair's default ``item_key`` rule: the first non-empty of these
ITEM_KEY_DEFAULT: tuple[str, ...] = ("sku", "article_code", "ean")


def resolve_item_key(record: object, rule: tuple[str, ...] = ITEM_KEY_DEFAULT) -> str:
    """The key ``rule`` picks for ``record`` (an :class:`ItemKeys` or a :class:`Product`;
    ``""`` when it has none of them)."""
    for name in rule:
        value = str(getattr(record, name, "") or "").strip()
        if value:
            return value
    return ""


class OrderLine(ItemKeys):
    description: str = ""
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    unit_price_excl: Money
    unit_price_incl: Money
    tax_rate: Annotated[Decimal, Field(ge=0, le=1)]
    #: discount on this line in total (not per unit); the unit prices are before it
    discount_excl: Money = Decimal("0")
    discount_incl: Money = Decimal("0")

    @property
    def net_excl(self) -> Decimal:
        return self.quantity * self.unit_price_excl - self.discount_excl

    @property
    def net_incl(self) -> Decimal:
        return self.quantity * self.unit_price_incl - self.discount_incl


class Order(Canonical):
    """A sales order as the source system holds it, in canonical terms."""

    ref: ExternalRef
    number: NonEmpty
    status: str
    payment_status: str = ""
    created_at: AwareDatetime
    updated_at: AwareDatetime
    #: from the record, else the source account's settings: never a silent default
    currency: CurrencyCode
    customer: Customer
    shipping_address: Address
    lines: Annotated[tuple[OrderLine, ...], Field(min_length=1)]
    total_excl: Money
    total_incl: Money
    shipping_method: str = ""
    #: order-level discount (a coupon) not booked on any line
    discount_excl: Money = Decimal("0")
    discount_incl: Money = Decimal("0")
    shipping_cost_excl: Money = Decimal("0")
    shipping_cost_incl: Money = Decimal("0")
    #: fees the source charged on the order itself, on no line (Lightspeed's payment
    #: costs, Fortnox's administration fee): part of the total the flow checks
    fee_excl: Money = Decimal("0")
    fee_incl: Money = Decimal("0")
    payment_method: str = ""


class Category(Canonical):
    """A category as its path from the root (``("Clothing", "Shirts")``): the path, not a
    vendor id, is what both systems agree on."""

    path: Annotated[tuple[NonEmpty, ...], Field(min_length=1)]


class Image(Canonical):
    """A product image where the source serves it; its bytes are fetched at load time."""

    url: NonEmpty
    position: int = 0
    filename: str = ""


class Variant(ItemKeys):
    """One sellable item. A simple product has one variant without attributes."""

    title: str = ""
    price_excl: Money
    price_incl: Money
    #: option name -> value, e.g. ``{"Colour": "Red", "Size": "M"}``; builds the
    #: configurable product and needs a mapping to target fields
    attributes: dict[str, str] = Field(default_factory=dict)
    #: stock on hand when the product is read (sent on create; the stock flow owns it after)
    quantity: Decimal | None = None


class Product(Canonical):
    """A product as the source holds it: simple (one plain variant) or configurable."""

    ref: ExternalRef
    #: the product's own SKU: the variant's for a simple product, the parent's otherwise
    #: (resolved by the pair's ``item_key`` rule like the variants')
    sku: str = ""
    article_code: str = ""
    ean: str = ""
    title: NonEmpty
    description: str = ""
    short_description: str = ""
    brand: str = ""
    visible: bool = True
    currency: CurrencyCode = "EUR"
    tax_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.21")
    categories: tuple[Category, ...] = ()
    images: tuple[Image, ...] = ()
    #: extra information fields (country of origin, delivery time, ...)
    features: dict[str, str] = Field(default_factory=dict)
    variants: Annotated[tuple[Variant, ...], Field(min_length=1)]
    updated_at: AwareDatetime

    @property
    def configurable(self) -> bool:
        return len(self.variants) > 1 or any(v.attributes for v in self.variants)


class StockLevel(ItemKeys):
    """Stock of one item as the source reports it; the flow's setting computes what is sent."""

    on_hand: Decimal
    #: open sales reservations (ordered, not yet shipped) not already taken off ``on_hand``
    reserved: Decimal = Decimal("0")
    #: on hand per warehouse or location, when the source keeps stock per location
    locations: dict[str, Decimal] = Field(default_factory=dict)
    #: whether the source tracks stock for this SKU at all
    managed: bool = True


class ShipmentLine(Canonical):
    sku: NonEmpty
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]


class Shipment(Canonical):
    """A parcel of an order as one system records it.

    ``order_ref`` is the order in the *same* system as the shipment; the flow finds the
    matching order on the other side through the ledger, so no vendor id crosses over.
    """

    ref: ExternalRef
    order_ref: ExternalRef
    #: ``shipped`` or ``not_shipped`` (partial and cancelled parcels count as not shipped)
    status: Literal["shipped", "not_shipped"]
    tracking_code: str = ""
    carrier: str = ""
    shipped_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    lines: tuple[ShipmentLine, ...] = ()


class CheckoutLine(Canonical):
    sku: NonEmpty
    description: str = ""
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    unit_price_incl: Money


class Checkout(Canonical):
    """A cart a shopper started in the webshop, ordered or not (abandoned-cart follow-up
    happens in the order hub, so the e-mail travels with it when the shopper gave one)."""

    ref: ExternalRef
    created_at: AwareDatetime
    updated_at: AwareDatetime
    currency: CurrencyCode = "EUR"
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)
    ] = ""
    lines: tuple[CheckoutLine, ...] = ()
    total_incl: Money = Decimal("0")
    #: the order the checkout became, in the same system; ``None`` while it is open
    order_ref: ExternalRef | None = None


class QuarantineEntry(BaseModel):
    """Why a record was set aside: what the run reports and the ledger keeps."""

    model_config = ConfigDict(frozen=True)

    entity: Literal[
        "order", "customer", "product", "image", "category", "stock", "shipment", "checkout"
    ]
    source_id: str
    field: str
    reason: str

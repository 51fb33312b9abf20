"""Order lines of vendors that give one unit price and the line's discount in one VAT basis.

Exact Globe and Fortnox send a line's unit price before discount and its discount in the
order's basis (excl. VAT, or incl. where the order or VAT code says so); the canonical
:class:`OrderLine` wants both bases. The derivation, the rounding and the refusal of a
return line are the same for both, so they are here once; which fields hold the price,
the discount and the rate stays each connector's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shopbridge.connectors._kit.amounts import both_bases, q4
from shopbridge.connectors._kit.fields import FieldReader
from shopbridge.models import OrderLine


def ordered_quantity(r: FieldReader, key: str) -> Decimal:
    """The line's quantity; 0 or less is a return, which the order flows do not sync."""
    quantity = r.decimal(key)
    if quantity <= 0:
        raise r.fail(key, f"must be greater than 0 (returns are not synced), got {quantity}")
    return quantity


@dataclass(frozen=True)
class LineKeys:
    """The vendor fields a line's parts come from, so an error names the one at fault."""

    sku: str
    quantity: str
    price: str
    rate: str
    discount: str
    description: str = "Description"

    def names(self) -> dict[str, str]:
        """Canonical field -> vendor field, for :meth:`FieldReader.build`: one vendor field
        gives a price or discount in both bases."""
        return {
            "sku": self.sku,
            "description": self.description,
            "quantity": self.quantity,
            **dict.fromkeys(("unit_price_excl", "unit_price_incl"), self.price),
            "tax_rate": self.rate,
            **dict.fromkeys(("discount_excl", "discount_incl"), self.discount),
            "": self.sku,
        }


def priced_line(
    r: FieldReader,
    keys: LineKeys,
    *,
    quantity: Decimal,
    price: Decimal,
    discount: Decimal,
    rate: Decimal,
    includes_vat: bool,
) -> OrderLine:
    """An :class:`OrderLine` of a unit ``price`` and the line's ``discount`` in total, both
    in one basis (``includes_vat``); the other basis follows from ``rate``. The SKU and
    description are read from ``keys``; the amounts are the caller's, since each vendor
    spells its discount its own way."""
    sku = r.text(keys.sku, required=True)
    excl, incl = both_bases(price, rate, includes_vat=includes_vat)
    d_excl, d_incl = both_bases(discount, rate, includes_vat=includes_vat)
    return r.build(
        lambda: OrderLine(
            sku=sku,
            description=r.text(keys.description),
            quantity=q4(quantity),
            unit_price_excl=q4(excl),
            unit_price_incl=q4(incl),
            tax_rate=rate,
            discount_excl=q4(d_excl),
            discount_incl=q4(d_incl),
        ),
        keys.names(),
    )

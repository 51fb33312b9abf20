"""Order lines of vendors that give one unit price and the line's discount in one VAT basis.

Exact Globe and Fortnox send a line's unit price before discount and its discount in the
order's basis (excl. VAT, or incl. where the order or VAT code says so); the canonical
:class:`OrderLine` wants both bases. The derivation, the rounding and the refusal of a
return line are the same for both, so they are here once; which fields hold the price,
the discount and the rate stays each connector's.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def priced_line(
    r: FieldReader,
    *,
    sku: str,
    description: str,
    quantity: Decimal,
    price: Decimal,
    discount: Decimal,
    rate: Decimal,
    includes_vat: bool,
    names: Mapping[str, str],
) -> OrderLine:
    """An :class:`OrderLine` of a unit ``price`` and the line's ``discount`` in total, both
    in one basis (``includes_vat``); the other basis follows from ``rate``. ``names``:
    canonical field -> vendor field, for a model error."""
    excl, incl = both_bases(price, rate, includes_vat=includes_vat)
    d_excl, d_incl = both_bases(discount, rate, includes_vat=includes_vat)
    return r.build(
        lambda: OrderLine(
            sku=sku,
            description=description,
            quantity=q4(quantity),
            unit_price_excl=q4(excl),
            unit_price_incl=q4(incl),
            tax_rate=rate,
            discount_excl=q4(d_excl),
            discount_incl=q4(d_incl),
        ),
        names,
    )

"""The pair's rules applied to every translated record, whatever the vendor.

Translators say what the vendor has and nothing more: an empty country stays empty, a line
keeps its SKU, article code and EAN apart. What a pair decides about such a record lives
here, once for every connector and flow, so a vendor's quirk never turns into a guess in
its translator:

- **item key**: the pair's ``item_key`` rule picks the key that identifies an item in the
  target (the same rule for orders, products and stock, so an order line always names an
  item the products flow would have created);
- **country**: a customer or address without one gets the pair's ``default_country``
  (counted, so the run reports how many it filled), else the record is quarantined naming
  the field;
- **totals**: lines + shipping + fees - discounts must equal the order's total within rounding,
  else the order is quarantined naming both amounts: nothing is booked at a wrong price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shopbridge.config import RecordRules
from shopbridge.errors import RecordError
from shopbridge.models import (
    Address,
    Customer,
    ItemKeys,
    Order,
    Product,
    StockLevel,
    resolve_item_key,
)

CENT = Decimal("0.01")


@dataclass
class Filled:
    """What the rules filled in on a batch, for the run's report."""

    countries_defaulted: int = 0


def _item_key(keys: ItemKeys, rules: RecordRules, entity: str, source_id: str, field: str) -> str:
    key = resolve_item_key(keys, rules.item_key)
    if not key:
        have = ", ".join(
            f"{n}={getattr(keys, n)!r}" for n in ("sku", "article_code", "ean") if getattr(keys, n)
        )
        raise RecordError(
            entity,
            source_id,
            field,
            f"none of the item keys {', '.join(rules.item_key)} is set"
            + (f" (the record has {have}; add it to item_key)" if have else ""),
        )
    return key


def _address(
    address: Address, rules: RecordRules, entity: str, source_id: str, field: str, filled: Filled
) -> Address:
    if address.country:
        return address
    if rules.default_country is None:
        raise RecordError(
            entity, source_id, field, "no country, and the pair sets no default_country"
        )
    filled.countries_defaulted += 1
    return address.model_copy(update={"country": rules.default_country})


def complete_customer(
    customer: Customer,
    rules: RecordRules,
    source_id: str,
    filled: Filled,
    *,
    entity: str = "customer",
    prefix: str = "",
) -> Customer:
    """The customer with the pair's country where the source had none."""
    billing = _address(
        customer.billing_address,
        rules,
        entity,
        source_id,
        f"{prefix}billing_address.country",
        filled,
    )
    if billing is customer.billing_address:
        return customer
    return customer.model_copy(update={"billing_address": billing})


def check_totals(order: Order, tolerance: Decimal) -> None:
    """Lines + shipping + fees - order discount must make the vendor's total, incl. and excl.
    tax, within ``tolerance`` plus half a cent per line (vendors round per line)."""
    allowed = tolerance + CENT / 2 * len(order.lines)
    for tax in ("incl", "excl"):
        lines = sum(
            (
                ln.quantity * getattr(ln, f"unit_price_{tax}") - getattr(ln, f"discount_{tax}")
                for ln in order.lines
            ),
            Decimal(0),
        )
        computed = (
            lines
            + getattr(order, f"shipping_cost_{tax}")
            + getattr(order, f"fee_{tax}")
            - getattr(order, f"discount_{tax}")
        )
        total: Decimal = getattr(order, f"total_{tax}")
        if abs(computed - total) > allowed:
            raise RecordError(
                "order",
                order.ref.id,
                f"total_{tax}",
                f"the order's total {total.quantize(CENT)} {tax}. tax differs from its lines "
                f"+ shipping + fees - discounts {computed.quantize(CENT)} (difference "
                f"{(total - computed).quantize(CENT)}): not booked, so no wrong amount lands",
            )


def complete_order(
    order: Order, rules: RecordRules, filled: Filled, *, tolerance: Decimal | None = Decimal("0.02")
) -> Order:
    """The order with the pair's item keys and countries; totals checked first."""
    if tolerance is not None:
        check_totals(order, tolerance)
    source_id = order.ref.id
    lines = tuple(
        ln.model_copy(update={"sku": _item_key(ln, rules, "order", source_id, f"lines[{i}].sku")})
        for i, ln in enumerate(order.lines)
    )
    customer = complete_customer(
        order.customer, rules, source_id, filled, entity="order", prefix="customer."
    )
    shipping = order.shipping_address
    if not shipping.country:
        # a parcel goes where the buyer lives when the shop recorded no other country
        shipping = shipping.model_copy(update={"country": customer.billing_address.country})
    return order.model_copy(
        update={"lines": lines, "customer": customer, "shipping_address": shipping}
    )


def complete_product(product: Product, rules: RecordRules) -> Product:
    """The product with every variant's item key resolved by the pair's rule; a simple
    product's own key is its variant's."""
    source_id = product.ref.id
    variants = tuple(
        v.model_copy(
            update={"sku": _item_key(v, rules, "product", source_id, f"variants[{i}].sku")}
        )
        for i, v in enumerate(product.variants)
    )
    if not product.configurable:
        sku = variants[0].sku
    else:
        sku = resolve_item_key(product, rules.item_key)
        if not sku:
            raise RecordError(
                "product", source_id, "sku", "a configurable product needs its own item key"
            )
    return product.model_copy(update={"variants": variants, "sku": sku})


def complete_stock(level: StockLevel, rules: RecordRules, source_id: str) -> StockLevel:
    return level.model_copy(update={"sku": _item_key(level, rules, "stock", source_id, "sku")})

"""Order preparation: one source record as the target will get it.

The settings that change what an order *is* before it is mapped (which statuses go,
discounts booked as line discounts or as lines, shipping costs as a line) live here, in
canonical terms, so they work for every pair; the mapping CLI calls :func:`prepare` too,
so what it shows is what a run sends.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopbridge.config import Discounts, OrderSettings, RecordRules, ShippingLine
from shopbridge.flows.records import Filled, complete_order
from shopbridge.mapping.engine import Mapper
from shopbridge.models import Order, OrderLine

CENT = Decimal("0.01")


def _cost_line(
    order: Order, line: ShippingLine, excl: Decimal, incl: Decimal, description: str
) -> Order:
    if excl == 0 and incl == 0:
        return order
    rate = (
        (incl / excl - 1).quantize(Decimal("0.01"))
        if excl
        else max(ln.tax_rate for ln in order.lines)
    )
    extra = OrderLine(
        sku=line.item_code,
        description=line.description or description,
        quantity=Decimal(1),
        unit_price_excl=excl,
        unit_price_incl=incl,
        tax_rate=rate,
    )
    return order.model_copy(update={"lines": (*order.lines, extra)})


def with_shipping_line(order: Order, line: ShippingLine) -> Order:
    """The order with its shipping costs as one more line on the configured article.

    Done on the canonical order, before mapping, so the article is checked like any other
    SKU and the target's totals reconcile with the source's (lines + shipping = total).
    """
    return _cost_line(
        order, line, order.shipping_cost_excl, order.shipping_cost_incl, order.shipping_method
    )


def with_fee_line(order: Order, line: ShippingLine) -> Order:
    """The order with its fees (payment costs, an administration fee) as one more line."""
    return _cost_line(order, line, order.fee_excl, order.fee_incl, "Fees")


def _spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` split by ``weights`` in cents; the rounding rest goes to the largest, so the
    parts add up to ``total`` exactly."""
    whole = sum(weights, Decimal(0))
    if not weights or whole == 0:
        return [Decimal(0)] * len(weights)
    parts = [(total * w / whole).quantize(CENT, ROUND_HALF_UP) for w in weights]
    parts[weights.index(max(weights))] += total - sum(parts, Decimal(0))
    return parts


def with_discounts(order: Order, discounts: Discounts) -> Order:
    """Book the order's discounts the way the setting says (see :class:`Discounts`).

    Either way the lines then carry every discount and the order-level one is zero, so the
    target's lines add up to the webshop's total to the cent.
    """
    lines = list(order.lines)
    if discounts.book_as == "line_discount":
        if order.discount_excl == 0 and order.discount_incl == 0:
            return order
        weights = [ln.net_excl for ln in lines]
        excl = _spread(order.discount_excl, weights)
        incl = _spread(order.discount_incl, weights)
        lines = [
            ln.model_copy(
                update={
                    "discount_excl": ln.discount_excl + e,
                    "discount_incl": ln.discount_incl + i,
                }
            )
            for ln, e, i in zip(lines, excl, incl, strict=True)
        ]
    else:
        item = discounts.item_code or ""
        extra = [
            OrderLine(
                sku=item,
                description=f"Discount {ln.sku}",
                quantity=Decimal(1),
                unit_price_excl=-ln.discount_excl,
                unit_price_incl=-ln.discount_incl,
                tax_rate=ln.tax_rate,
            )
            for ln in lines
            if ln.discount_excl
        ]
        lines = [
            ln.model_copy(update={"discount_excl": Decimal(0), "discount_incl": Decimal(0)})
            for ln in lines
        ]
        if order.discount_excl or order.discount_incl:
            rates = sorted({ln.tax_rate for ln in order.lines})
            weights = [
                sum((ln.net_excl for ln in order.lines if ln.tax_rate == r), Decimal(0))
                for r in rates
            ]
            excl = _spread(order.discount_excl, weights)
            incl = _spread(order.discount_incl, weights)
            extra += [
                OrderLine(
                    sku=item,
                    description="Order discount",
                    quantity=Decimal(1),
                    unit_price_excl=-e,
                    unit_price_incl=-i,
                    tax_rate=r,
                )
                for r, e, i in zip(rates, excl, incl, strict=True)
                if e or i
            ]
        lines += extra
    return order.model_copy(
        update={"lines": tuple(lines), "discount_excl": Decimal(0), "discount_incl": Decimal(0)}
    )


def _selected(order: Order, settings: OrderSettings) -> bool:
    if settings.statuses and order.status not in settings.statuses:
        return False
    return not (settings.payment_statuses and order.payment_status not in settings.payment_statuses)


def prepare(
    to_order: Callable[[dict[str, Any]], Order],
    record: dict[str, Any],
    settings: OrderSettings,
    mapper: Mapper | None = None,
    rules: RecordRules | None = None,
    filled: Filled | None = None,
) -> tuple[Order, dict[str, Any] | None] | None:
    """One record as the target will get it: translated, filtered, completed, mapped.

    ``None`` when the settings leave it out (its status); ``RecordError`` when it must be
    quarantined (its totals do not add up, it has no item key or country the pair can
    fill). The mapping CLI calls this too, so what it shows is what a run sends.
    """
    order = to_order(record)
    if not _selected(order, settings):
        return None
    order = complete_order(
        order, rules or RecordRules(), filled or Filled(), tolerance=settings.total_tolerance
    )
    order = with_discounts(order, settings.discounts)
    if settings.shipping_line is not None:
        order = with_shipping_line(order, settings.shipping_line)
    if settings.fee_line is not None:
        order = with_fee_line(order, settings.fee_line)
    return order, (mapper.map_order(order, record).as_dict() if mapper is not None else None)

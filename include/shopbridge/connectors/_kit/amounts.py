"""Rounding of amounts and quantities, and an amount in the VAT basis it was not given in.

A vendor gives a price either excl. or incl. VAT; the canonical models want both, to
four decimals. Every translator derives and rounds them the same way (half up, as an
invoice does), so that is done here once and two connectors never round one order
differently.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: the canonical models' precision for money and quantities
Q4 = Decimal("0.0001")
CENT = Decimal("0.01")


def q4(value: Decimal) -> Decimal:
    """Four decimals, half up: the canonical model's precision."""
    return value.quantize(Q4, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    """Two decimals, half up: what an invoice prints."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def both_bases(amount: Decimal, rate: Decimal, *, includes_vat: bool) -> tuple[Decimal, Decimal]:
    """``(excl., incl.)`` of ``amount`` given in one basis at VAT ``rate`` (0.21), unrounded:
    the caller rounds once, after any sums."""
    if includes_vat:
        return amount / (1 + rate), amount
    return amount, amount * (1 + rate)

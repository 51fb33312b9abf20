"""Source paths: checked against the canonical models at load time, ``None`` when absent."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from shopbridge.mapping.paths import check_path, resolve, split

SCOPE = {
    "order": {
        "number": "ORD1",
        "lines": [{"sku": "A", "quantity": Decimal("2")}],
        "shipping_address": {"city": "Gent"},
    },
    "line": {"sku": "A"},
    "source": {
        "memo": "gift",
        "customFields": [{"key": "po", "value": "PO-9"}],
        "addressBillingCountry": {"code": "nl"},
    },
}


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("order.number", "ORD1"),
        ("order.lines[0].quantity", Decimal("2")),
        ("order.shipping_address.city", "Gent"),
        ("line.sku", "A"),
        ("source.memo", "gift"),
        ("source.customFields[0].value", "PO-9"),
        ("source.addressBillingCountry.code", "nl"),
        ("source.nothing", None),
        ("source.memo.deeper", None),
        ("order.lines[5].sku", None),
        ("source.memo[0]", None),
    ],
)
def test_resolve(path: str, want: object) -> None:
    assert resolve(path, SCOPE) == want


@pytest.mark.parametrize(
    ("path", "allow_line"),
    [
        ("order.number", False),
        ("order.shipping_address.house_number_ext", False),
        ("order.customer.billing_address.country", False),
        ("order.lines[0].sku", False),
        ("order.ref.id", False),
        ("line.unit_price_excl", True),
        ("source.anything.at_all[3].x", False),
    ],
)
def test_good_paths(path: str, allow_line: bool) -> None:
    check_path(path, allow_line=allow_line)


@pytest.mark.parametrize(
    ("path", "allow_line", "message"),
    [
        ("order.numbr", False, "order has no field 'numbr'; known: ref, number"),
        ("order.shipping_address.town", False, "order.shipping_address has no field 'town'"),
        ("order.number.x", False, "order.number has no fields"),
        ("order.customer[0]", False, "order.customer is not a list"),
        ("order.lines[0].skuu", False, "order.lines[0] has no field 'skuu'"),
        ("line.sku", False, "only valid in lines rules"),
        ("line.price", True, "line has no field 'price'"),
        ("Webshop", False, "must start with one of order., line., product., variant., source."),
        ("variant.sku", True, "orders rules take order., line. or source. paths"),
        ("customer.email", False, "must start with one of"),
        ("order", False, "names no field"),
        ("order..number", False, "bad syntax"),
        ("source.memo[x]", False, "bad syntax"),
    ],
)
def test_bad_paths(path: str, allow_line: bool, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_path(path, allow_line=allow_line)


def test_split() -> None:
    assert split("order.lines[0].sku") == ("order", ("lines", 0, "sku"))


@pytest.mark.parametrize(
    ("path", "allow_line", "message"),
    [
        ("variant.sku", False, "only valid in lines rules"),
        ("order.number", False, "products rules take product., variant. or source. paths"),
        ("product.titel", False, "product has no field 'titel'"),
    ],
)
def test_bad_product_paths(path: str, allow_line: bool, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_path(path, allow_line=allow_line, entity="products")


def test_product_paths_reach_into_free_form_features() -> None:
    check_path("product.features.origin", allow_line=False, entity="products")
    check_path("variant.attributes.Colour", allow_line=True, entity="products")

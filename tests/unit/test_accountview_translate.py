"""AccountView's pure parts: positional rows, response quirks, translation (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from shopbridge.connectors.accountview._rows import build_table, encode, field_type, post_body
from shopbridge.connectors.accountview.client import (
    Filter,
    check,
    error_message,
    filter_params,
    rows_of,
)
from shopbridge.connectors.accountview.options import SourceOptions, TargetOptions
from shopbridge.connectors.accountview.translate import (
    contact_from_customer,
    fingerprint,
    invoice_lines,
    percent,
    product_from_article,
    stock_from_article,
)
from shopbridge.errors import AuthError, FatalError, RecordError, RetriableError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine

# -- positional rows -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ftype", "wire"),
    [
        ("19.95", "N", 19.95),
        (Decimal("2E+1"), "Y", 20.0),
        (3, "C", "3"),
        (Decimal("12.50"), "C", "12.50"),
        ("4", "I", 4),
        (True, "L", True),
        ("false", "L", False),
        (
            datetime(2026, 11, 17, 9, 30, tzinfo=timezone(timedelta(hours=1))),
            "T",
            "2026-11-17T08:30:00.000Z",
        ),
        ("2026-11-17T09:00:00+00:00", "T", "2026-11-17T09:00:00.000Z"),
        (date(2026, 11, 17), "D", "2026-11-17"),
        ("2026-11-17T23:30:00+00:00", "D", "2026-11-17"),
        (None, "N", None),
    ],
)
def test_encode(value, ftype, wire):
    assert encode(value, ftype) == wire


@pytest.mark.parametrize(
    ("value", "ftype"),
    [
        ("abc", "N"),
        ("1.5", "I"),
        ("maybe", "L"),
        ("yesterday", "T"),
        (True, "N"),
        ("NaN", "Y"),
    ],
)
def test_encode_refuses(value, ftype):
    with pytest.raises(ValueError, match=r"not|expected"):
        encode(value, ftype)


def test_field_types_known_overridden_inferred():
    assert field_type("SO_LINE", "ORD_QTY", "2") == "N"
    assert field_type("SO_LINE", "DISC_PCT", "2", {"SO_LINE.DISC_PCT": "Y"}) == "Y"
    assert field_type("SO_LINE", "CUSTOM", "2") == "C"
    assert field_type("SO_LINE", "CUSTOM", Decimal(2)) == "N"
    assert field_type("SO_LINE", "RowId", 1) == "C"


def test_build_table_declares_every_field_and_fills_gaps():
    table = build_table(
        "SO_LINE",
        [
            {"RowId": "1", "HeaderId": "1", "ART_CODE": "A", "ORD_QTY": "2"},
            {"HeaderId": "1", "RowId": "2", "ART_CODE": "B", "ART_PX": Decimal("1.50")},
        ],
    )
    assert table.fields == (
        ("RowId", "C"),
        ("HeaderId", "C"),
        ("ART_CODE", "C"),
        ("ORD_QTY", "N"),
        ("ART_PX", "N"),
    )
    assert table.rows == (("1", "1", "A", 2.0, None), ("2", "1", "B", None, 1.5))


def test_build_table_names_the_bad_value():
    with pytest.raises(ValueError, match=r"SO_LINE\[1\]\.ORD_QTY: not a number"):
        build_table("SO_LINE", [{"ORD_QTY": 1}, {"ORD_QTY": "lots"}])


def test_post_body_shape_matches_the_documented_example():
    header = build_table(
        "SO_HDR",
        [{"RowId": "1", "RPL_INV": "10001", "ORD_DATE": datetime(2024, 5, 1, 10, tzinfo=UTC)}],
    )
    line = build_table(
        "SO_LINE",
        [
            {
                "RowId": "2",
                "HeaderId": "1",
                "ART_CODE": "SKU-1",
                "ORD_QTY": 2,
                "ART_PX": Decimal("19.95"),
            }
        ],
    )
    body = post_body("SO1", header, [line], book_date=datetime(2024, 5, 1, 10, tzinfo=UTC))
    assert body == {
        "BusinessObject": "SO1",
        "BookDate": "2024-05-01T10:00:00.000Z",
        "Table": {
            "Definition": {
                "Name": "SO_HDR",
                "Fields": [
                    {"Name": "RowId", "FieldType": "C"},
                    {"Name": "RPL_INV", "FieldType": "C"},
                    {"Name": "ORD_DATE", "FieldType": "T"},
                ],
            },
            "DetailDefinitions": [
                {
                    "Name": "SO_LINE",
                    "Fields": [
                        {"Name": "RowId", "FieldType": "C"},
                        {"Name": "HeaderId", "FieldType": "C"},
                        {"Name": "ART_CODE", "FieldType": "C"},
                        {"Name": "ORD_QTY", "FieldType": "N"},
                        {"Name": "ART_PX", "FieldType": "N"},
                    ],
                }
            ],
        },
        "TableData": {
            "Data": {"Rows": [{"Values": ["1", "10001", "2024-05-01T10:00:00.000Z"]}]},
            "DetailData": [{"Rows": [{"Values": ["2", "1", "SKU-1", 2.0, 19.95]}]}],
        },
    }


# -- answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        ({"CONTACT": [{"SUB_NR": "1"}, {"SUB_NR": "2"}]}, [{"SUB_NR": "1"}, {"SUB_NR": "2"}]),
        (
            {"CONTACT": {"SUB_NR": "1  ", "acct_name": " Jansen BV "}},
            [{"SUB_NR": "1", "ACCT_NAME": "Jansen BV"}],
        ),
        ({"contact": []}, []),
        ({}, []),
        (None, []),
    ],
)
def test_rows_of(body, rows):
    assert rows_of(body, "CONTACT") == rows


@pytest.mark.parametrize("body", [[{"SUB_NR": "1"}], {"CONTACT": "x"}, {"CONTACT": [1]}])
def test_rows_of_refuses_other_shapes(body):
    with pytest.raises(FatalError):
        rows_of(body, "CONTACT")


def _resp(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        json=body,
        headers=headers,
        request=httpx.Request("GET", "https://av.test/api/v3/x?secret=1"),
    )


def test_error_message():
    # an ErrorType without a message is an error (the Go client's rule), no keys at all none
    assert (
        error_message({"ErrorType": "AccountViewError", "ErrorNumbers": None, "ErrorMessage": ""})
        == "AccountViewError (AccountView gave no message)"
    )
    assert error_message({"ErrorType": "", "ErrorNumbers": None, "ErrorMessage": ""}) is None
    assert error_message({"CONTACT": []}) is None
    assert (
        error_message({"ErrorType": "E", "ErrorNumbers": [12], "ErrorMessage": "bad"})
        == "E: bad (error [12])"
    )


def test_check_reads_error_message_in_every_status():
    err = {"ErrorType": "AccountViewError", "ErrorNumbers": [7], "ErrorMessage": "Nope"}
    with pytest.raises(FatalError, match=r"GET /api/v3/x -> 200 AccountViewError: Nope"):
        check(_resp(200, err))
    with pytest.raises(AuthError, match="403 AccountViewError: Nope"):
        check(_resp(403, err))
    with pytest.raises(RetriableError) as exc:
        check(_resp(429, err, {"Retry-After": "3"}))
    assert exc.value.retry_after == 3.0
    check(
        _resp(200, {"ErrorType": None, "ErrorNumbers": None, "ErrorMessage": None, "CONTACT": []})
    )


def test_filter_params_are_numbered():
    params = filter_params(
        [
            Filter("CNG_DATE", "DateOnOrAfterDate", "{^2026-11-16 01:00:00}", "T"),
            Filter("MAIL_BUS", "Equal", "a,b", is_list=True),
        ]
    )
    assert params == {
        "FilterControlSource1": "CNG_DATE",
        "FilterOperator1": "DateOnOrAfterDate",
        "FilterValueType1": "T",
        "FilterValue1": "{^2026-11-16 01:00:00}",
        "FilterIsListOfValues1": "false",
        "FilterControlSource2": "MAIL_BUS",
        "FilterOperator2": "Equal",
        "FilterValueType2": "C",
        "FilterValue2": "a,b",
        "FilterIsListOfValues2": "true",
    }


# -- translation -----------------------------------------------------------------------

ADDR = Address(
    street="Kerkstraat",
    house_number="12",
    house_number_ext="A",
    postcode="1012 AB",
    city="Amsterdam",
    country="NL",
)


def test_contact_and_fingerprint():
    company = Customer(
        kind=CustomerKind.COMPANY,
        email="Anna@Bakkerij.nl",
        first_name="Anna",
        last_name="de Vries",
        company_name="Bakkerij",
        vat_number="NL1B01",
        phone="+31",
        billing_address=ADDR,
    )
    row = contact_from_customer(company)
    assert row == {
        "ACCT_NAME": "Bakkerij",
        "MAIN_CONT": "Anna de Vries",
        "MAIL_BUS": "anna@bakkerij.nl",
        "TEL_BUS": "+31",
        "ADDRESS1": "Kerkstraat 12A",
        "POST_CODE": "1012 AB",
        "CITY": "Amsterdam",
        "CNT_CODE": "NL",
        "VAT_NR": "NL1B01",
    }
    padded = {k: f"{v}   " for k, v in row.items()} | {"MAIL_BUS": "ANNA@bakkerij.NL"}
    assert fingerprint(padded) == fingerprint(row)
    assert fingerprint({**row, "CITY": "Utrecht"}) != fingerprint(row)


@pytest.mark.parametrize(
    ("rate", "pct"), [("0.21", "21"), ("0.09", "9"), ("0", "0"), ("0.055", "5.5"), ("0.210", "21")]
)
def test_percent(rate, pct):
    assert percent(Decimal(rate)) == pct


def test_invoice_lines_amounts_codes_and_local_date():
    when = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)  # already the 17th in Amsterdam
    line = OrderLine(
        sku="A",
        quantity=Decimal(3),
        unit_price_excl=Decimal("10.005"),
        unit_price_incl=Decimal("12.1061"),
        tax_rate=Decimal("0.21"),
        discount_excl=Decimal("1"),
    )
    cust = Customer(
        kind=CustomerKind.PERSON, email="p@example.nl", first_name="P", billing_address=ADDR
    )
    o = Order(
        currency="EUR",
        ref=ExternalRef(system="x", id="1"),
        number="ORD1",
        status="paid",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=ADDR,
        lines=(line,),
        total_excl=Decimal("29.02"),
        total_incl=Decimal("35.11"),
    )
    [row] = invoice_lines(o, debtor_code="10001", reference="ORD1", options=TargetOptions())
    assert (row["AMOUNT"], row["VAT_AMT"], row["VAT_CODE"], row["ACCT_NR"]) == (
        Decimal("29.02"),
        Decimal("6.09"),
        "2",
        "8000",
    )
    assert (row["TRN_DATE"], row["TRN_DESC"], row["INV_NR"]) == (date(2026, 11, 17), "A", "ORD1")
    with pytest.raises(ValueError, match="no VAT code for 21%"):
        invoice_lines(o, debtor_code="1", reference="r", options=TargetOptions(vat_codes={}))


def article(**fields: object) -> dict[str, object]:
    row = {
        "ART_CODE": "MUG-BLA-1",
        "ART_DESC1": "Mug black",
        "PX_SELL": 7.5,
        "QTY_AVAIL": 12.0,
        "AG_CODE": "KITCHEN",
        "CNG_DATE": "2026-11-16T10:00:00",
        "BAR_CODE": "8700000000017",
        "VAT_CODE": "1",
    }
    return {"ARTICLE": {**row, **fields}, "ART_GRP": {"AG_CODE": "KITCHEN", "AG_DESC": "Kitchen"}}


def test_product_from_article():
    options = SourceOptions(ean_field="BAR_CODE", vat_code_field="VAT_CODE")
    p = product_from_article(article(), options)
    assert (p.sku, p.article_code, p.title, p.ean, p.tax_rate, p.currency) == (
        "",
        "MUG-BLA-1",
        "Mug black",
        "8700000000017",
        Decimal("0.09"),
        "EUR",
    )
    assert (p.variants[0].sku, p.variants[0].article_code) == ("", "MUG-BLA-1")
    [v] = p.variants
    assert (v.price_excl, v.price_incl, v.quantity) == (
        Decimal("7.5"),
        Decimal("8.175"),
        Decimal("12.0"),
    )
    assert p.updated_at == datetime(2026, 11, 16, 9, tzinfo=UTC)  # 10:00 Amsterdam
    assert [c.path for c in p.categories] == [("Kitchen",)]
    plain = product_from_article(article(), SourceOptions())
    assert (plain.ean, plain.tax_rate) == ("", Decimal("0.21"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ART_CODE": " "}, "ART_CODE"),
        ({"PX_SELL": None}, "PX_SELL"),
        ({"PX_SELL": ""}, "PX_SELL"),
        ({"CNG_DATE": "", "INP_DATE": ""}, "CNG_DATE"),
        ({"PX_SELL": True}, "PX_SELL"),
        ({"CNG_DATE": "gisteren"}, "CNG_DATE"),
        ({"PX_SELL": 10**12}, "PX_SELL"),
    ],
)
def test_product_errors_name_the_field(fields, field):
    with pytest.raises(RecordError) as exc:
        product_from_article(article(**fields), SourceOptions())
    assert exc.value.field == field


def test_stock_from_article():
    options = SourceOptions(reserved_field="QTY_RSV", stock_flag_field="STOCK_ART")
    level = stock_from_article(
        {"ART_CODE": "A", "QTY_AVAIL": 5, "QTY_RSV": 2, "STOCK_ART": True}, options
    )
    assert (level.on_hand, level.reserved, level.managed) == (5, 2, True)
    off = stock_from_article({"ART_CODE": "B", "STOCK_ART": False}, options)
    assert (off.on_hand, off.managed) == (0, False)
    with pytest.raises(RecordError) as exc:
        stock_from_article({"ART_CODE": "C", "QTY_AVAIL": 1, "QTY_RSV": -1}, options)
    assert exc.value.field == "QTY_RSV"
    # an empty or missing QTY_AVAIL reads as 0, as the public PHP integration reads it
    assert stock_from_article({"ART_CODE": "D", "QTY_AVAIL": ""}, SourceOptions()).on_hand == 0
    assert stock_from_article({"ART_CODE": "D"}, SourceOptions()).on_hand == 0
    assert (
        stock_from_article({"ART_CODE": "E", "QTY_AVAIL": "24.000"}, SourceOptions()).on_hand == 24
    )
    with pytest.raises(RecordError, match="QTY_AVAIL: not a number"):
        stock_from_article({"ART_CODE": "F", "QTY_AVAIL": "veel"}, SourceOptions())


def test_options_validate():
    with pytest.raises(ValidationError, match="VAT percentages"):
        TargetOptions(vat_codes={"high": "2"})
    with pytest.raises(ValidationError, match="UPPER_SNAKE"):
        SourceOptions(ean_field="bar code")
    assert TargetOptions(field_types={"so_line.disc_pct": "n"}).field_types == {
        "SO_LINE.DISC_PCT": "N"
    }
    assert TargetOptions(order_reference_field="ord_ref").order_reference_field == "ORD_REF"

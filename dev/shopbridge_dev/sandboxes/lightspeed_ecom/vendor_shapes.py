"""The keys a real Lightspeed eCom record carries besides the ones the sandbox seeds.

A real order carries ~100 keys, a variant ~45 (``tests/contracts/lightspeed_ecom``: the
vendor's documented examples and trimmed live responses). The sandbox seeds what the
demo's story needs; :func:`pad` adds every other recorded key with the value an untouched
record has, in the vendor's types: ``false`` for an empty relation or field
(``referralId``, ``birthDate``, ``addressShippingCompany``, ``brand``, ``image``), ``""``
for empty text, ``0`` for empty numbers, ``null`` where the vendor sends ``null``
(``shippingDate``, ``hs``), and ``{"resource": {"id": false, "url": ...}}`` references for
to-many relations. Seeded values always win; the drift test
(``tests/contracts/test_lightspeed_ecom_drift.py``) keeps this list honest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_COUNTRY_IDS = {"nl": 150, "be": 21, "de": 81, "fr": 73, "gb": 225, "us": 226, "ca": 38}


def _many(url: str) -> dict[str, Any]:
    return {"resource": {"id": False, "url": url}}


def _tax_rates(rate: Any, amount: Any = 0) -> list[dict[str, Any]]:
    return [{"name": "VAT", "rate": rate if isinstance(rate, int | float) else 0, "amount": amount}]


#: language code -> (id, title) as the API shows a language object [V]
_LANGUAGES = {
    "nl": (1, "Nederlands"),
    "en": (3, "English"),
    "de": (4, "Deutsch"),
    "fr": (5, "Français"),
    "us": (18, "English (US)"),
}


def _with_language_id(record: dict[str, Any]) -> None:
    language = record.get("language")
    if isinstance(language, dict) and "id" not in language:
        lid, title = _LANGUAGES.get(str(language.get("code", "")), (0, ""))
        record["language"] = {"id": lid, **language, "title": language.get("title", title)}


def _with_country_ids(record: dict[str, Any]) -> None:
    for key in ("addressBillingCountry", "addressShippingCountry", "country"):
        country = record.get(key)
        if isinstance(country, dict) and "id" not in country:
            code = str(country.get("code", "")).lower()
            record[key] = {"id": _COUNTRY_IDS.get(code, 0), **country}


def _person() -> dict[str, Any]:
    """Keys an order and a customer share (the customer's own fields)."""
    return {
        "referralId": False,
        "gender": "",
        "birthDate": False,
        "nationalId": "",
        "middlename": "",
        "mobile": "",
        "companyCoCNumber": "",
        "addressBillingStreet2": "",
        "addressShippingCompany": False,
        "addressShippingStreet2": "",
        "remoteIp": "",
        "userAgent": "",
    }


def _order(o: dict[str, Any]) -> dict[str, Any]:
    rid = o.get("id")
    ship_excl, ship_incl = o.get("shipmentPriceExcl", 0), o.get("shipmentPriceIncl", 0)
    return {
        **_person(),
        "channel": "main",
        "priceCost": 0,
        "weight": 0,
        "volume": 0,
        "colli": 0,
        "newsletterSubscribed": False,
        "addressBillingRegionData": {"id": 0, "name": "", "code": ""},
        "addressShippingRegionData": {"id": 0, "name": "", "code": ""},
        "paymentIsPost": False,
        "paymentIsInvoiceExternal": False,
        "paymentTaxRate": 0,
        "paymentTaxRates": _tax_rates(0),
        "paymentBasePriceExcl": 0,
        "paymentBasePriceIncl": 0,
        "paymentPriceExcl": 0,
        "paymentPriceIncl": 0,
        "paymentData": {"method": o.get("paymentId", "")},
        "shipmentIsCashOnDelivery": False,
        "shipmentIsPickup": False,
        "shipmentTaxRate": 0,
        "shipmentTaxRates": _tax_rates(0),
        "shipmentBasePriceExcl": ship_excl,
        "shipmentBasePriceIncl": ship_incl,
        "shipmentDiscountExcl": 0,
        "shipmentDiscountIncl": 0,
        "shipmentData": _shipment_data(o.get("shipmentId")),
        "shippingDate": None,
        "deliveryDate": None,
        "isDiscounted": bool(o.get("discountCouponCode")),
        "discountType": "amount",
        "discountAmount": 0,
        "discountPercentage": 0,
        "isNewCustomer": False,
        "allowNotifications": True,
        "doNotifyNew": False,
        "doNotifyReminder": False,
        "doNotifyCancelled": False,
        "invoices": _many(f"invoices?order={rid}"),
        "shipments": _many(f"shipments?order={rid}"),
        "metafields": _many(f"orders/{rid}/metafields"),
        "events": _many(f"orders/events?order={rid}"),
        "quote": False,
        "giftCardsPayment": [],
    }


def _shipment_data(shipment_id: Any) -> dict[str, Any]:
    """``shipmentData`` from ``shipmentId`` ``"core|85518|424529"`` [V]."""
    parts = str(shipment_id or "").split("|")
    ids = [int(p) if p.isdigit() else 0 for p in parts[1:3]] + [0, 0]
    return {"method": "default", "shipment_id": ids[0], "shipping_value_id": ids[1]}


def _order_product(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "supplierTitle": "",
        "brandTitle": "",
        "variantTitle": "",
        "taxRates": _tax_rates(line.get("taxRate", 0)),
        "quantityInvoiced": 0,
        "quantityShipped": 0,
        "quantityRefunded": 0,
        "quantityReturned": 0,
        "articleCode": "",
        "ean": "",
        "sku": "",
        "weight": 0,
        "volume": 0,
        "colli": 0,
        "sizeX": 0,
        "sizeY": 0,
        "sizeZ": 0,
        "priceCost": 0,
        "customExcl": 0,
        "customIncl": 0,
        "discountExcl": 0,
        "discountIncl": 0,
        "customFields": False,
    }


def _customer(c: dict[str, Any]) -> dict[str, Any]:
    rid = c.get("id")
    return {
        **_person(),
        "type": "registered",
        "lastOnlineAt": None,
        "isConfirmed": False,
        "remoteIp": False,
        "userAgent": False,
        "gender": False,
        "memo": "",
        "doNotifyRegistered": False,
        "doNotifyConfirmed": False,
        "doNotifyPassword": False,
        "groups": _many(f"groups/customers?customer={rid}"),
        "invoices": _many(f"invoices?customer={rid}"),
        "language": False,
        "orders": _many(f"orders?customer={rid}"),
        "reviews": _many(f"reviews?customer={rid}"),
        "shipments": _many(f"shipments?customer={rid}"),
        "tickets": _many(f"tickets?customer={rid}"),
        "metafields": _many(f"customers/{rid}/metafields"),
        "login": _many(f"customers/{rid}/login"),
    }


def _variant(v: dict[str, Any]) -> dict[str, Any]:
    rid = v.get("id")
    return {
        "isDefault": False,
        "sortOrder": 1,
        "articleCode": "",
        "ean": "",
        "sku": "",
        "hs": None,
        "unitPrice": 0,
        "unitUnit": "",
        "priceCost": 0,
        "oldPriceExcl": 0,
        "oldPriceIncl": 0,
        "stockTracking": "disabled",
        "stockLevel": 0,
        "stockAlert": 0,
        "stockMinimum": 0,
        "stockSold": 0,
        "stockBuyMininum": 1,
        "stockBuyMinimum": 1,
        "stockBuyMaximum": 10000,
        "weight": 0,
        "weightValue": "0.000",
        "weightUnit": "g",
        "volume": 0,
        "volumeValue": 0,
        "volumeUnit": "ml",
        "colli": 0,
        "sizeX": 0,
        "sizeY": 0,
        "sizeZ": 0,
        "sizeXValue": "0.000",
        "sizeYValue": "0.000",
        "sizeZValue": "0.000",
        "sizeUnit": "cm",
        "matrix": False,
        "taxType": None,
        "image": False,
        "tax": False,
        "movements": _many(f"variants/movements?variant={rid}"),
        "metafields": _many(f"variants/{rid}/metafields"),
        "additionalcost": False,
        "options": [],
    }


def _product(p: dict[str, Any]) -> dict[str, Any]:
    rid = p.get("id")
    return {
        "isVisible": True,
        "visibility": "visible",
        "hasMatrix": False,
        "data01": "",
        "data02": "",
        "data03": "",
        "url": "",
        "description": "",
        "content": "",
        "set": False,
        "brand": False,
        "deliverydate": False,
        "image": False,
        "relations": _many(f"products/{rid}/relations"),
        "metafields": _many(f"products/{rid}/metafields"),
        "reviews": _many(f"reviews?product={rid}"),
        "type": False,
        "supplier": False,
        "tags": _many(f"tags/products?product={rid}"),
        "movements": _many(f"variants/movements?product={rid}"),
        "templateDataFields": [],
    }


def _shipment(s: dict[str, Any]) -> dict[str, Any]:
    rid = s.get("id")
    return {
        "doNotifyShipped": False,
        "doNotifyReadyForPickup": False,
        "doNotifyTrackingCode": False,
        "totalWeight": 0,
        "totalSizeX": 0,
        "totalSizeY": 0,
        "totalSizeZ": 0,
        "customer": False,
        "metafields": _many(f"shipments/{rid}/metafields"),
        "events": _many(f"orders/events?shipment={rid}"),
    }


def _category(c: dict[str, Any]) -> dict[str, Any]:
    rid = c.get("id")
    parent = c.get("parent")
    resource = parent.get("resource") if isinstance(parent, dict) else None
    pid = resource.get("id") if isinstance(resource, dict) else None
    return {
        "isVisible": True,
        "depth": 1 if pid in (None, False) else 2,
        "path": [str(rid)] if pid in (None, False) else [str(rid), str(pid)],
        "type": "category",
        "sortOrder": 1,
        "sorting": "popular",
        "url": "",
        "fulltitle": c.get("title", ""),
        "description": "",
        "content": "",
        "image": False,
        "parent": False,
        "children": _many(f"categories?parent={rid}"),
        "products": _many(f"categories/products?category={rid}"),
    }


def _brand(b: dict[str, Any]) -> dict[str, Any]:
    rid = b.get("id")
    return {
        "url": "",
        "content": False,
        "image": False,
        "isVisible": True,
        "products": _many(f"products?brand={rid}"),
    }


def _normalised_brand(b: dict[str, Any]) -> dict[str, Any]:
    """A brand without text shows ``content: false`` [V, live], not ``""``."""
    return {**b, "content": False} if b.get("content") == "" else b


PADDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "orders": _order,
    "orderProducts": _order_product,
    "customers": _customer,
    "variants": _variant,
    "products": _product,
    "shipments": _shipment,
    "categories": _category,
    "brands": _brand,
}


def pad(resource: str, record: Any) -> Any:
    """``record`` with every recorded key of ``resource`` it lacks (a copy; the record's
    own values win). Other resources and non-objects are returned as they are."""
    padder = PADDERS.get(resource)
    if padder is None or not isinstance(record, dict):
        return record
    out = {**padder(record), **record}
    if resource == "brands":
        out = _normalised_brand(out)
    _with_country_ids(out)
    _with_language_id(out)
    return out

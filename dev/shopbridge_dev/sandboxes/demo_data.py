"""The demo shop's data, generated deterministically so both sandboxes agree on it.

One catalogue, one customer base and a week of orders, in plain canonical-ish dicts; each
sandbox's ``seed`` turns them into its vendor's shapes. The same ``seed`` string always
gives the same data, so a second demo run sees the same ids.

What the demo needs to show: companies and persons, repeat customers, several countries,
debtors that already exist in the ERP (some with stale details), and one order whose SKU
the ERP does not know. And what real accounts hold (:func:`as_real_accounts_hold_them`):
customers without an e-mail, without a country or without an address, and one order whose
total does not add up to its lines (a surcharge no line carries).

The catalogue (:attr:`DemoData.catalogue`) adds what a products flow needs on top of the
sellable SKUs: categories in a two-level tree, descriptions, brands, images, features,
variant options and stock. It is drawn from its own ``random.Random(f"{seed}:catalogue")``
so the order generation (and every id and SKU the orders use) is exactly as before. A
seed named in :data:`CATALOGUES` (``bench-products``) is a generated benchmark catalogue
without customers or orders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

#: The demo week: orders are created and updated inside ``[DEMO_START, DEMO_END)``.
DEMO_START = datetime(2026, 11, 16, tzinfo=UTC)
DEMO_END = DEMO_START + timedelta(days=7)
#: A SKU the webshop sells but the ERP has never heard of.
UNKNOWN_SKU = "DISC-0001"
#: Articles only the ERP has: what shipping costs and discounts are booked on.
ERP_ONLY_ITEMS = (
    {"sku": "VERZENDKOSTEN", "title": "Verzendkosten", "ean": "", "price_excl": Decimal("0")},
    {"sku": "KORTING", "title": "Korting", "ean": "", "price_excl": Decimal("0")},
)
#: A debtor the ERP has for "all webshop sales" (the default-debtor setting books on it).
DEFAULT_DEBTOR = {"code": "59999", "name": "Webshop verkopen", "country": "NL"}

_COUNTRIES = {
    "NL": (Decimal("0.21"), ["Amsterdam", "Utrecht", "Rotterdam", "Zwolle"], "1012 AB"),
    "BE": (Decimal("0.21"), ["Gent", "Antwerpen", "Leuven"], "9000"),
    "DE": (Decimal("0.19"), ["Berlin", "Köln", "Hamburg"], "10115"),
    "FR": (Decimal("0.20"), ["Lyon", "Paris", "Lille"], "69001"),
    "GB": (Decimal("0.20"), ["London", "Leeds"], "SW1A 1AA"),
}
_FIRST = [
    "Anna",
    "Bram",
    "Chloé",
    "Daan",
    "Emma",
    "Finn",
    "Greta",
    "Hugo",
    "Iris",
    "Jules",
    "Kees",
    "Lotte",
    "Milan",
    "Noor",
    "Oskar",
    "Pien",
    "Quinten",
    "Roos",
    "Sem",
    "Tess",
]
_LAST = [
    "de Vries",
    "Jansen",
    "Peeters",
    "Müller",
    "Dubois",
    "Smith",
    "Bakker",
    "Visser",
    "Janssens",
    "Schmidt",
    "Martin",
    "Meijer",
    "de Boer",
    "Mulder",
    "Claes",
]
_COMPANY = [
    "Fietsenmakerij",
    "Koffiebar",
    "Boekhandel",
    "Bloemist",
    "Studio",
    "Atelier",
    "Kapsalon",
    "Bakkerij",
    "Reclamebureau",
    "Installatiebedrijf",
]
_STREETS = [
    "Hoofdstraat",
    "Kerkstraat",
    "Dorpsstraat",
    "Rue de la Paix",
    "Bahnhofstraße",
    "High Street",
    "Stationsweg",
    "Molenweg",
]
_PRODUCTS = [
    "T-shirt",
    "Hoodie",
    "Mug",
    "Notebook",
    "Tote bag",
    "Cap",
    "Poster",
    "Sticker set",
    "Water bottle",
    "Socks",
    "Scarf",
    "Beanie",
    "Pen",
    "Keychain",
    "Umbrella",
]
_COLOURS = ["black", "white", "navy", "green"]


@dataclass(frozen=True)
class DemoData:
    products: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    #: Customers the ERP already holds before the first sync (some with stale details).
    existing_debtors: list[dict[str, Any]] = field(default_factory=list)
    #: One dict per product with its variants, categories, images, features and stock
    #: (see :func:`catalogue`); the webshop sandbox serves it.
    catalogue: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Profile:
    """The shape of a generated shop; the seed name picks one (``demo``, ``bench``)."""

    n_orders: int = 240
    n_customers: int = 120
    days: int = 7
    max_lines: int = 4
    #: share of orders placed by a customer who ordered before (None: the demo's pattern)
    repeat_share: float | None = None
    #: every ``existing_every``-th customer is already a debtor in the ERP (1: all)
    existing_every: int = 10


PROFILES = {
    "demo": Profile(),
    # the orders benchmark: one day of 2,000 orders, 30 % repeat customers, up to 10 SKUs,
    # every customer already known to the ERP
    "bench": Profile(
        n_orders=2000, n_customers=1400, days=1, max_lines=10, repeat_share=0.3, existing_every=1
    ),
    # the products benchmark: a catalogue only (see CATALOGUES), nobody to place orders
    "bench-products": Profile(n_orders=0, n_customers=0),
}

#: seed -> (products, variants per product) of a generated catalogue that replaces the
#: demo's: the products benchmark, 5,000 products of 3 variants each, spread over one day
CATALOGUES: dict[str, tuple[int, int]] = {"bench-products": (5000, 3)}


def generate(seed: str = "demo", *, n_orders: int | None = None) -> DemoData:
    """Build the shop for ``seed``: its profile (``demo`` unless the seed names another)."""
    profile = PROFILES.get(seed, PROFILES["demo"])
    if n_orders is not None and seed not in CATALOGUES:
        # a catalogue seed has no customers, so it has no orders whatever the caller asks
        profile = replace(profile, n_orders=n_orders)
    rnd = random.Random(seed)
    products = _products(rnd)
    customers = [_customer(rnd, i) for i in range(1, profile.n_customers + 1)]
    orders = _orders(rnd, products, customers, profile)
    existing = [
        {**c, "phone": "+31 20 000 0000"} if i % 2 and profile.existing_every > 1 else dict(c)
        for i, c in enumerate(customers[:: profile.existing_every])
    ]
    if seed in CATALOGUES:
        n_products, per_product = CATALOGUES[seed]
        shop = catalogue(n_products, per_product, seed)
    else:
        shop = demo_catalogue(products, seed)
    if seed not in PROFILES or seed == "demo":
        as_real_accounts_hold_them(customers, orders)
    return DemoData(
        products=products,
        customers=customers,
        orders=orders,
        existing_debtors=existing,
        catalogue=shop,
    )


#: customers (by index) as real accounts hold some: none of them is an existing ERP debtor
#: (every ``existing_every``-th is), so each is created by the first sync
NO_EMAIL = (4, 16)  # a walk-in or phone customer: known by its customer number
NO_COUNTRY = (8,)  # the pair's default_country is filled in, and reported
NO_ADDRESS = (12,)  # a name and an e-mail, nothing else
#: the order (by index) whose total is 1.00 above its lines + shipping - discounts: a
#: surcharge no line carries, so it is quarantined naming both amounts, never booked wrong
WRONG_TOTAL_AT = 121
WRONG_TOTAL_BY = Decimal("1.00")


def as_real_accounts_hold_them(
    customers: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> None:
    """Blank what real shops leave blank (in place, after the orders were drawn, so every
    id, SKU and price stays as before; the orders share these customer dicts)."""
    for i in NO_EMAIL:
        if i < len(customers):
            customers[i]["email"] = ""
    for i in NO_COUNTRY:
        if i < len(customers):
            customers[i]["country"] = ""
    for i in NO_ADDRESS:
        if i < len(customers):
            customers[i].update(street="", number="", extension="", zipcode="", city="")
    if len(orders) > WRONG_TOTAL_AT:
        orders[WRONG_TOTAL_AT]["total_off"] = WRONG_TOTAL_BY


def _products(rnd: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pid = 5000
    vid = 9000
    for name in _PRODUCTS:
        pid += 1
        price = Decimal(rnd.randrange(250, 6000)) / 100
        for colour in _COLOURS[: rnd.randint(1, 3)]:
            vid += 1
            out.append(
                {
                    "product_id": pid,
                    "variant_id": vid,
                    "title": f"{name} {colour}",
                    "sku": f"{name[:3].upper()}-{colour[:3].upper()}-{vid}",
                    "ean": f"87{vid:011d}",
                    "price_excl": price,
                }
            )
    vid += 1
    out.append(
        {
            "product_id": pid + 1,
            "variant_id": vid,
            "title": "Discontinued gadget",
            "sku": UNKNOWN_SKU,
            "ean": f"87{vid:011d}",
            "price_excl": Decimal("9.95"),
        }
    )
    return out


def _customer(rnd: random.Random, cid: int) -> dict[str, Any]:
    country = rnd.choice(list(_COUNTRIES))
    _, cities, postcode = _COUNTRIES[country]
    first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
    is_company = rnd.random() < 0.4
    company = f"{rnd.choice(_COMPANY)} {last}" if is_company else ""
    slug = f"{first}.{last}".lower().replace(" ", "").replace("é", "e").replace("ü", "u")
    return {
        "customer_id": 700 + cid,
        "email": f"{slug}.{cid}@example.{country.lower()}",
        "first_name": first,
        "last_name": last,
        "is_company": is_company,
        "company_name": company,
        "vat_number": f"{country}{rnd.randrange(10**8, 10**9)}B01" if is_company else "",
        "phone": f"+{rnd.randrange(30, 49)} {rnd.randrange(10**8, 10**9)}",
        "street": rnd.choice(_STREETS),
        "number": str(rnd.randint(1, 250)),
        "extension": rnd.choice(["", "", "", "A", "bis"]),
        "zipcode": postcode,
        "city": rnd.choice(cities),
        "country": country,
    }


def _pick_customer(
    rnd: random.Random,
    customers: list[dict[str, Any]],
    i: int,
    profile: Profile,
    used: list[dict[str, Any]],
) -> dict[str, Any]:
    if profile.repeat_share is None:
        # the first half of the customers buy again: repeat customers
        return (
            customers[i % len(customers)]
            if i < len(customers)
            else rnd.choice(customers[: len(customers) // 2])
        )
    if used and (rnd.random() < profile.repeat_share or len(used) == len(customers)):
        return rnd.choice(used)
    used.append(customers[len(used)])
    return used[-1]


def _orders(
    rnd: random.Random,
    products: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    profile: Profile,
) -> list[dict[str, Any]]:
    n = profile.n_orders
    sellable = [p for p in products if p["sku"] != UNKNOWN_SKU]
    unknown = next(p for p in products if p["sku"] == UNKNOWN_SKU)
    span = timedelta(days=profile.days).total_seconds() - 3600
    out: list[dict[str, Any]] = []
    used: list[dict[str, Any]] = []
    for i in range(n):
        cust = _pick_customer(rnd, customers, i, profile, used)
        rate = _COUNTRIES[cust["country"]][0]
        picks = rnd.sample(sellable, rnd.randint(1, min(profile.max_lines, len(sellable))))
        if i == n // 3:
            picks = [*picks[:1], unknown]
        created = DEMO_START + timedelta(seconds=span * i / n)
        lines = [
            {
                "product": p,
                "quantity": rnd.randint(1, 3),
                "tax_rate": rate,
                # every 4th order has 10 % off its first line
                "discount_share": Decimal("0.10") if i % 4 == 3 and k == 0 else Decimal(0),
            }
            for k, p in enumerate(picks)
        ]
        out.append(
            {
                "order_id": 30001 + i,
                "number": f"ORD{30001 + i:05d}",
                "customer": cust,
                "created_at": created,
                "updated_at": created + timedelta(minutes=rnd.randint(0, 50)),
                "status": rnd.choice(["processing_awaiting_shipment"] * 3 + ["completed_shipped"]),
                "payment_status": "paid",
                "lines": lines,
                "shipping_method": rnd.choice(["PostNL", "DHL", "Pick-up"]),
                "shipping_price_incl": Decimal("4.95"),
                "payment_method": rnd.choice(["iDEAL", "Bancontact", "Credit card"]),
                # every 6th order used a 10 % coupon on the whole order
                "coupon": ("WELKOM10", Decimal("0.10")) if i % 6 == 5 else None,
            }
        )
    return out


# --- catalogue -------------------------------------------------------------------------

#: the shop's category tree: root -> its subcategories (two levels)
CATEGORY_TREE: dict[str, tuple[str, ...]] = {
    "Clothing": ("Shirts", "Accessories"),
    "Home": ("Kitchen", "Decoration"),
    "Office": ("Stationery",),
    "Gifts": ("Small gifts",),
}
#: the T-shirt comes in sizes as well as colours; its existing variants are size M
_SIZES = ("S", "M", "L")
_TSHIRT_SIZED_FROM = 9901  # ids of the added T-shirt sizes: clear of the sellable variants
#: demo product name -> (its categories as (root, leaf), its brand; "" = no brand)
_INFO: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "T-shirt": ((("Clothing", "Shirts"),), "Noord Basics"),
    "Hoodie": ((("Clothing", "Shirts"),), "Noord Basics"),
    "Mug": ((("Home", "Kitchen"), ("Gifts", "Small gifts")), "Studio Klei"),
    "Notebook": ((("Office", "Stationery"),), "Papiermolen"),
    "Tote bag": ((("Clothing", "Accessories"),), "Noord Basics"),
    "Cap": ((("Clothing", "Accessories"),), "Noord Basics"),
    "Poster": ((("Home", "Decoration"),), ""),
    "Sticker set": ((("Office", "Stationery"), ("Gifts", "Small gifts")), ""),
    "Water bottle": ((("Home", "Kitchen"),), "Studio Klei"),
    "Socks": ((("Clothing", "Accessories"),), "Noord Basics"),
    "Scarf": ((("Clothing", "Accessories"),), "Wolwerk"),
    "Beanie": ((("Clothing", "Accessories"),), "Wolwerk"),
    "Pen": ((("Office", "Stationery"),), "Papiermolen"),
    "Keychain": ((("Clothing", "Accessories"), ("Gifts", "Small gifts")), ""),
    "Umbrella": ((("Clothing", "Accessories"),), ""),
    "Discontinued gadget": ((("Home", "Kitchen"),), ""),
}
_BRANDS = ["Noord Basics", "Studio Klei", "Papiermolen", "Wolwerk", ""]
_ORIGINS = ["PT", "NL", "DE", "TR", "IN"]
_DELIVERY = ["1-2 days", "2-3 days", "1 week"]
#: root category -> materials its products are made of
_MATERIALS = {
    "Clothing": ["organic cotton", "recycled polyester", "wool"],
    "Home": ["stoneware", "glass", "recycled plastic"],
    "Office": ["FSC paper", "bamboo"],
    "Gifts": ["recycled plastic"],
}


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _details(
    rnd: random.Random, name: str, root: str, n_images: int, next_image: int
) -> dict[str, Any]:
    """Descriptions, images and features of one product (the rest is the caller's)."""
    material = rnd.choice(_MATERIALS[root])
    slug = _slug(name)
    return {
        "short_description": f"{name} in {material}.",
        "description": (
            f"<p>Our {name.lower()} is made of {material}.</p>"
            f"<ul><li>Designed in Amsterdam</li><li>Ships in plastic-free "
            f"packaging</li></ul>"
        ),
        "images": [
            {
                "image_id": next_image + k,
                "filename": f"{slug}-{k + 1}.png",
                "title": name if k == 0 else f"{name} (detail)",
            }
            for k in range(n_images)
        ],
        "features": {
            "Country of origin": rnd.choice(_ORIGINS),
            "Delivery time": rnd.choice(_DELIVERY),
            "Material": material,
        },
    }


def demo_catalogue(products: list[dict[str, Any]], seed: str = "demo") -> list[dict[str, Any]]:
    """The demo's sellable products (from :func:`generate`) as catalogue entries.

    Every product and variant id, SKU, EAN and price is the order data's own; only the T-shirt
    gains variants (sizes S and L of each colour, ids from 9901) so one product shows two
    options. A product with one variant is simple (no attributes); with more it is
    configurable by colour. Products are updated one by one during the demo week; the
    discontinued gadget is hidden from the shop.
    """
    rnd = random.Random(f"{seed}:catalogue")
    created = DEMO_START - timedelta(days=90)
    out: list[dict[str, Any]] = []
    by_product: dict[int, list[dict[str, Any]]] = {}
    for p in products:
        by_product.setdefault(p["product_id"], []).append(p)
    next_image, next_sized = 1, _TSHIRT_SIZED_FROM
    for n, (pid, group) in enumerate(by_product.items()):
        unknown = group[0]["sku"] == UNKNOWN_SKU
        name = group[0]["title"] if unknown else group[0]["title"].rpartition(" ")[0]
        categories, brand = _INFO.get(name, ((("Home", "Decoration"),), ""))
        variants: list[dict[str, Any]] = []
        for v in group:
            colour = v["title"].rpartition(" ")[2]
            attributes = {} if len(group) == 1 else {"Colour": colour}
            if name == "T-shirt":
                attributes = {"Colour": colour, "Size": "M"}
            variants.append(
                {
                    "variant_id": v["variant_id"],
                    "sku": v["sku"],
                    "ean": v["ean"],
                    "price_excl": v["price_excl"],
                    "attributes": attributes,
                    "stock": rnd.randint(5, 60),
                    "tracked": name != "Poster",
                }
            )
        if name == "T-shirt":
            for v in group:
                colour = v["title"].rpartition(" ")[2]
                for size in (s for s in _SIZES if s != "M"):
                    variants.append(
                        {
                            "variant_id": next_sized,
                            "ean": f"87{next_sized:011d}",
                            "sku": f"T-S-{colour[:3].upper()}-{size}-{next_sized}",
                            "price_excl": v["price_excl"],
                            "stock": rnd.randint(5, 60),
                            "attributes": {"Colour": colour, "Size": size},
                            "tracked": True,
                        }
                    )
                    next_sized += 1
            order = {s: i for i, s in enumerate(_SIZES)}
            variants.sort(
                key=lambda v: (
                    v["attributes"]["Colour"] != "black",
                    v["attributes"]["Colour"],
                    order[v["attributes"]["Size"]],
                )
            )
        details = _details(rnd, name, categories[0][0], 1 + n % 2, next_image)
        next_image += len(details["images"])
        out.append(
            {
                "product_id": pid,
                "title": name,
                "brand": brand,
                "visible": not unknown,
                "categories": list(categories),
                "created_at": created,
                "updated_at": DEMO_START + timedelta(hours=1 + 5 * n),
                "variants": variants,
                **details,
            }
        )
    return out


def catalogue(
    n_products: int,
    variants_per_product: int,
    seed: str = "bench-products",
    *,
    images_per_product: int = 1,
) -> list[dict[str, Any]]:
    """A generated catalogue for benchmarks, in :func:`demo_catalogue`'s shape.

    Product ids start at 100001, variant ids at 1000001, SKUs are ``B{product}-{n}``.
    One variant per product gives simple products; up to four are colours, more are
    colour x size (at most 12). Products are updated evenly over the first demo day, so a
    one-day window reads them all; each has ``images_per_product`` images.
    """
    options: list[dict[str, str]] = [{"Colour": c} for c in _COLOURS]
    if variants_per_product > len(options):
        options = [{"Colour": c, "Size": s} for c in _COLOURS for s in _SIZES]
    if not 1 <= variants_per_product <= len(options):
        raise ValueError(
            f"variants_per_product must be 1..{len(options)}, got {variants_per_product}"
        )
    rnd = random.Random(f"{seed}:catalogue")
    leaves = [(root, leaf) for root, children in CATEGORY_TREE.items() for leaf in children]
    created = DEMO_START - timedelta(days=90)
    out: list[dict[str, Any]] = []
    next_image, vid = 1, 1_000_000
    for i in range(n_products):
        pid = 100_001 + i
        name = f"{_PRODUCTS[i % len(_PRODUCTS)]} {pid}"
        price = Decimal(rnd.randrange(250, 12000)) / 100
        variants = []
        for k in range(variants_per_product):
            vid += 1
            variants.append(
                {
                    "variant_id": vid,
                    "sku": f"B{pid}-{k + 1}",
                    "ean": f"20{vid:011d}",
                    "price_excl": price,
                    "stock": rnd.randint(0, 100),
                    "tracked": True,
                    "attributes": options[k] if variants_per_product > 1 else {},
                }
            )
        leaf = rnd.choice(leaves)
        details = _details(rnd, name, leaf[0], images_per_product, next_image)
        next_image += len(details["images"])
        out.append(
            {
                "product_id": pid,
                "title": name,
                "brand": rnd.choice(_BRANDS),
                "visible": True,
                "categories": [leaf],
                "created_at": created,
                "updated_at": DEMO_START + timedelta(seconds=86_400 * i / max(1, n_products)),
                "variants": variants,
                **details,
            }
        )
    return out

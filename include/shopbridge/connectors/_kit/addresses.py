"""Addresses kept on one street line (``"Kerkstraat 12A"``), read and written.

Several back offices (Exact Globe, Fortnox, AccountView, Lightspeed Retail) hold street,
house number and extension in one field where the canonical :class:`Address` keeps them
apart. Splitting and joining must agree for every connector, or a debtor written by one
and read back by another would change its address, so both live here.
"""

from __future__ import annotations

import re

from shopbridge.connectors._kit.fields import FieldReader
from shopbridge.models import Address

#: ``"Kerkstraat 12A"``, ``"Rue de la Paix 3 bis"``, ``"Hoofdweg 10-12"``
_NUMBER_LAST = re.compile(
    r"^(?P<street>.*?\D)\s*(?P<number>\d+)\s*(?P<ext>[^\s\d]\S{0,7}"
    r"|[-/]\d+\S{0,4})?$"
)
#: ``"12 High Street"``, ``"12a, Main Road"``
_NUMBER_FIRST = re.compile(r"^(?P<number>\d+)\s*(?P<ext>[A-Za-z]{0,3})[,\s]+(?P<street>\D.*)$")

#: a value read from a record and the vendor field it came from
Field = tuple[str, str]


def split_street(line: str) -> tuple[str, str, str]:
    """One address line -> (street, house number, extension).

    ``"Kerkstraat 12A"`` -> ``("Kerkstraat", "12", "A")``; ``"Rue de la Paix 3 bis"`` ->
    ``("Rue de la Paix", "3", "bis")``; ``"12 High Street"`` -> ``("High Street", "12",
    "")``; ``"Postbus"`` -> ``("Postbus", "", "")``.
    """
    text = " ".join(line.split())
    m = _NUMBER_LAST.match(text) or _NUMBER_FIRST.match(text)
    if m is None or not m["street"].strip(" ,"):
        return text, "", ""
    return m["street"].strip(" ,"), m["number"], (m["ext"] or "").strip()


def street_line(address: Address) -> str:
    """``street number+ext``: the one line :func:`split_street` reads back."""
    number = f"{address.house_number}{address.house_number_ext}"
    return " ".join(p for p in (address.street, number) if p)


def one_line_address(
    r: FieldReader, line: Field, postcode: Field, city: Field, country: Field
) -> Address:
    """An :class:`Address` of a record's one street line, postcode, city and country (any
    may be ``""``); a model error names the vendor field the part came from."""
    street, number, ext = split_street(line[0])
    names = {
        "street": line[1],
        "house_number": line[1],
        "house_number_ext": line[1],
        "postcode": postcode[1],
        "city": city[1],
        "country": country[1],
    }
    return r.build(
        lambda: Address(
            street=street,
            house_number=number,
            house_number_ext=ext,
            postcode=postcode[0],
            city=city[0],
            country=country[0],
        ),
        names,
    )

"""Exact Globe (Globe Next / Globe+, on-premise ERP) as an order, product and stock target
and as an order source (orders entered in the ERP go to the webshop).

Interface: the **REST Entity service** (OData v2 over Globe's entity services,
``http://{server}:{port}/services/Exact.Entity.REST.EG/{Entity}``), not the eExact XML
import. Why: a realtime sync needs per-record answers. The REST service gives a
synchronous result per request (the new DebtorCode, the OrderNumber, or a
``ValidationError`` naming the problem), lookups by ``$filter`` before writing (skip orders
already imported, find debtors by e-mail, check item codes) and MERGE updates. The eExact
XML import is a batch file import whose results are read afterwards under Other import ->
Results, so it cannot answer "does this exist" before a write, nor tie a failure to a
record while the run is still going.

Layout: ``client`` (HTTP, auth, OData helpers), ``translate`` (pure canonical -> Globe),
``from_globe`` (pure Globe sales order -> canonical), ``catalogue`` (items, categories,
images, stock: ``ProductTarget``/``StockTarget``), ``target`` (the ``OrderTarget``, built
on the catalogue: one object for every flow), ``source`` (the ``OrderSource``),
``sandbox`` (FastAPI fake) and ``hook`` (Airflow). This
package imports neither ``hook`` (Airflow) nor ``sandbox`` (FastAPI), so clients stay light.

[U] Entity field names beyond those in Exact's public examples are assumptions; each is
marked where it is built (``translate``) or read (``target``).
"""

from shopbridge.connectors.exact_globe._batch import ChangesetResult, Operation
from shopbridge.connectors.exact_globe.catalogue import ExactGlobeCatalogue, category_code
from shopbridge.connectors.exact_globe.client import (
    MAX_FILTER_VALUES,
    SERVICE_PATH,
    ExactGlobeClient,
    ExactGlobeSettings,
    any_of,
    make_auth,
    odata_quote,
)
from shopbridge.connectors.exact_globe.from_globe import order_from_globe
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.connectors.exact_globe.translate import (
    account_from_customer,
    contact_from_customer,
    order_header,
    order_lines,
    transaction_key,
)

__all__ = [
    "MAX_FILTER_VALUES",
    "SERVICE_PATH",
    "ChangesetResult",
    "ExactGlobeCatalogue",
    "ExactGlobeClient",
    "ExactGlobeSettings",
    "ExactGlobeSource",
    "ExactGlobeTarget",
    "Operation",
    "account_from_customer",
    "any_of",
    "category_code",
    "contact_from_customer",
    "make_auth",
    "odata_quote",
    "order_from_globe",
    "order_header",
    "order_lines",
    "transaction_key",
]

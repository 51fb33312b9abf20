"""One vendor response through a pair's flow, offline: what ``shopbridge mapping test`` runs.

A person debugging a mapping has what the vendor sent in whatever envelope it came: a GET
of one order (``{"order": …}``, Fortnox's ``{"Order": …}``), a list page (``{"orders":
[…]}``, ``{"Orders": […], "MetaInformation": …}``, CCV's ``{"href", …, "items": […]}``,
OData's ``{"d": {"results": […]}}``), or a bare webhook body. :func:`records_in` finds the
records in any of them; :func:`try_records` runs them through the source connector's own
translator and the run's validate-and-map step (:func:`shopbridge.runtime.map_batch`), so
what it shows is what a run would hand to lookup. The source gets a client that refuses
every request: nothing here reaches a vendor, the ledger or Airflow.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from shopbridge.config import IntegrationConfig
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import ConfigError

#: system -> its source connector class, as "module:Class" (every one takes its client
#: first; ``hook.get_source()`` builds them for a run)
SOURCES: dict[str, str] = {
    "lightspeed_ecom": "shopbridge.connectors.lightspeed_ecom.source:LightspeedEcomSource",
    "exact_globe": "shopbridge.connectors.exact_globe.source:ExactGlobeSource",
    "fortnox": "shopbridge.connectors.fortnox.source:FortnoxSource",
    "accountview": "shopbridge.connectors.accountview.source:AccountViewSource",
    "ccv_salespos": "shopbridge.connectors.ccv_salespos.source:CcvSalesposSource",
    "buckles": "shopbridge.connectors.buckles.source:BucklesSource",
}

#: keys of a paging envelope around a list (never a record's own only content)
_META = frozenset(
    {
        "MetaInformation",
        "@attributes",
        "href",
        "start",
        "size",
        "first",
        "previous",
        "next",
        "count",
        "links",
        "__next",
        "__count",
        "__metadata",
    }
)
#: an envelope holds few keys; a record (a Lightspeed order has ~100) holds many
_ENVELOPE_KEYS = 8


def records_in(data: Any) -> list[dict[str, Any]]:
    """The records of a vendor response, whatever its envelope (see the module doc)."""
    if isinstance(data, list):
        out: list[dict[str, Any]] = []
        for item in data:
            if not isinstance(item, dict):
                raise ConfigError(f"a list of records holds a {type(item).__name__}")
            out.append(item)
        return out
    if not isinstance(data, dict):
        raise ConfigError(f"not a vendor record: a JSON {type(data).__name__}")
    if len(data) <= _ENVELOPE_KEYS:
        inner = [k for k, v in data.items() if k not in _META and isinstance(v, dict | list)]
        scalars = [k for k, v in data.items() if k not in _META and k not in inner]
        if len(inner) == 1 and not scalars:
            return records_in(data[inner[0]])
        if len(inner) == 1 and inner[0] == "results":
            return records_in(data["results"])
    return [data]


class _Offline:
    """A client that refuses every request: mapping test reaches no vendor."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.counter = CallCounter()

    def __getattr__(self, name: str) -> Any:
        def refuse(*_: Any, **__: Any) -> Any:
            raise ConfigError(
                f"the {self.system} translator asked the vendor ({name}); "
                "mapping test makes no request (for Lightspeed eCom's shop "
                "currency pass --currency)"
            )

        return refuse

    def close(self) -> None:
        pass


def offline_source(system: str, *, currency: str | None = None) -> Any:
    """The system's source connector on a client that refuses every request."""
    if system not in SOURCES:
        raise ConfigError(
            f"{system} is no source of any flow; sources: {', '.join(sorted(SOURCES))}"
        )
    module, _, name = SOURCES[system].partition(":")
    cls = getattr(importlib.import_module(module), name)
    kwargs = (
        {"currency": currency}
        if currency and "currency" in inspect.signature(cls).parameters
        else {}
    )
    return cls(_Offline(system), **kwargs)


def translator_name(cfg: IntegrationConfig, flow: str) -> str:
    system = cfg.ends(flow)[0].system
    return f"{SOURCES[system].replace(':', '.')}.to_{cfg.kind(flow).removesuffix('s')}"


def try_records(
    cfg: IntegrationConfig, flow: str, records: list[dict[str, Any]], *, currency: str | None = None
) -> dict[str, Any]:
    """The run's validate-and-map step on ``records`` (see :func:`records_in`)."""
    from shopbridge.runtime import map_batch

    source = offline_source(cfg.ends(flow)[0].system, currency=currency)
    return map_batch(cfg, flow, source, records)

"""shopbridge's Airflow plugin: the webhook receiver, mounted in the api-server at
``/shopbridge`` (``POST /shopbridge/webhooks/<integration>/<system>``).

This file only wires Airflow into :mod:`shopbridge.receiver` (which holds the logic and
the reasons): a Connection's secret checks the vendor's signature, and an asset event on
the flow's inbox asset starts the flow's DAG. Plugin apps get no Airflow login; the
vendor's signature is the authentication.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from shopbridge.config import inbox_asset_name
from shopbridge.receiver import create_receiver

log = logging.getLogger("shopbridge.webhooks")

INTEGRATIONS = Path(os.environ.get("SHOPBRIDGE_INTEGRATIONS_DIR")
                    or Path(__file__).parents[1] / "include" / "integrations")


def _secret(conn_id: str) -> str:
    """The secret the vendor signs deliveries with: the Connection's password."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id).password or ""


def _announce(integration: str, flow: str, ids: list[str]) -> None:
    """One asset event on the flow's inbox asset; its extra lists the record ids."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    name = inbox_asset_name(integration, flow)
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.name == name).limit(1))
        if asset is None:
            log.warning("asset %s is not known yet (DAG not parsed?): %d records wait in the "
                        "inbox for the scheduled run", name, len(ids))
            return
        asset_manager.register_asset_change(
            asset=asset, session=session, source_is_api=True,
            extra={"record_ids": ids[:200], "records": len(ids)})


class ShopbridgePlugin(AirflowPlugin):
    name = "shopbridge"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [{
        "app": create_receiver(config_dir=INTEGRATIONS, secret_for=_secret,
                               announce=_announce),
        "url_prefix": "/shopbridge",
        "name": "shopbridge webhooks",
    }]

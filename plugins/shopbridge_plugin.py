"""shopbridge's Airflow plugin: the webhook receiver, mounted in the api-server at
``/shopbridge`` (``POST /shopbridge/webhooks/<integration>/<system>``).

This file only wires Airflow into :mod:`shopbridge.airflow.receiver` (which holds the logic and
the reasons): a Connection's secret checks the vendor's signature, and an asset event on
the flow's inbox asset starts the flow's DAG. Plugin apps get no Airflow login; the
vendor's signature is the authentication.

It also serves Operations → Activity (:mod:`shopbridge.airflow.activity_view`) at
``/shopbridge-activity/``, a nav entry in the UI, behind Airflow's own login.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import Request

from shopbridge.airflow.activity_view import DagFilter, create_activity_app
from shopbridge.airflow.receiver import create_receiver
from shopbridge.config import inbox_asset_name

log = logging.getLogger("shopbridge.webhooks")

INTEGRATIONS = Path(
    os.environ.get("SHOPBRIDGE_INTEGRATIONS_DIR")
    or Path(__file__).parents[1] / "include" / "integrations"
)


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
            log.warning(
                "asset %s is not known yet (DAG not parsed?): %d records wait in the "
                "inbox for the scheduled run",
                name,
                len(ids),
            )
            return
        asset_manager.register_asset_change(
            asset=asset,
            session=session,
            source_is_api=True,
            extra={"record_ids": ids[:200], "records": len(ids)},
        )


async def _readable(request: Request) -> DagFilter:
    """The activity view's login: Airflow's own ``get_user`` (the UI's session cookie or a
    Bearer JWT; 401/403 otherwise), then the auth manager decides which DAGs' runs show.

    Airflow is imported here, on the first request, not with the plugin: every Airflow
    process loads plugins, and only the api-server serves this page.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    user = await get_user(request, None, await bearer_scheme(request))
    manager = get_auth_manager()
    return lambda dag_ids: manager.filter_authorized_dag_ids(dag_ids=dag_ids, user=user)


def _login_url(next_url: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url)


class ShopbridgePlugin(AirflowPlugin):
    name = "shopbridge"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {
            "app": create_receiver(config_dir=INTEGRATIONS, secret_for=_secret, announce=_announce),
            "url_prefix": "/shopbridge",
            "name": "shopbridge webhooks",
        },
        {
            # its own prefix: a mount at /shopbridge/activity would depend on list order
            "app": create_activity_app(readable=_readable, login_url=_login_url),
            "url_prefix": "/shopbridge-activity",
            "name": "shopbridge activity",
        },
    ]
    # the UI shows it as a nav entry, the page in an iframe at /plugin/shopbridge-activity
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Activity",
            "href": "/shopbridge-activity/",
            "url_route": "shopbridge-activity",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]

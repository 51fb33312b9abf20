"""The one exception tree every client, translator and flow raises from.

Why one tree: the task wrapper decides "retry, fail, or quarantine" from the class
alone, so no vendor's ``httpx.HTTPStatusError`` or bare ``Exception`` may leave a client.

    ShopbridgeError
    ├─ ConfigError            bad YAML / connection: fix the config, never retry
    └─ SyncError
       ├─ RetriableError      transport error, 429, 5xx          (.response, .retry_after)
       ├─ FatalError          other 4xx, contract breach         (.response)
       │  └─ AuthError        401/403: wrong credentials or missing rights
       └─ RecordError         one record is bad: quarantine it   (.entity, .source_id, .field)
"""

from __future__ import annotations

import httpx


class ShopbridgeError(Exception):
    """Root of everything shopbridge raises on purpose."""


class ConfigError(ShopbridgeError):
    """A setting, YAML file or Airflow Connection is wrong; retrying cannot help."""


class SyncError(ShopbridgeError):
    """Something went wrong while talking to a system or handling a record."""


class RetriableError(SyncError):
    """Transient: a timeout, a dropped connection, a 429 or a 5xx. Safe to try again later."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.retry_after = retry_after


class FatalError(SyncError):
    """The vendor refused the request for a reason a retry will not change (400/404/409/422)."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class AuthError(FatalError):
    """Credentials are wrong or lack rights: the message says which connection to fix."""


#: the longest reason and record id a quarantine keeps: a reason quotes the bad value, and a
#: vendor field can hold megabytes (or someone's whole address)
MAX_REASON = 500
MAX_ID = 200


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 21]}… ({len(text)} chars)"


class RecordError(SyncError):
    """One record cannot be synced; it is quarantined with this reason, its batch goes on."""

    def __init__(self, entity: str, source_id: str, field: str, reason: str) -> None:
        # a record whose id itself is missing still gets a quarantine row a person can find
        source_id = _clip(str(source_id).strip() or "(no id)", MAX_ID)
        reason = _clip(str(reason), MAX_REASON)
        super().__init__(f"{entity} {source_id}: {field}: {reason}")
        self.entity = entity
        self.source_id = source_id
        self.field = field
        self.reason = reason


class PaginationLoop(FatalError):
    """The vendor sent the same page twice; following it would never end."""


def refused(vendor: str, err: FatalError, what: str) -> FatalError:
    """``err`` again, same class (an ``AuthError`` stays one), its message saying that
    ``vendor`` refused ``what``: the record a person must look at."""
    return type(err)(f"{vendor} refused {what}: {err}", response=err.response)

"""What every vendor's settings model shares.

A Connection's settings are validated once, before any request, and then never change:
every model is frozen and refuses a key it does not know (a misspelt ``extra`` key fails
loudly instead of falling back to a default). The vendors whose app authorises with a
rotating refresh token hold the same three credentials (:class:`AppCredentials`), and
the vendors whose server speaks local wall time name its IANA zone (:data:`ZoneName`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from shopbridge.connectors._kit.fields import time_zone


def _zone_name(value: str) -> str:
    time_zone(value)
    return value


#: an IANA time zone name (``Europe/Amsterdam``), checked when the settings are read
ZoneName = Annotated[str, AfterValidator(_zone_name)]


class VendorSettings(BaseModel):
    """Frozen, and no keys but the declared ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AppCredentials(VendorSettings):
    """The OAuth app's client id and secret, and the refresh token it was authorised with
    (it only seeds the shared token store: the store holds the rotated ones)."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr

    @field_validator("client_secret", "refresh_token")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

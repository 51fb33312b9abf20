"""The Airflow hook every connector's hook is: Connection in, settings validated, client,
source and target out, and one cheap call for the UI's "Test" button (STYLE R9).

Why one base: what a vendor's hook decides is small (which settings model the Connection
fills, how its client, source and target are built, which call proves the credentials).
Everything else was the same in seven hooks and drifted apart in the details: which
missing field is named how, whether an unknown ``extra`` key is refused, how an
unreachable host reads. Here it is decided once:

* the Connection's shape is a :class:`~shopbridge.connectors.forms.ConnectionForm` on the
  hook class (:attr:`VendorHook.form`); the UI's labels
  (``get_ui_field_behaviour``), the setup wizard's questions and the "is empty" / "is
  required" checks all read it, so they cannot disagree;
* every refusal is a :class:`~shopbridge.errors.ConfigError` naming the Connection id and
  the form field to fix (``host``, ``login``, ``extra.page_size``), never a settings
  model's internal name (``base_url``);
* ``test_connection`` builds a client without retries, lets the hook make one call, and
  turns the outcome into a message that names the system and what to check.

A subclass names its settings model and client as type arguments, sets ``conn_type`` and
``credentials_into``, and implements :meth:`VendorHook.probe`, plus
:meth:`VendorHook.source` and/or :meth:`VendorHook.target` for the roles the system plays;
it overrides :meth:`VendorHook.settings_from` or :meth:`VendorHook.client` only for more
than the model and ``from_settings`` do. Only the hooks import
Airflow (STYLE R1).
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Protocol,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
)

from airflow.sdk import BaseHook
from pydantic import BaseModel, SecretStr, ValidationError

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, Endpoint
from shopbridge.connectors.forms import CONNECTION_FORMS, ConnectionForm
from shopbridge.errors import AuthError, ConfigError, RetriableError, ShopbridgeError

if TYPE_CHECKING:
    from airflow.sdk import Connection

M = TypeVar("M", bound=BaseModel)


class Addressed(Protocol):
    """Settings that know the address they reach (for "cannot reach X at ...")."""

    @property
    def base_url(self) -> str:
        """The API's address, scheme included."""
        ...


class Closable(Protocol):
    """A client: whatever else it does, a hook closes it after a probe."""

    def close(self) -> None:
        """Release the connection pool."""
        ...


SettingsT = TypeVar("SettingsT", bound=Addressed)
ClientT = TypeVar("ClientT", bound=Closable)
#: covariant: every hook is a ``VendorHook[Any, Any, Endpoint, Endpoint]`` (:data:`AnyHook`)
SourceT = TypeVar("SourceT", bound=Endpoint, covariant=True)
TargetT = TypeVar("TargetT", bound=Endpoint, covariant=True)


def base_url(conn: Connection, *, default_scheme: str = "https") -> str:
    """``host`` may carry its scheme (``http://127.0.0.1``) or take it from ``schema``."""
    host = (conn.host or "").rstrip("/")
    if not host:
        return ""
    if "://" not in host:
        host = f"{conn.schema or default_scheme}://{host}"
    if conn.port:
        host = f"{host}:{conn.port}"
    return host


def _wants_text(annotation: Any) -> bool:
    """Whether a settings field holds text (``str``, ``SecretStr``, either or ``None``)."""
    if annotation in (str, SecretStr):
        return True
    parts = get_args(annotation)
    if getattr(annotation, "__origin__", None) is Union or isinstance(annotation, types.UnionType):
        return bool(parts) and all(p in (str, SecretStr, type(None)) for p in parts)
    return False


class ProbeFailed(ShopbridgeError):
    """A probe's own verdict (a company the user may not open, missing rights): its
    message is the whole answer of ``test_connection``."""


class VendorHook(BaseHook, Generic[SettingsT, ClientT, SourceT, TargetT]):
    """The base of every connector's Airflow hook.

    Subclasses set ``conn_type`` (the names Airflow's provider registry reads and the
    :attr:`form` follow from it) and ``default_host`` when the vendor has one. The
    Connection id is taken positionally or the Airflow way (``fortnox_conn_id=...``), so
    ``Connection.get_hook()`` builds these hooks too.
    """

    #: the system (``fortnox``); the Connection id's attribute (``fortnox_conn_id``), the
    #: default Connection id (``shopbridge_fortnox``), the :attr:`form` and ``hook_name``
    #: (the form's ``name``) follow from it
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    form: ClassVar[ConnectionForm]
    #: the vendor's own API address, used when ``host`` is empty ("": ``host`` is required)
    default_host: ClassVar[str] = ""
    #: ``login`` / ``password`` -> the settings field it fills (``"client_id"``)
    credentials_into: ClassVar[Mapping[str, str]] = {}
    #: the type arguments (set per subclass by ``__init_subclass__``)
    _settings_type: ClassVar[Any]
    _client_type: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """One convention for every system's names, so no hook spells them differently;
        the settings model and client class are the ones the subclass names as its type
        arguments (``VendorHook[FortnoxSettings, FortnoxClient, ...]``), so the default
        factories build exactly the declared types."""
        super().__init_subclass__(**kwargs)
        if system := cls.__dict__.get("conn_type"):
            cls.conn_name_attr = f"{system}_conn_id"
            cls.default_conn_name = f"shopbridge_{system}"
            cls.form = CONNECTION_FORMS[system]
            cls.hook_name = cls.form.name
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is VendorHook:
                cls._settings_type, cls._client_type = get_args(base)[:2]

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        named = kwargs.pop(self.conn_name_attr, None)
        super().__init__(**kwargs)
        self.conn_id: str = conn_id or named or self.default_conn_name
        setattr(self, self.conn_name_attr, self.conn_id)  # Airflow's name for it
        self.policy = policy or RetryPolicy()
        self.counter = counter

    # --- what a vendor's hook decides -------------------------------------------------

    def settings_from(self, conn: Connection) -> SettingsT:
        """The vendor's settings from ``conn``: its settings model, validated with
        ``login`` / ``password`` going into the fields :attr:`credentials_into` names."""
        return cast(
            "SettingsT", self.validate(self._settings_type, conn, into=self.credentials_into)
        )

    def client(self, settings: SettingsT, **kwargs: Any) -> ClientT:
        """The vendor's client for ``settings`` (its ``from_settings``); ``kwargs``
        (``http=``, ``policy=``, ...) go to it."""
        return cast("ClientT", self._client_type.from_settings(settings, **kwargs))

    def probe(self, client: ClientT, settings: SettingsT) -> str:
        """One cheap call that proves the credentials; what it found ("OK, 12 orders").
        Raise :class:`ProbeFailed` for a verdict of its own; any other error is worded by
        :meth:`test_connection`."""
        raise NotImplementedError

    def source(self, settings: SettingsT, client: ClientT) -> SourceT:
        """The one source every flow reading from this system gets."""
        raise ConfigError(
            f"connection {self.conn_id!r}: {self.name} can only be a target in shopbridge"
        )

    def target(self, settings: SettingsT, client: ClientT) -> TargetT:
        """The one target every flow writing to this system gets."""
        raise ConfigError(
            f"connection {self.conn_id!r}: {self.name} can only be a source in shopbridge"
        )

    # --- what the runtime, the wizard and the UI call ---------------------------------

    @property
    def name(self) -> str:
        """The system's name in messages."""
        return self.form.vendor or self.form.name

    def get_settings(self) -> SettingsT:
        """The validated settings of this hook's Connection."""
        return self.settings_from(self.get_connection(self.conn_id))

    def get_client(self, **kwargs: Any) -> ClientT:
        """A client for this Connection; ``kwargs`` (``http=``, ...) go to the client."""
        return self._client(self.get_settings(), **kwargs)

    def get_source(self, **kwargs: Any) -> SourceT:
        """The source for this Connection; ``kwargs`` go to its client."""
        settings = self.get_settings()
        return self.source(settings, self._client(settings, **kwargs))

    def get_target(self, **kwargs: Any) -> TargetT:
        """The target for this Connection; ``kwargs`` go to its client."""
        settings = self.get_settings()
        return self.target(settings, self._client(settings, **kwargs))

    def _client(self, settings: SettingsT, **kwargs: Any) -> ClientT:
        kwargs.setdefault("policy", self.policy)
        if self.counter is not None:
            kwargs.setdefault("counter", self.counter)
        return self.client(settings, **kwargs)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow's Connection form in the vendor's terms, from :attr:`form`."""
        form = cls.form
        unused = [n for n in ("login", "password") if n not in form.credentials]
        return {
            "hidden_fields": [*form.hidden, *unused],
            "relabeling": form.labels(),
            "placeholders": {
                "host": cls.default_host or form.host_hint,
                "extra": json.dumps(dict(form.example)),
            },
        }

    def test_connection(self) -> tuple[bool, str]:
        """The hook's probe, without retries; the message names the Connection, the system
        and what to fix. Airflow's "Test" button and ``shopbridge init`` run it."""
        try:
            settings = self.get_settings()
            client = self.get_client(policy=RetryPolicy(attempts=1))
        except ConfigError as exc:
            return False, str(exc)
        try:
            return True, f"connection {self.conn_id!r}: {self.probe(client, settings)}"
        except ProbeFailed as exc:
            return False, str(exc)
        except AuthError as exc:
            return False, self.refused(exc)
        except RetriableError as exc:
            if exc.response is None:
                return False, (
                    f"cannot reach {self.name} at {settings.base_url} (connection "
                    f"{self.conn_id!r}: check its host and this worker's DNS, proxy and "
                    f"outbound HTTPS): {exc}"
                )
            return False, (
                f"{self.name} at {settings.base_url} is unavailable, try again later: {exc}"
            )
        except ShopbridgeError as exc:
            return False, self.rejected(exc, settings)
        finally:
            client.close()

    def refused(self, exc: AuthError) -> str:
        """The message for a 401/403 to the probe."""
        check = [f"{field} = {words}" for field, words in self.form.credentials.items()]
        also = f", and {self.form.also_check}" if self.form.also_check else ""
        return (
            f"{self.name} refused {self.form.refused} of connection {self.conn_id!r} "
            f"(check {', '.join(check)}{also}): {exc}"
        )

    def rejected(self, exc: ShopbridgeError, settings: SettingsT) -> str:
        """The message for any other refusal of the probe (a 4xx, an unexpected answer)."""
        return f"connection {self.conn_id!r}: {exc}"

    # --- the Connection read one way for every vendor ---------------------------------

    def validate(
        self,
        model: type[M],
        conn: Connection,
        *,
        into: Mapping[str, str],
        also: Iterable[type[BaseModel]] = (),
    ) -> M:
        """``model`` from the Connection: ``host`` as ``base_url``, ``login`` and
        ``password`` into the fields ``into`` names, and ``extra``'s keys that ``model``
        has.

        Checked first, in the order a person fills the form: the address, the login and
        password the :attr:`form` uses, the required ``extra`` keys, and ``extra`` keys
        that no model takes (``also``: other models the caller builds from the same
        ``extra`` with :meth:`options`). A JSON number where a field holds text is read
        as its text (``"database_name": 600``, ``"account_id": 83050``).
        """
        cid, form = self.conn_id, self.form
        url = base_url(conn, default_scheme=form.default_scheme) or self.default_host
        if not url:
            raise ConfigError(
                f"connection {cid!r}: host is required ({form.host_hint or form.host})"
            )
        for name, label in form.credentials.items():
            if not str(getattr(conn, name, None) or "").strip():
                raise ConfigError(f"connection {cid!r}: {name} ({label}) is empty")
        extra = self.extra_of(conn)
        for key, what in form.required.items():
            if not str(extra.get(key) or "").strip():
                raise ConfigError(
                    f"connection {cid!r}: extra.{key} is required" + (f" ({what})" if what else "")
                )
        filled = {"base_url": url, **{into[n]: getattr(conn, n) or "" for n in into}}
        known = (set(model.model_fields) - set(filled)).union(*(m.model_fields for m in also))
        if unknown := sorted(set(extra) - known):
            raise ConfigError(
                f"connection {cid!r}: extra.{unknown[0]}: unknown setting; "
                f"known: {', '.join(sorted(known))}"
            )
        names = {"base_url": "host", **{field: name for name, field in into.items()}}
        return self._build(model, {**self._picked(model, extra), **filled}, names)

    def options(self, model: type[M], conn: Connection) -> M:
        """``model`` from the ``extra`` keys it has (settings kept apart from the client's,
        such as a target's options); checked by :meth:`validate` with ``also=``."""
        return self._build(model, self._picked(model, self.extra_of(conn)), {})

    def extra_of(self, conn: Connection) -> dict[str, Any]:
        """The Connection's ``extra``; refused unless a JSON object."""
        extra = conn.extra_dejson or {}
        if not isinstance(extra, dict):
            raise ConfigError(f"connection {self.conn_id!r}: extra must be a JSON object")
        return extra

    @staticmethod
    def _picked(model: type[BaseModel], extra: Mapping[str, Any]) -> dict[str, Any]:
        fields = model.model_fields
        return {
            k: str(v)
            if _wants_text(fields[k].annotation)
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            else v
            for k, v in extra.items()
            if k in fields
        }

    def _build(self, model: type[M], data: dict[str, Any], names: Mapping[str, str]) -> M:
        """``model(**data)``; every refusal names the form field (``host``, ``extra.x``)."""
        try:
            return model(**data)
        except ValidationError as exc:

            def where(loc: tuple[int | str, ...]) -> str:
                if loc and loc[0] in names:
                    return names[str(loc[0])]
                return "extra." + ".".join(map(str, loc)) if loc else "extra"

            raise ConfigError(
                "\n".join(
                    f"connection {self.conn_id!r}: {where(e['loc'])}: "
                    + e["msg"].removeprefix("Value error, ")
                    for e in exc.errors()
                )
            ) from None


#: any system's hook, as the registry hands it out: the settings and client are the
#: vendor's own, the source and target whatever serves the flow
AnyHook = VendorHook[Any, Any, Endpoint, Endpoint]

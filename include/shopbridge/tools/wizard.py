"""``shopbridge init``: set up one pair, asking (or taking flags) for what it needs.

Steps: which pair and which of its flows; each system's credentials; a test of each
connection with the hook's own ``test_connection`` (what the UI's "Test" button runs); the
credentials stored as Airflow Connections in ``$AIRFLOW_HOME``'s metadata database; then
the pair's YAML written with the product page's defaults and validated by the loader the
DAGs use. Credentials never reach the YAML: it names connection ids only.

Decisions:

* The fields asked per system are derived, not listed here: from the form each hook
  class carries (:data:`shopbridge.connectors.forms.CONNECTION_FORMS`: login, password and
  the ``extra`` keys a connector reads, which of them are required, each in the vendor's
  own words: "API key", "client secret"; a sandbox's Connection differs from a real
  account's only in values). The hook checks a Connection against the same form and
  Airflow's Connection form shows it, so the three cannot disagree. A new connector gets
  a wizard for free.
* Connections are tested *before* anything is stored (through a process-local
  ``AIRFLOW_CONN_<ID>``): a refused credential leaves neither a Connection nor a YAML behind,
  and the message names the system.
* The defaults are the shipped ``include/integrations/<pair>.yaml`` (each written after its
  product page). The chosen flows are kept by dropping the other flows' blocks from that
  text, so its comments (what every setting means) stay; the result must parse to exactly
  the intended data, else it is written as plain YAML instead.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shopbridge.config import load_integration, parse_integration
from shopbridge.connectors.forms import CONNECTION_FORMS
from shopbridge.connectors.registry import hook_for
from shopbridge.errors import ConfigError, ShopbridgeError

ROLES = ("source", "target")


class WizardError(ShopbridgeError):
    """The setup cannot go on; the message says what to fix (and names the system)."""


@dataclass(frozen=True)
class Field:
    """One value a system's Connection needs."""

    #: ``url``, ``login``, ``password`` or a key of the Connection's ``extra``
    name: str
    label: str
    secret: bool
    required: bool
    #: the JSON type the connector reads (``extra`` values may be numbers or objects)
    kind: type

    def flag(self, role: str) -> str:
        return f"--{role}-{self.name.replace('_', '-')}"


def fields_for(system: str) -> list[Field]:
    """The values ``system``'s Connection is built from, labelled in the vendor's terms."""
    form = CONNECTION_FORMS[system]
    labels = form.labels()
    out = [Field("url", labels["host"], False, True, str)]
    for name in form.credentials:
        out.append(Field(name, labels[name], name == "password", True, str))
    for key, kind in form.extra.items():
        secret = any(w in key for w in ("token", "secret", "password"))
        out.append(Field(key, f"extra {key}", secret, key in form.required, kind))
    return out


def all_extra_keys() -> list[str]:
    """Every ``extra`` key any system's Connection takes (the CLI's per-role flags)."""
    keys: dict[str, None] = {}
    for form in CONNECTION_FORMS.values():
        keys |= dict.fromkeys(form.extra)
    return list(keys)


def _parse(field: Field, text: str) -> Any:
    """A flag's or answer's text as the type the connector reads."""
    if field.kind is str:
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise WizardError(
            f"{field.label}: expected {field.kind.__name__} (JSON), got {text!r}"
        ) from None
    if not isinstance(value, field.kind):
        raise WizardError(f"{field.label}: expected {field.kind.__name__}, got {text!r}")
    return value


@dataclass(frozen=True)
class Answers:
    """What the setup was given, from flags and prompts."""

    pair: str
    flows: tuple[str, ...]
    #: role -> (connection id, Connection fields as ``AIRFLOW_CONN_*`` JSON takes them)
    connections: dict[str, tuple[str, dict[str, Any]]]
    out: Path
    force: bool


Ask = Callable[[str, bool], str]


def _ask(prompt: str, secret: bool) -> str:
    return (getpass.getpass(prompt) if secret else input(prompt)).strip()


class Wizard:
    """Collects the answers; ``ask`` is None for the non-interactive (flags only) form."""

    def __init__(
        self,
        templates: Path,
        given: Mapping[str, Any],
        *,
        ask: Ask | None,
        say: Callable[[str], None],
    ) -> None:
        self.templates = templates
        self.given = given
        self.ask = ask
        self.say = say

    def pairs(self) -> list[str]:
        return [p.stem for p in sorted(self.templates.glob("*.yaml"))]

    def _value(
        self,
        flag: str,
        prompt: str,
        *,
        secret: bool = False,
        required: bool = True,
        default: str = "",
    ) -> str:
        given = self.given.get(flag)
        if given not in (None, ""):
            return str(given)
        if self.ask is None:
            if required and not default:
                raise WizardError(f"missing {flag} (required without a terminal)")
            return default
        while True:
            suffix = f" [{default}]" if default else ("" if required else " [optional]")
            answer = self.ask(f"{prompt}{suffix}: ", secret) or default
            if answer or not required:
                return answer
            self.say("  (required)")

    def choose_pair(self) -> str:
        pairs = self.pairs()
        if not pairs:
            raise WizardError(f"no pair templates in {self.templates}")
        if self.ask is not None and not self.given.get("--pair"):
            self.say("Pairs:")
            for n, name in enumerate(pairs, 1):
                self.say(f"  {n}) {name}")
        answer = self._value("--pair", f"pair [1-{len(pairs)} or name]")
        if answer.isdigit() and 1 <= int(answer) <= len(pairs):
            return pairs[int(answer) - 1]
        if answer not in pairs:
            raise WizardError(f"unknown pair {answer!r}; known: {', '.join(pairs)}")
        return answer

    def choose_flows(self, template: dict[str, Any]) -> tuple[str, ...]:
        flows: dict[str, Any] = template["flows"]
        enabled = [k for k, v in flows.items() if (v or {}).get("enabled", True)]
        if self.ask is not None and not self.given.get("--flows"):
            self.say("Flows:")
            for key, spec in flows.items():
                spec = spec or {}
                kind = spec.get("flow", key)
                way = spec.get("direction", "source_to_target").replace("_", " ")
                self.say(f"  {key}  ({kind}, {way}, every {spec.get('schedule', '?')!r})")
        answer = self._value("--flows", "flows, comma-separated", default=",".join(enabled))
        chosen = tuple(dict.fromkeys(f.strip() for f in answer.split(",") if f.strip()))
        unknown = [f for f in chosen if f not in flows]
        if unknown or not chosen:
            raise WizardError(
                f"unknown flow(s) {', '.join(unknown) or '(none chosen)'}; "
                f"the pair has {', '.join(flows)}"
            )
        return chosen

    def connection(self, role: str, system: str, default_id: str) -> tuple[str, dict[str, Any]]:
        if self.ask is not None:
            self.say(f"{role.capitalize()}: {system}")
        conn_id = self._value(f"--{role}-conn-id", "  Airflow connection id", default=default_id)
        conn: dict[str, Any] = {"conn_type": CONNECTION_FORMS[system].conn_type}
        extra: dict[str, Any] = {}
        for field in fields_for(system):
            text = self._value(
                field.flag(role), f"  {field.label}", secret=field.secret, required=field.required
            )
            if not text:
                continue
            value = _parse(field, text)
            if field.name == "url":
                conn["host"] = value.rstrip("/")
            elif field.name in ("login", "password"):
                conn[field.name] = value
            else:
                extra[field.name] = value
        conn["extra"] = extra
        return conn_id, conn

    def collect(self, default_out: Callable[[str], Path]) -> Answers:
        pair = self.choose_pair()
        template = _template(self.templates, pair)
        flows = self.choose_flows(template)
        conns = {}
        for role in ROLES:
            end = template[role]
            conns[role] = self.connection(
                role, end["system"], end.get("conn_id") or f"shopbridge_{end['system']}"
            )
        out = Path(self.given.get("--out") or default_out(pair))
        return Answers(pair, flows, conns, out, bool(self.given.get("--force")))


def _template(templates: Path, pair: str) -> dict[str, Any]:
    data = yaml.safe_load((templates / f"{pair}.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise WizardError(f"{templates / pair}.yaml: not a pair template")
    return data


@contextmanager
def _as_env(conn_id: str, fields: dict[str, Any]) -> Iterator[None]:
    """The Connection visible to hooks in this process only, while testing it."""
    key = f"AIRFLOW_CONN_{conn_id.upper()}"
    before = os.environ.get(key)
    os.environ[key] = json.dumps(fields)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def test_connections(pair: dict[str, Any], answers: Answers, say: Callable[[str], None]) -> None:
    """Each system's hook test; the first refusal stops the setup, naming the system."""
    for role in ROLES:
        system = pair[role]["system"]
        conn_id, fields = answers.connections[role]
        with _as_env(conn_id, fields):
            ok, msg = hook_for(system, conn_id).test_connection()
        if not ok:
            raise WizardError(
                f"{system} ({role}, connection {conn_id}) failed its test: "
                f"{msg}\nnothing was stored and no YAML written"
            )
        say(f"{system}: {msg}")


def store_connections(answers: Answers) -> list[str]:
    """Each Connection into Airflow's metadata DB, replacing one of the same id."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    stored = []
    try:
        with create_session() as session:
            for conn_id, fields in answers.connections.values():
                old = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
                if old is not None:
                    session.delete(old)
                    session.flush()
                session.add(
                    Connection(
                        conn_id=conn_id,
                        conn_type=fields["conn_type"],
                        host=fields.get("host"),
                        login=fields.get("login"),
                        password=fields.get("password"),
                        extra=json.dumps(fields.get("extra") or {}),
                        description="set up by shopbridge init",
                    )
                )
                stored.append(conn_id)
    except OperationalError as err:
        raise WizardError(
            "cannot store the Connections in Airflow's metadata DB "
            f"(AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '~/airflow')}): "
            f"run `airflow db migrate` first ({err.orig})"
        ) from None
    return stored


def render(template_text: str, flows: tuple[str, ...], conn_ids: dict[str, str]) -> str:
    """The template's text with only ``flows`` and the chosen connection ids, comments kept;
    plain YAML of the same data when the text does not have the shape this expects."""
    data = yaml.safe_load(template_text)
    want = {**data, "flows": {k: v for k, v in data["flows"].items() if k in flows}}
    for role in ROLES:
        want[role] = {**data[role], "conn_id": conn_ids[role]}
    out: list[str] = []
    section, skipping = "", False
    for line in template_text.splitlines(keepends=True):
        if line[:1] not in ("", " ", "\n", "\t"):  # column 0: a key or a comment
            skipping = False
            if m := re.match(r"([A-Za-z_]\w*):", line):
                section = m.group(1)
                if section in ROLES and "conn_id" not in data[section]:
                    out.append(line)
                    out.append(f"  conn_id: {conn_ids[section]}\n")
                    continue
        elif section == "flows" and (m := re.match(r"  ([A-Za-z0-9_]+):", line)):
            skipping = m.group(1) not in flows
        elif section in ROLES and (m := re.match(r"(\s+conn_id:\s*)\S+(.*)", line, re.S)):
            line = f"{m.group(1)}{conn_ids[section]}{m.group(2)}"
        if not (section == "flows" and skipping):
            out.append(line)
    text = "".join(out)
    if yaml.safe_load(text) == want:
        return text
    return f"# written by shopbridge init\n{yaml.safe_dump(want, sort_keys=False)}"


def pair_file(templates: Path, answers: Answers) -> str:
    """The pair's file as it will be written, validated by the loader the DAGs use."""
    text = render(
        (templates / f"{answers.pair}.yaml").read_text(encoding="utf-8"),
        answers.flows,
        {r: answers.connections[r][0] for r in ROLES},
    )
    try:
        parse_integration(answers.out, yaml.safe_load(text))
    except ConfigError as err:
        raise WizardError(str(err)) from None
    return text


def run(
    templates: Path,
    given: Mapping[str, Any],
    *,
    interactive: bool,
    default_out: Callable[[str], Path],
    say: Callable[[str], None],
) -> Answers:
    """The whole setup; :class:`WizardError` (before anything is stored, where it can be
    known then) when a step refuses."""
    ask = _ask if interactive else None
    answers = Wizard(templates, given, ask=ask, say=say).collect(default_out)
    text = pair_file(templates, answers)
    out = answers.out
    replace = out.exists() and out.read_text(encoding="utf-8") != text
    if (
        replace
        and not answers.force
        and (
            ask is None
            or ask(f"{out} exists; replace it? [y/N]: ", False).lower() not in ("y", "yes")
        )
    ):
        raise WizardError(f"{out} exists; give --force to replace it (nothing was stored)")
    say("testing connections")
    test_connections(_template(templates, answers.pair), answers, say)
    for conn_id in store_connections(answers):
        say(f"stored Airflow connection {conn_id}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    cfg = load_integration(out)
    say(f"wrote {out}: DAGs " + ", ".join(cfg.dag_id(f) for f in cfg.flows))
    return answers

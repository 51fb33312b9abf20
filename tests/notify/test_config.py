"""The ``notify:`` section of an integration file: what it accepts, and what a typo says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shopbridge.config import load_integration, parse_integration
from shopbridge.errors import ConfigError

ROOT = Path(__file__).parents[2]
PAIR = ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml"


def with_notify(tmp_path: Path, section: str) -> Path:
    """The shipped pair file with ``section`` appended, written as a user would."""
    path = tmp_path / PAIR.name
    path.write_text(PAIR.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    return path


def test_the_documented_example_loads(tmp_path):
    cfg = load_integration(
        with_notify(
            tmp_path,
            """\
notify:
  - channel: email
    connection: shopbridge_smtp
    to: [ops@example.com]
    on: [failure, quarantine]
  - channel: slack
    connection: shopbridge_slack
    on: [failure]
  - channel: webhook
    connection: shopbridge_ops_webhook
""",
        )
    )
    email, slack, webhook = cfg.notify
    assert email.to == ("ops@example.com",)
    assert email.on == ("failure", "quarantine")
    # an unquoted `on:` is the boolean True to YAML 1.1; it still means "on"
    assert slack.on == ("failure",)
    assert webhook.on == ("failure", "quarantine")  # the default: both
    assert webhook.max_records == 20


def test_no_section_means_no_channels():
    assert load_integration(PAIR).notify == ()


def test_a_single_recipient_may_be_written_without_a_list(tmp_path):
    cfg = load_integration(
        with_notify(
            tmp_path,
            """\
notify:
  - {channel: email, connection: smtp, to: ops@example.com, on: quarantine}
""",
        )
    )
    assert cfg.notify[0].to == ("ops@example.com",)
    assert cfg.notify[0].on == ("quarantine",)


@pytest.mark.parametrize(
    ("section", "field", "says"),
    [
        ("- {channel: email, connection: smtp}", "notify.0", "needs to:"),
        ("- {channel: sms, connection: x}", "notify.0.channel", "'email', 'slack' or 'webhook'"),
        (
            "- {channel: slack, connection: 'https://hooks.slack.com/services/T0/B0/secret'}",
            "notify.0.connection",
            "should match pattern",
        ),
        (
            "- {channel: slack, connection: s, to: [ops@example.com]}",
            "notify.0",
            "for channel email",
        ),
        (
            "- {channel: webhook, connection: w, on: [success]}",
            "notify.0.on.0",
            "'failure' or 'quarantine'",
        ),
        ("- {channel: webhook, connection: w, on: []}", "notify.0.on", "at least one"),
        (
            "- {channel: email, connection: m, to: [not-an-address]}",
            "notify.0.to.0",
            "should match pattern",
        ),
        (
            "- {channel: webhook, connection: w, url: 'http://x'}",
            "notify.0.url",
            "Extra inputs are not permitted",
        ),
        (
            "- {channel: webhook, connection: w, max_records: 0}",
            "notify.0.max_records",
            "greater than or equal to 1",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_field(tmp_path, section, field, says):
    path = with_notify(tmp_path, "notify:\n  " + section + "\n")
    with pytest.raises(ConfigError) as err:
        load_integration(path)
    message = str(err.value)
    assert str(path) in message
    line = next(l for l in message.splitlines() if l.strip().startswith(field + ":"))
    assert says in line


def test_notify_must_be_a_list():
    data = yaml.safe_load(PAIR.read_text(encoding="utf-8"))
    data["notify"] = {"channel": "email"}
    with pytest.raises(ConfigError, match=r"notify: Input should be a valid tuple"):
        parse_integration(PAIR, data)

from datetime import UTC, datetime, timedelta

import pytest

from shopbridge.store.ledger import Claim, Ledger, Status, email_key


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    """Every ledger test on SQLite (the default store) and on a real PostgreSQL server
    (production: docker-compose.yaml keeps the ledger there)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    led = Ledger(url)
    yield led
    led.close()


def test_claim_then_done_then_done_again(ledger):
    assert ledger.claim("p", "order", "1", "run1")[0] is Claim.NEW
    # a second worker meanwhile sees it busy, not free
    assert ledger.claim("p", "order", "1", "run2")[0] is Claim.BUSY
    ledger.done("p", "order", "1", target_ref="SO-9", content_hash="h", run_id="run1")
    claim, row = ledger.claim("p", "order", "1", "run3")
    assert claim is Claim.DONE
    assert row.target_ref == "SO-9"


def test_stale_pending_is_taken_over_once(ledger, monkeypatch):
    ledger.claim("p", "order", "1", "run1")
    monkeypatch.setattr(Ledger, "lease", timedelta(seconds=-1))
    first = ledger.claim("p", "order", "1", "run2")[0]
    monkeypatch.setattr(Ledger, "lease", timedelta(minutes=5))
    second = ledger.claim("p", "order", "1", "run3")[0]
    assert (first, second) == (Claim.STALE, Claim.BUSY)


def test_quarantined_record_can_be_claimed_again(ledger):
    ledger.quarantine("p", "order", "1", reason="lines[0].sku: unknown", run_id="r")
    assert ledger.get("p", "order", "1").status is Status.QUARANTINED
    assert ledger.claim("p", "order", "1", "r2")[0] is Claim.NEW


def test_release_frees_a_claim(ledger):
    ledger.claim("p", "customer", "k", "r")
    ledger.release("p", "customer", "k")
    assert ledger.claim("p", "customer", "k", "r")[0] is Claim.NEW


def test_email_key_holds_no_address():
    key = email_key(" Anna@Example.NL ")
    assert key == email_key("anna@example.nl")
    assert "anna" not in key
    assert "example" not in key


def test_window_end_only_moves_forward(ledger):
    t = datetime(2026, 11, 1, tzinfo=UTC)
    ledger.record_window_end("p", "orders", t)
    ledger.record_window_end("p", "orders", t - timedelta(hours=1))
    assert ledger.last_window_end("p", "orders") == t
    ledger.record_window_end("p", "orders", t + timedelta(hours=1))
    assert ledger.last_window_end("p", "orders") == t + timedelta(hours=1)


def test_counts_per_entity_and_status(ledger):
    ledger.done("p", "order", "1", target_ref="a", content_hash=None, run_id="r")
    ledger.done("p", "order", "2", target_ref="b", content_hash=None, run_id="r")
    ledger.quarantine("p", "order", "3", reason="x", run_id="r")
    assert ledger.counts("p") == {("order", "done"): 2, ("order", "quarantined"): 1}


def test_a_retry_of_the_same_owner_takes_its_own_pending_claim_as_stale(ledger):
    assert ledger.claim("p", "order", "1", "run1#load[0]")[0] is Claim.NEW
    # another batch of the same run must wait ...
    assert ledger.claim("p", "order", "1", "run1#load[1]")[0] is Claim.BUSY
    # ... but the retry of the batch that claimed it looks it up again at once
    assert ledger.claim("p", "order", "1", "run1#load[0]")[0] is Claim.STALE

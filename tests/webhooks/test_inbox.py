"""The webhook inbox: durable, once per body, newest delivery wins, erased after loading."""

from __future__ import annotations

import pytest

from shopbridge.store.inbox import Inbox, digest

P = "lightspeed_ecom__buckles"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """The inbox on SQLite and on a real PostgreSQL server (its production store)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'l.sqlite'}"


def test_a_delivery_waits_per_flow_until_its_run_finishes(url):
    inbox = Inbox(url)
    got = inbox.accept(
        P,
        "lightspeed_ecom",
        digest(b"a"),
        ["orders", "shop_shipments"],
        [("1", {"id": 1, "email": "x@example.com"})],
    )
    assert (got.replay, got.rows) == (False, 2)
    assert inbox.waiting_count(P, "orders") == 1
    assert inbox.claim(P, "orders", "run1") == [{"id": 1, "email": "x@example.com"}]
    assert inbox.finish(P, "orders", "run1") == 1
    assert inbox.waiting_count(P, "orders") == 0
    assert inbox.waiting_count(P, "shop_shipments") == 1  # the other flow still waits


def test_the_same_body_twice_is_a_replay_and_stores_nothing(url):
    inbox = Inbox(url)
    inbox.accept(P, "lightspeed_ecom", digest(b"body"), ["orders"], [("1", {"id": 1})])
    again = inbox.accept(P, "lightspeed_ecom", digest(b"body"), ["orders"], [("1", {"id": 1})])
    assert again.replay and again.rows == 0
    assert inbox.waiting_count(P) == 1


def test_two_deliveries_of_one_record_become_one_newest_record(url):
    inbox = Inbox(url)
    inbox.accept(P, "lightspeed_ecom", digest(b"v1"), ["orders"], [("7", {"id": 7, "v": 1})])
    inbox.accept(P, "lightspeed_ecom", digest(b"v2"), ["orders"], [("8", {"id": 8, "v": 1})])
    inbox.accept(P, "lightspeed_ecom", digest(b"v3"), ["orders"], [("7", {"id": 7, "v": 2})])
    assert inbox.claim(P, "orders", "r") == [{"id": 8, "v": 1}, {"id": 7, "v": 2}]


def test_a_failed_run_leaves_its_records_for_the_next_and_payloads_are_erased(url):
    inbox = Inbox(url)
    inbox.accept(P, "lightspeed_ecom", digest(b"x"), ["orders"], [("1", {"id": 1})])
    assert len(inbox.claim(P, "orders", "failed-run")) == 1  # never finished
    assert len(inbox.claim(P, "orders", "next-run")) == 1
    inbox.finish(P, "orders", "next-run")
    with inbox.engine.connect() as conn:
        payloads = conn.exec_driver_sql("select payload from shopbridge_inbox").scalars().all()
    assert payloads == [None]  # the personal data went with the load
    assert Inbox(url).claim(P, "orders", "later") == []

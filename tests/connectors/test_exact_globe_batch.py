"""OData v2 ``$batch`` for Exact Globe: the multipart format, the client and the sandbox."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.exact_globe._batch import (
    BatchFormatError,
    ChangesetResult,
    HttpMessage,
    Operation,
    OperationResponse,
    build_request,
    build_response,
    parse,
    results,
)
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, ExactGlobeSettings, make_auth
from shopbridge.connectors.exact_globe.translate import order_header, order_lines, transaction_key
from shopbridge.errors import AuthError, FatalError, RetriableError
from shopbridge.models import CustomerKind, Order
from shopbridge_dev.sandboxes.exact_globe.app import create_app

from .test_exact_globe import KNOWN, TestClient, client_for, customer, inspect, order


def changeset(o: Order, *, debtor: str, reference: str) -> list[Operation]:
    """One order as the flow would send it: its lines, then the header that commits them."""
    key = transaction_key(reference, revision=o.content_hash()[:16])
    return [
        *(Operation("POST", "SalesOrderLine", ln) for ln in order_lines(o, key)),
        Operation(
            "POST",
            "SalesOrderHeader",
            order_header(o, debtor_code=debtor, reference=reference, transaction_key=key),
        ),
    ]


def three_orders(
    debtors: tuple[str, str, str] = ("60001", "60002", "60003"),
    skus: tuple[list[str], ...] = (KNOWN[:2], KNOWN[2:5], KNOWN[5:6]),
) -> list[list[Operation]]:
    return [
        changeset(
            order(customer(CustomerKind.PERSON, f"p{n}@example.nl"), s),
            debtor=d,
            reference=f"ls-b{n}",
        )
        for n, (d, s) in enumerate(zip(debtors, skus, strict=True), 1)
    ]


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


# -- format ----------------------------------------------------------------------------------


def test_request_round_trip():
    sets = [
        [
            Operation("POST", "SalesOrderLine", {"Itemcode": "A-1", "Price": "1.50"}),
            Operation("POST", "SalesOrderHeader", {"YourReference": "Café 'x'"}),
        ],
        [Operation("MERGE", "Account(guid'0f0e')", {"Name": "n"})],
    ]
    ctype, body = build_request(
        sets, headers={"ServerName": "S", "DatabaseName": "600"}, boundary="batch_fixed"
    )
    assert ctype == "multipart/mixed; boundary=batch_fixed"
    text = body.decode("ascii")
    assert text.startswith("--batch_fixed\r\nContent-Type: multipart/mixed; boundary=changeset_")
    assert (
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "POST SalesOrderLine HTTP/1.1\r\n" in text
    )
    assert text.endswith("--batch_fixed--\r\n")
    items = parse(ctype, body)
    assert [len(i) for i in items if isinstance(i, list)] == [2, 1]
    first, second = items[0][0], items[0][1]  # type: ignore[index]
    assert first.method_and_target == ("POST", "SalesOrderLine")
    assert first.json() == {"Itemcode": "A-1", "Price": "1.50"}
    assert second.json() == {"YourReference": "Café 'x'"}
    assert (first.headers["serverName".lower()], first.headers["databasename"]) == ("S", "600")
    assert [m.content_id for m in (*items[0], *items[1])] == ["1", "2", "3"]  # type: ignore[misc]
    assert items[1][0].method_and_target == ("MERGE", "Account(guid'0f0e')")  # type: ignore[index]
    assert int(first.headers["content-length"]) == len(first.body.encode())
    # the parser takes bare LF as well as CRLF
    assert parse(ctype, text.replace("\r\n", "\n")) == items


def test_response_round_trip_and_results():
    sets = [
        [Operation("POST", "SalesOrderLine", {}), Operation("POST", "SalesOrderHeader", {})],
        [Operation("POST", "SalesOrderLine", {}), Operation("POST", "SalesOrderHeader", {})],
        [Operation("MERGE", "Account(guid'1')", {})],
    ]
    ctype, body = build_response(
        [
            [
                OperationResponse(201, {"d": {"LineNumber": 1}}, "1"),
                OperationResponse(201, {"d": {"OrderNumber": "10001"}}, "2"),
            ],
            OperationResponse(
                400,
                {"error": {"code": "ValidationError", "message": "Customer 60093 not found"}},
                "4",
            ),
            [OperationResponse(204, None, "5")],
        ]
    )
    got = results(sets, parse(ctype, body))
    assert got[0] == ChangesetResult(True, 201, [{"LineNumber": 1}, {"OrderNumber": "10001"}])
    assert got[1] == ChangesetResult(
        False,
        400,
        [],
        "changeset 2 op 4 POST SalesOrderHeader -> 400 ValidationError: Customer 60093 not found",
    )
    assert got[2] == ChangesetResult(True, 204, [{}])


def test_parse_a_wcf_style_response_with_lf_and_mime_content_id():
    raw = (
        "--batchresponse_1\n"
        "Content-Type: multipart/mixed; boundary=changesetresponse_a\n\n"
        "--changesetresponse_a\n"
        "Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
        "HTTP/1.1 201 Created\nContent-Type: application/json;odata=verbose;charset=utf-8\n"
        "Location: http://h/x\n\n"
        '{"d":{"ID":"g1"}}\n'
        "--changesetresponse_a--\n"
        "--batchresponse_1\n"
        "Content-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 2\n\n"
        "HTTP/1.1 400 Bad Request\nContent-Type: application/xml\n\n"
        "<error>nope</error>\n"
        "--batchresponse_1--\n"
    )
    items = parse('multipart/mixed; boundary="batchresponse_1"', raw)
    assert isinstance(items[1], HttpMessage) and items[1].content_id == "2"
    got = results([[Operation("POST", "Account", {})], [Operation("POST", "Contact", {})]], items)
    assert got[0].bodies == [{"ID": "g1"}]
    assert got[1].error == "changeset 2 op 2 POST Contact -> 400 <error>nope</error>"


@pytest.mark.parametrize(
    ("ctype", "body", "match"),
    [
        ("application/json", "{}", "expected multipart/mixed"),
        ("multipart/mixed", "", "without a boundary"),
        (
            "multipart/mixed; boundary=b",
            "--b\nContent-Type: application/http\n\nHTTP/1.1 201\n",
            "not closed",
        ),
        (
            "multipart/mixed; boundary=b",
            "--b\nContent-Type: text/plain\n\nhi\n--b--\n",
            "application/http",
        ),
    ],
)
def test_parse_rejects_what_is_not_a_batch(ctype, body, match):
    with pytest.raises(BatchFormatError, match=match):
        parse(ctype, body)


def test_results_must_pair_up():
    ctype, body = build_response([[OperationResponse(201, {"d": {}})]])
    sets = [[Operation("POST", "Items", {})], [Operation("POST", "Items", {})]]
    with pytest.raises(BatchFormatError, match="2 changesets sent, 1 parts answered"):
        results(sets, parse(ctype, body))
    with pytest.raises(BatchFormatError, match="2 operations sent, 1 answered"):
        results([[Operation("POST", "Items", {})] * 2], parse(ctype, body))
    with pytest.raises(ValueError, match="at least one operation"):
        build_request([[]])


# -- client against the sandbox --------------------------------------------------------------


def test_three_orders_in_one_request(app):
    counter = CallCounter()
    sets = three_orders()
    got = client_for(app, counter=counter).batch(sets)
    assert counter.calls == 1 and counter.retries == 0
    assert [r.ok for r in got] == [True, True, True]
    committed = inspect(app, "orders")
    assert [o["YourReference"] for o in committed] == ["ls-b1", "ls-b2", "ls-b3"]
    assert [r.bodies[-1]["SalesOrderNumber"].strip() for r in got] == [
        o["OrderNumber"] for o in committed
    ]
    assert [[ln["Itemcode"] for ln in o["lines"]] for o in committed] == [
        KNOWN[:2],
        KNOWN[2:5],
        KNOWN[5:6],
    ]
    assert [r.bodies[0]["LineNumber"] for r in got] == [1, 1, 1]
    stats = inspect(app, "stats")
    assert stats["requests"] == 1
    assert stats["writes"] == sum(len(s) for s in sets) == 9


def test_unknown_debtor_fails_its_changeset_only(app):
    got = client_for(app).batch(three_orders(debtors=("60001", "60093", "60002")))
    assert [r.ok for r in got] == [True, False, True]
    bad = got[1]
    assert (bad.status, bad.bodies) == (400, [])
    assert bad.error is not None and "Customer 60093 not found" in bad.error
    assert "POST SalesOrderHeader -> 400 ValidationError" in bad.error
    assert [o["YourReference"] for o in inspect(app, "orders")] == ["ls-b1", "ls-b3"]
    assert inspect(app, "stats")["writes"] == 3 + 2  # only what was applied


def test_unknown_item_rolls_back_the_staged_lines(app):
    client = client_for(app)
    sets = three_orders()
    line2 = sets[1][1]
    sets[1][1] = Operation("POST", "SalesOrderLine", {**line2.body, "Itemcode": "NOPE-1"})
    got = client.batch(sets)
    assert [r.ok for r in got] == [True, False, True]
    assert got[1].error is not None and "Item NOPE-1 not found" in got[1].error
    assert "op 5 POST SalesOrderLine" in got[1].error  # changeset 1 has 3 ops; then its 2nd
    assert [o["YourReference"] for o in inspect(app, "orders")] == ["ls-b1", "ls-b3"]
    # line 1 of the failed order was staged before line 2 failed: it must be gone too
    header = sets[1][-1].body
    with pytest.raises(FatalError, match="No sales order lines staged"):
        client.create("SalesOrderHeader", header, retry=False)


def test_failed_changeset_undoes_a_merge(app):
    client = client_for(app)
    account = next(iter(client.query("Account", filter="DebtorCode eq '60001'")))
    got = client.batch(
        [
            [
                Operation("MERGE", f"Account(guid'{account['ID']}')", {"AccountName": "Renamed"}),
                Operation(
                    "POST", "SalesOrderHeader", {"OrderDebtor": "60001", "TransactionKey": "none"}
                ),
            ]
        ]
    )
    assert not got[0].ok and "No sales order lines staged" in (got[0].error or "")
    assert (
        client.query("Account", filter="DebtorCode eq '60001'").__next__()["AccountName"]
        == account["AccountName"]
    )
    ok = client.batch(
        [[Operation("MERGE", f"Account(guid'{account['ID']}')", {"AccountName": "Renamed"})]]
    )
    assert ok == [ChangesetResult(True, 204, [{}])]
    assert (
        next(iter(client.query("Account", filter="DebtorCode eq '60001'")))["AccountName"]
        == "Renamed"
    )


def test_429_on_the_batch_is_not_retried(app):
    sleeps: list[float] = []
    counter = CallCounter()
    client = client_for(app, sleeps=sleeps, counter=counter)
    with TestClient(app) as tc:
        tc.post(
            "/_sandbox/faults",
            json={"status": 429, "retry_after": 1, "path_contains": "$batch", "method": "POST"},
        )
    with pytest.raises(RetriableError, match="429") as exc:
        client.batch(three_orders())
    assert exc.value.retry_after == 1
    assert (counter.calls, counter.retries, sleeps) == (1, 0, [])
    assert inspect(app, "orders") == []


def test_auth_failure_is_auth_error(app):
    with pytest.raises(AuthError, match="401"):
        client_for(app, password="wrong").batch(three_orders())
    assert inspect(app, "orders") == []


def test_batch_checks_the_administration_headers(app):
    client = client_for(app, headers={"DatabaseName": "999"})
    with pytest.raises(FatalError, match="unknown DatabaseName '999'"):
        client.batch(three_orders())


def test_no_changesets_no_request(app):
    counter = CallCounter()
    assert client_for(app, counter=counter).batch([]) == []
    assert counter.calls == 0


def mock_client(handler) -> ExactGlobeClient:
    return ExactGlobeClient(
        "http://globe",
        server_name="s",
        database_name="600",
        auth=make_auth("basic", "u", "p"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        policy=RetryPolicy(sleep=lambda _s: None),
    )


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_globe_without_batch_says_to_use_single(status):
    client = mock_client(
        lambda req: httpx.Response(
            status,
            json={
                "error": {
                    "code": "NotFound",
                    "message": "Resource not found for the segment '$batch'.",
                }
            },
        )
    )
    with pytest.raises(FatalError, match=r"extra\.write_mode to 'single'"):
        client.batch(three_orders())


def test_request_on_the_wire_and_a_non_batch_answer():
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"d": {}})

    with pytest.raises(FatalError, match="not an OData batch response"):
        mock_client(handler).batch(three_orders())
    [req] = seen
    assert (req.method, req.url.path) == ("POST", "/services/Exact.Entity.REST.EG/$batch")
    assert req.headers["Content-Type"].startswith("multipart/mixed; boundary=batch_")
    assert (req.headers["ServerName"], req.headers["DatabaseName"]) == ("s", "600")
    items = parse(req.headers["Content-Type"], req.content)
    assert [len(i) for i in items if isinstance(i, list)] == [3, 4, 2]


# -- settings --------------------------------------------------------------------------------


def test_settings_write_mode_and_batch_size():
    s = ExactGlobeSettings(base_url="http://g", server_name="s", database_name="600")
    assert (s.write_mode, s.batch_size) == ("batch", 50)
    client = ExactGlobeClient.from_settings(
        s.model_copy(update={"write_mode": "single", "batch_size": 10})
    )
    assert (client.write_mode, client.batch_size) == ("single", 10)
    with pytest.raises(ValidationError):
        ExactGlobeSettings(
            base_url="http://g", server_name="s", database_name="600", write_mode="bulk"
        )  # type: ignore[arg-type]


def test_hook_passes_write_mode_and_batch_size():
    from shopbridge.connectors.exact_globe.hook import ExactGlobeHook
    from shopbridge.errors import ConfigError

    from .test_exact_globe import globe_conn

    s = ExactGlobeHook("globe").settings_from(globe_conn(write_mode="single", batch_size=20))
    assert (s.write_mode, s.batch_size) == ("single", 20)
    assert ExactGlobeHook("globe").settings_from(globe_conn()).write_mode == "batch"
    with pytest.raises(ConfigError, match=r"'globe': extra\.write_mode"):
        ExactGlobeHook("globe").settings_from(globe_conn(write_mode="bulk"))
    with pytest.raises(ConfigError, match=r"'globe': extra\.batch_size"):
        ExactGlobeHook("globe").settings_from(globe_conn(batch_size=0))


def test_json_body_is_ascii_on_the_wire():
    ctype, body = build_request([[Operation("POST", "Account", {"Name": "Zoë"})]])
    assert "Zo\\u00eb" in body.decode("ascii")
    [[op]] = parse(ctype, body)
    assert json.loads(op.body) == {"Name": "Zoë"}

"""Escalation webhooks with time passed in: claims and leases, signed bodies, backoff, every try recorded.

The target is a real HTTP server on 127.0.0.1 (tests/support.py); the production-stack run through workers
and beat is in test_escalation_faults.py.
"""

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from policies.models import EscalationFiring, WebhookCall
from policies.services.webhooks import Claim, backoff, webhook_call_attempt, webhook_calls_claim, webhook_signature
from tests import support
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "a-long-shared-secret"


@pytest.fixture
def target() -> Iterator[support.FakePlatform]:
    yield from support.serve_fake_platform()


@pytest.fixture
def quick_retries(settings: Any) -> None:
    settings.HELPDESK_WEBHOOK_BACKOFF_SECONDS = 10.0
    settings.HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS = 60.0
    settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS = 4
    settings.HELPDESK_WEBHOOK_TIMEOUT = 2


def call_to(url: str, team: Any) -> WebhookCall:
    ticket = TicketFactory(team=team)
    firing = EscalationFiring.objects.create(
        ticket=ticket,
        cycle=1,
        policy_name="P",
        level_number=1,
        kind="first_response",
        offset=timedelta(0),
        moment=T0,
        fired_at=T0,
    )
    body = json.dumps({"event": "escalation.fired", "ticket": {"number": ticket.number}}, separators=(",", ":"))
    return WebhookCall.objects.create(
        firing=firing, url=url, secret=SECRET, body=body, next_attempt_at=T0, created_at=T0
    )


def claim_one(now: datetime) -> Claim | None:
    """The one call due at `now`, claimed; None when nothing is."""
    claims = webhook_calls_claim(now=now)
    assert len(claims) <= 1
    return claims[0] if claims else None


def test_the_signature_is_an_hmac_of_the_timestamp_and_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    assert webhook_signature(secret=SECRET, body="{}", timestamp=1700000000) == f"t=1700000000,v1={expected}"


def test_a_claimed_call_is_not_claimed_twice_until_its_lease_runs_out(team_a: Any, quick_retries: None) -> None:
    call = call_to("http://127.0.0.1:9/never", team_a)
    first = claim_one(T0)
    assert first is not None and first.call_id == call.pk
    assert claim_one(T0 + timedelta(seconds=5)) is None
    # The sender died without a word: once the lease (timeout + 30 s) is over, another sender takes it...
    second = claim_one(T0 + timedelta(seconds=33))
    assert second is not None and second.token != first.token
    # ...and the first one, should it wake up, finds its claim gone and sends nothing.
    assert webhook_call_attempt(claim=first, now=T0 + timedelta(seconds=34)) == "released"
    assert call.attempt_log.count() == 0


def test_a_failing_target_is_retried_with_doubling_backoff_until_it_answers(
    team_a: Any, target: support.FakePlatform, quick_retries: None
) -> None:
    target.statuses = [500, 503, 500]
    call = call_to(target.url, team_a)
    now = T0
    for expected_wait in (10, 20, 40):
        claim = claim_one(now)
        assert claim is not None and webhook_call_attempt(claim=claim, now=now) == "pending"
        call.refresh_from_db()
        assert call.next_attempt_at == now + timedelta(seconds=expected_wait)
        assert claim_one(call.next_attempt_at - timedelta(seconds=1)) is None
        now = call.next_attempt_at
    claim = claim_one(now)
    assert claim is not None and webhook_call_attempt(claim=claim, now=now) == "succeeded"
    call.refresh_from_db()
    assert (call.attempts, call.finished_at, call.next_attempt_at) == (4, now, None)
    assert list(call.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 503), (3, 500), (4, 200)]
    for request in target.requests:
        timestamp = int(request.headers["X-Helpdesk-Signature"].split(",")[0].removeprefix("t="))
        assert request.headers["X-Helpdesk-Signature"] == webhook_signature(
            secret=SECRET, body=request.body.decode(), timestamp=timestamp
        )
        assert request.headers["X-Helpdesk-Delivery"] == str(call.pk)
        assert json.loads(request.body)["event"] == "escalation.fired"
    assert claim_one(now + timedelta(days=1)) is None


def test_a_target_that_never_answers_ends_as_a_recorded_failure(team_a: Any, quick_retries: None) -> None:
    call = call_to(f"http://127.0.0.1:{support.free_port()}/closed", team_a)
    now = T0
    for _ in range(4):
        claim = claim_one(now)
        assert claim is not None
        state = webhook_call_attempt(claim=claim, now=now)
        call.refresh_from_db()
        now = call.next_attempt_at or now
    assert state == "failed" and call.state == "failed" and call.attempts == 4
    errors = list(call.attempt_log.values_list("error", flat=True))
    assert len(errors) == 4 and all(error.startswith("could not be reached") for error in errors)
    assert claim_one(now + timedelta(days=1)) is None


def test_a_refused_url_scheme_is_recorded_not_raised(team_a: Any, quick_retries: None) -> None:
    call = call_to("ftp://example.com/hook", team_a)
    claim = claim_one(T0)
    assert claim is not None
    webhook_call_attempt(claim=claim, now=T0)
    assert "must be http:// or https://" in call.attempt_log.get().error


def test_backoff_doubles_and_is_capped(quick_retries: None) -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]


def serve_once(answer: bytes) -> str:
    """A target on 127.0.0.1 that answers every connection with `answer`, whatever it is."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            connection.recv(65536)
            connection.sendall(answer)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/hook"


def test_an_answer_that_is_not_http_is_a_failed_try(team_a: Any, quick_retries: None) -> None:
    call = call_to(serve_once(b"SSH-2.0-OpenSSH_9.6\r\n"), team_a)
    claim = claim_one(T0)
    assert claim is not None
    assert webhook_call_attempt(claim=claim, now=T0) == "pending"
    call.refresh_from_db()
    assert call.attempts == 1 and call.claimed_until is None
    assert call.attempt_log.get().error.startswith("bad answer: ")


def test_a_redirect_is_a_failed_try_not_a_delivery(team_a: Any, quick_retries: None) -> None:
    moved = b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/hook\r\nContent-Length: 0\r\n\r\n"
    call = call_to(serve_once(moved), team_a)
    claim = claim_one(T0)
    assert claim is not None
    assert webhook_call_attempt(claim=claim, now=T0) == "pending"
    attempt = call.attempt_log.get()
    assert (attempt.status_code, attempt.error) == (301, "HTTP 301 to https://elsewhere.example/hook")


def test_the_embedded_sender_goes_on_past_a_call_that_cannot_run(team_a: Any, quick_retries: None) -> None:
    from policies import ticker

    calls = [call_to(serve_once(b"garbage"), team_a) for _ in range(3)]
    ticker._send_webhooks()
    assert [call.attempt_log.count() for call in calls] == [1, 1, 1]

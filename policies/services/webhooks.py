"""Outbound escalation webhooks: stored with their firing, sent afterwards, retried with backoff, every try kept.

A call is a row written in the firing's transaction (an outbox), so a rolled-back tick sends nothing and a
committed one never loses its call. Senders claim due calls with SKIP LOCKED and a lease under a token,
renewed as the try begins: a sender that dies mid-call loses the call when the lease runs out and another
sends it again, and a sender whose lease ran out before it began does not send at all. Delivery is therefore at least
once; receivers dedupe on the X-Helpdesk-Delivery header (the call's id). The HTTP request runs outside
any transaction, so a slow target holds no lock, and in its own Celery task, so it never delays a tick.

The body is signed as Stripe-style `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` in
X-Helpdesk-Signature, so a receiver can refuse old replays.
"""

import hashlib
import hmac
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from policies.models import CallState, WebhookAttempt, WebhookCall

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Helpdesk-Signature"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
_EXCERPT = 500


def webhook_signature(*, secret: str, body: str, timestamp: int) -> str:
    """The X-Helpdesk-Signature value of `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling from HELPDESK_WEBHOOK_BACKOFF_SECONDS, capped."""
    base = settings.HELPDESK_WEBHOOK_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), settings.HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS))


@dataclass(frozen=True)
class Claim:
    """A call one sender may send: until the lease runs out, and only while its token is the call's."""

    call_id: int
    token: str


def _lease() -> timedelta:
    return timedelta(seconds=settings.HELPDESK_WEBHOOK_TIMEOUT + 30)


def webhook_calls_claim(*, now: datetime, limit: int = 50) -> list[Claim]:
    """Claim up to `limit` calls due by `now` for one sender each."""
    with transaction.atomic():
        ids = list(
            WebhookCall.objects.select_for_update(skip_locked=True)
            .filter(state=CallState.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        claims = [Claim(call_id=pk, token=secrets.token_hex(16)) for pk in ids]
        for claim in claims:
            WebhookCall.objects.filter(pk=claim.call_id).update(claimed_until=now + _lease(), claim=claim.token)
    return claims


def webhook_call_attempt(*, claim: Claim, now: datetime) -> str:
    """Make one try of a claimed call and record it; the call's state afterwards ("released" if the claim
    was lost to another sender before the try began: nothing was sent)."""
    call_id = claim.call_id
    # The lease is renewed as the try begins, under the token: a sender whose claim ran out while it waited
    # (a long queue, slow calls before this one) and was taken by another must not send as well.
    held = WebhookCall.objects.filter(
        pk=call_id, state=CallState.PENDING, claim=claim.token, claimed_until__gt=now
    ).update(claimed_until=now + _lease())
    call = WebhookCall.objects.filter(pk=call_id).first()
    if call is None:
        return "missing"
    if not held:
        return call.state if call.state != CallState.PENDING else "released"
    number = call.attempts + 1
    timestamp = int(now.timestamp())
    started = time.monotonic()
    status_code, error, response = _post(call, timestamp=timestamp)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        call = WebhookCall.objects.select_for_update().get(pk=call_id)
        if call.state != CallState.PENDING or call.claim != claim.token:
            return call.state  # another sender took the call over meanwhile; its record stands
        WebhookAttempt.objects.create(
            call=call,
            number=number,
            started_at=now,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            response=response,
        )
        call.attempts = number
        call.claimed_until, call.claim = None, ""
        if ok:
            call.state, call.finished_at, call.next_attempt_at = CallState.SUCCEEDED, now, None
        elif number >= settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS:
            call.state, call.finished_at, call.next_attempt_at = CallState.FAILED, now, None
            logger.warning("webhook call %s to %s failed for good after %s tries", call.pk, call.url, number)
        else:
            call.next_attempt_at = now + backoff(number)
        call.save(update_fields=["attempts", "claimed_until", "claim", "state", "finished_at", "next_attempt_at"])
    return call.state


def _post(call: WebhookCall, *, timestamp: int) -> tuple[int | None, str, str]:
    """POST the call's body: (HTTP status or None, error text, start of the response body)."""
    if not call.url.startswith(("http://", "https://")):
        return None, f"the URL must be http:// or https://, not {call.url!r}", ""
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        call.url,
        data=call.body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "helpdesk-escalations/1",
            SIGNATURE_HEADER: webhook_signature(secret=call.secret, body=call.body, timestamp=timestamp),
            DELIVERY_HEADER: str(call.pk),
        },
    )
    try:
        with _NO_REDIRECTS.open(request, timeout=settings.HELPDESK_WEBHOOK_TIMEOUT) as answer:
            return answer.status, "", _text(answer.read(_EXCERPT))
    except urllib.error.HTTPError as exc:
        moved = f" to {exc.headers.get('Location', '?')}" if 300 <= exc.code < 400 else ""
        return exc.code, f"HTTP {exc.code}{moved}", _text(exc.read(_EXCERPT) if exc.fp else b"")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, f"could not be reached: {getattr(exc, 'reason', exc)}", ""
    except Exception as exc:  # noqa: BLE001 - recorded as the try's error
        # Anything else the target can provoke (a garbled status line, a cut-off body) is a failed try too:
        # recorded, and retried like any other, never an endless re-claim.
        return None, f"bad answer: {type(exc).__name__}: {exc}", ""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: following it would turn the POST into a bodiless GET (and
    carry the signature to another host)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").replace("\x00", "")

"""Outbound escalation webhooks: stored with their firing, sent afterwards, retried with backoff, every try kept.

A call is a row written in the firing's transaction (an outbox), so a rolled-back tick sends nothing and a
committed one never loses its call. Senders claim due calls with SKIP LOCKED and a lease: a sender that dies
mid-call loses the call when the lease runs out and another sends it again. Delivery is therefore at least
once; receivers dedupe on the X-Helpdesk-Delivery header (the call's id). The HTTP request runs outside
any transaction, so a slow target holds no lock, and in its own Celery task, so it never delays a tick.

The body is signed as Stripe-style `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` in
X-Helpdesk-Signature, so a receiver can refuse old replays.
"""

import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
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


def webhook_calls_claim(*, now: datetime, limit: int = 50) -> list[int]:
    """Claim up to `limit` calls due by `now` for one sender each; their ids."""
    lease = timedelta(seconds=settings.HELPDESK_WEBHOOK_TIMEOUT + 30)
    with transaction.atomic():
        ids = list(
            WebhookCall.objects.select_for_update(skip_locked=True)
            .filter(state=CallState.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookCall.objects.filter(pk__in=ids).update(claimed_until=now + lease)
    return ids


def webhook_call_attempt(*, call_id: int, now: datetime) -> str:
    """Make one try of a claimed call and record it; the call's state afterwards."""
    call = WebhookCall.objects.filter(pk=call_id).first()
    if call is None or call.state != CallState.PENDING:
        return call.state if call else "missing"
    number = call.attempts + 1
    timestamp = int(now.timestamp())
    started = time.monotonic()
    status_code, error, response = _post(call, timestamp=timestamp)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        call = WebhookCall.objects.select_for_update().get(pk=call_id)
        if call.state != CallState.PENDING or call.attempts >= number:
            return call.state  # another sender, whose lease this one outlived, recorded this try already
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
        call.claimed_until = None
        if ok:
            call.state, call.finished_at, call.next_attempt_at = CallState.SUCCEEDED, now, None
        elif number >= settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS:
            call.state, call.finished_at, call.next_attempt_at = CallState.FAILED, now, None
            logger.warning("webhook call %s to %s failed for good after %s tries", call.pk, call.url, number)
        else:
            call.next_attempt_at = now + backoff(number)
        call.save(update_fields=["attempts", "claimed_until", "state", "finished_at", "next_attempt_at"])
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
        with urllib.request.urlopen(request, timeout=settings.HELPDESK_WEBHOOK_TIMEOUT) as answer:  # noqa: S310
            return answer.status, "", _text(answer.read(_EXCERPT))
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}", _text(exc.read(_EXCERPT) if exc.fp else b"")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, f"could not be reached: {getattr(exc, 'reason', exc)}", ""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").replace("\x00", "")

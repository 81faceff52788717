"""Webhook endpoints: platforms deliver messages here. Every answer is JSON; none is ever a 500."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tickets.connectors import connector_for
from tickets.connectors.base import ConnectorError, Delivery
from tickets.models import ChannelAccount, ChannelKind
from tickets.services.deliveries import DeliveryOutcome, delivery_receive


def json_error(status: int, message: str, **headers: str) -> JsonResponse:
    """A JSON error answer: {"error": message}."""
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` bytes (checked before reading when declared)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _outcome_json(outcome: DeliveryOutcome) -> JsonResponse:
    delivery = outcome.delivery
    payload: dict[str, object] = {"delivery": delivery.pk, "status": delivery.state}
    if outcome.messages:
        payload["tickets"] = sorted({m.ticket.number for m in outcome.messages})
        payload["messages"] = [m.pk for m in outcome.messages]
    if delivery.error:
        # Stored but not applied: 202 tells the sender we have it; a team lead re-runs it from the admin.
        payload["error"] = delivery.error
        return JsonResponse(payload, status=202)
    return JsonResponse(payload, status=200)


@csrf_exempt
def platform_webhook(request: HttpRequest, kind: str, account_id: int) -> HttpResponse:
    """/webhooks/<kind>/<account id>/: a platform's verification request (GET) or delivery (POST).

    The delivery is stored as it came before anything reads it; the answer is what the platform expects:
    its handshake's body, its acknowledgement, or a JSON error with the 4xx it understands.
    """
    if request.method not in ("GET", "POST"):
        allowed = "GET to verify, POST a delivery"
        return json_error(405, f"{request.method} is not allowed here: {allowed}", Allow="GET, POST")
    if kind not in ChannelKind.values:
        return json_error(404, f"there is no channel kind {kind!r}; the kinds are {', '.join(ChannelKind.values)}")
    account = ChannelAccount.objects.filter(pk=account_id, kind=kind).first()
    if account is None:
        return json_error(404, f"there is no {ChannelKind(kind).label} channel account {account_id}")
    limit = settings.HELPDESK_WEBHOOK_MAX_BYTES
    body = _read_body(request, limit)
    if body is None:
        return json_error(413, f"the body is larger than {limit} bytes")
    delivery = Delivery(
        method=request.method,
        url=_called_url(request),
        query={key: request.GET.get(key, "") for key in request.GET},
        headers=dict(request.headers),
        body=body,
    )
    try:
        connector = connector_for(account.kind)
        if request.method == "GET":
            if not account.enabled:
                return json_error(403, f"channel account {account.pk} is disabled")
            answer = connector.handshake(credentials=account.credentials(), delivery=delivery)
            return HttpResponse(answer.body, content_type=answer.content_type)
        outcome = delivery_receive(account=account, request=delivery)
    except ConnectorError as exc:
        return json_error(exc.http_status, exc.message)
    expected = getattr(connector, "ANSWER", None)
    if expected is not None:
        # Stored, so ours to deal with (a failure is re-run from the admin): the platform gets the answer it
        # expects, or it tells the customer we cannot serve them (WeChat) or retries (Twilio).
        body_text, content_type = expected
        return HttpResponse(body_text, content_type=content_type)
    return _outcome_json(outcome)


def _called_url(request: HttpRequest) -> str:
    """The URL the platform called, as it signed it: HELPDESK_BASE_URL (the public address, ahead of any proxy)
    with the path and query string received."""
    return settings.HELPDESK_BASE_URL.rstrip("/") + request.get_full_path()

"""Webhook endpoints: platforms deliver messages here. Every answer is JSON; none is ever a 500."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tickets.connectors.base import ConnectorError
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
def api_webhook(request: HttpRequest, account_id: int) -> JsonResponse:
    """POST /webhooks/api/<account id>/: a signed JSON message from the generic API channel."""
    if request.method != "POST":
        return json_error(405, f"{request.method} is not allowed here; POST a signed JSON message", Allow="POST")
    account = ChannelAccount.objects.filter(pk=account_id, kind=ChannelKind.API).first()
    if account is None:
        return json_error(404, f"there is no API channel account {account_id}")
    limit = settings.HELPDESK_WEBHOOK_MAX_BYTES
    body = _read_body(request, limit)
    if body is None:
        return json_error(413, f"the body is larger than {limit} bytes")
    try:
        outcome = delivery_receive(account=account, body=body, headers=dict(request.headers))
    except ConnectorError as exc:
        return json_error(exc.http_status, exc.message)
    return _outcome_json(outcome)

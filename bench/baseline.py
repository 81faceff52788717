"""The baseline of the ingest benchmark: the least a webhook endpoint can do on this stack.

It goes through the same server, middleware and database as the real webhook, and commits exactly one
InboundDelivery row (the same body and headers the real endpoint stores) without looking anything up,
verifying or processing it. The real endpoint's throughput is reported as a fraction of this one.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tickets.models import InboundDelivery


@csrf_exempt
def bare_insert(request: HttpRequest, account_id: int) -> JsonResponse:
    """POST /bench/bare-insert/<account id>/: store the body as one InboundDelivery row, answer its id."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    # No account lookup and no explicit transaction: one INSERT in autocommit is the floor we measure against.
    delivery = InboundDelivery.objects.create(
        channel_account_id=account_id, body=request.body, headers=dict(request.headers)
    )
    return JsonResponse({"delivery": delivery.pk})

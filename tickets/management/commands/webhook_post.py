"""Post one signed message to a running helpdesk's API channel webhook, as an integration would."""

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tickets.connectors import api
from tickets.models import ChannelAccount


class Command(BaseCommand):
    help = "Sign and POST a message to /webhooks/api/<account>/ of a running server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--account", type=int, required=True, help="The API channel account id.")
        parser.add_argument("--sender-id", required=True)
        parser.add_argument("--sender-name", default="")
        parser.add_argument("--text", required=True)
        parser.add_argument("--message-id", default="", help="Defaults to a fresh UUID.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The helpdesk's base URL.")

    def handle(self, *args: Any, **options: Any) -> None:
        account = ChannelAccount.objects.filter(pk=options["account"]).first()
        if account is None:
            raise CommandError(f"there is no channel account {options['account']}")
        body = json.dumps(
            {
                "message_id": options["message_id"] or str(uuid.uuid4()),
                "sender_id": options["sender_id"],
                "sender_name": options["sender_name"],
                "text": options["text"],
                "sent_at": timezone.now().isoformat(),
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - an http(s) URL given by the operator
            f"{options['url'].rstrip('/')}/webhooks/api/{account.pk}/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", api.SIGNATURE_HEADER: api.sign(account.secret, body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - an http(s) URL given by the operator
                self.stdout.write(f"{response.status} {response.read().decode()}")
        except urllib.error.HTTPError as exc:
            raise CommandError(f"{exc.code} {exc.read().decode()}") from exc

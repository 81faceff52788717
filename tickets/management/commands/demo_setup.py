"""Load demo data: two teams, an admin, a team lead and two agents, API channel accounts and tickets."""

import json
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from tickets.connectors import api
from tickets.models import ChannelAccount, ChannelKind, Team
from tickets.services.deliveries import delivery_receive

DEMO_USERS = [
    # username, password, is_superuser, is_staff, teams
    ("admin", "admin", True, True, []),
    ("lead", "lead", False, True, ["Support", "Sales"]),
    ("alice", "alice", False, False, ["Support"]),
    ("bob", "bob", False, False, ["Sales"]),
]
DEMO_MESSAGES = [
    ("Support", "wa-100", "Maria Lopez", "Hi, my order #4411 arrived damaged. Can you help?"),
    ("Support", "wa-101", "Ken Sato", "How do I reset my password?"),
    ("Sales", "tg-200", "Priya Raman", "Do you offer volume discounts for 50 seats?"),
]
LEAD_MODEL_PERMS = [
    "view_ticket",
    "change_ticket",
    "view_message",
    "view_inbounddelivery",
    "change_inbounddelivery",
    "view_ticketevent",
    "view_contact",
    "view_contactidentity",
    "view_channelaccount",
    "change_channelaccount",
    "view_team",
]


class Command(BaseCommand):
    help = "Create demo users, teams, channel accounts and a few tickets (does nothing if they exist)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self.stdout.write("Demo data already loaded.")
        else:
            self._load(User)
        self._print_logins()

    @transaction.atomic
    def _load(self, User: Any) -> None:
        teams = {name: Team.objects.create(name=name) for name in ("Support", "Sales")}
        for team in teams.values():
            ChannelAccount.objects.create(
                name=f"{team.name} API", kind=ChannelKind.API, team=team, secret=f"{team.name.lower()}-demo-secret"
            )
        for username, password, is_superuser, is_staff, team_names in DEMO_USERS:
            user = User.objects.create_user(
                username=username, password=password, is_superuser=is_superuser, is_staff=is_staff
            )
            for name in team_names:
                assign_perm("view_team", user, teams[name])
            if username == "lead":
                user.user_permissions.set(Permission.objects.filter(codename__in=LEAD_MODEL_PERMS))
        now = timezone.now()
        for index, (team_name, sender_id, sender_name, text) in enumerate(DEMO_MESSAGES):
            account = ChannelAccount.objects.get(team=teams[team_name])
            body = json.dumps(
                {
                    "message_id": f"demo-{sender_id}",
                    "sender_id": sender_id,
                    "sender_name": sender_name,
                    "text": text,
                    "sent_at": (now - timedelta(minutes=30 - index)).isoformat(),
                }
            ).encode()
            delivery_receive(account=account, body=body, headers={api.SIGNATURE_HEADER: api.sign(account.secret, body)})

    def _print_logins(self) -> None:
        self.stdout.write("Demo logins (username / password):")
        for username, password, is_superuser, is_staff, team_names in DEMO_USERS:
            role = "superuser, admin" if is_superuser else ("team lead, admin" if is_staff else "agent")
            teams = ", ".join(team_names) or "all teams"
            self.stdout.write(f"  {username} / {password}   ({role}; {teams})")
        for account in ChannelAccount.objects.select_related("team").order_by("id"):
            self.stdout.write(
                f"  webhook for {account.team.name}: POST /webhooks/api/{account.pk}/  secret {account.secret}"
            )

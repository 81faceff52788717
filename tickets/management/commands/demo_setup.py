"""Load demo data: two teams, an admin, a team lead and two agents, API channel accounts, SLA and escalation
policies, tickets."""

import json
from datetime import time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from policies.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    OpeningInterval,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)
from policies.selectors import MANAGE_PERMISSION, escalation_tickets_to_recompute
from policies.services.recompute import sla_recompute
from tickets.connectors import api
from tickets.connectors.base import Delivery
from tickets.models import CannedResponse, ChannelAccount, ChannelKind, Priority, Tag, Team
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
    # Contacts' files (fetched again when they failed) and WhatsApp's approved templates of their accounts.
    "view_attachment",
    "change_attachment",
    "view_messagetemplate",
    "add_messagetemplate",
    "change_messagetemplate",
    "delete_messagetemplate",
    "view_team",
    "view_tag",
    "add_tag",
    # Their teams' calendars and policies (which ones: the guardian manage_policies grant on the team).
    "view_businesscalendar",
    "add_businesscalendar",
    "change_businesscalendar",
    "delete_businesscalendar",
    "view_openinginterval",
    "add_openinginterval",
    "change_openinginterval",
    "delete_openinginterval",
    "view_calendarholiday",
    "add_calendarholiday",
    "change_calendarholiday",
    "delete_calendarholiday",
    "view_slapolicy",
    "add_slapolicy",
    "change_slapolicy",
    "delete_slapolicy",
    "view_slatarget",
    "add_slatarget",
    "change_slatarget",
    "delete_slatarget",
]
# Their escalation policies, and what escalations did on the tickets they see.
LEAD_ESCALATION_PERMS = [
    "view_escalationpolicy",
    "add_escalationpolicy",
    "change_escalationpolicy",
    "delete_escalationpolicy",
    "view_escalationlevel",
    "add_escalationlevel",
    "change_escalationlevel",
    "delete_escalationlevel",
    "view_escalationfiring",
    "view_webhookcall",
    "view_webhookattempt",
]
# Saved replies (team name or username, name, title, body): one per team, and one of Alice's own.
DEMO_CANNED = [
    (
        "Support",
        "refund",
        "Refund on its way",
        "Hi {{ contact.first_name }},\n\nI'm sorry about this. I've started a full refund for ticket "
        "#{{ ticket.number }}: it shows on your statement within 5 business days.\n\n{{ agent.name }}, {{ team.name }}",
    ),
    (
        "Sales",
        "volume-discount",
        "Volume discounts",
        "Hi {{ contact.first_name }}, thanks for asking! From 20 seats we take 15% off, from 50 seats 25%. "
        "Shall I send you a quote?\n\n{{ agent.name }}, {{ team.name }}",
    ),
    (
        "alice",
        "thanks",
        "Thanks and goodbye",
        "Thanks, {{ contact.first_name }}! Glad we sorted it out. {{ agent.first_name }}",
    ),
]
# The lead keeps the teams' saved replies in the admin (agents keep their own on /canned/).
LEAD_CANNED_PERMS = ["view_cannedresponse", "add_cannedresponse", "change_cannedresponse", "delete_cannedresponse"]
SALES_POLICY = "Sales, office hours"
SALES_ESCALATIONS = "Sales escalations"
H = timedelta(hours=1)
# Targets per priority: first response, next response, resolution.
DEMO_TARGETS = {
    Priority.URGENT: (H / 4, H / 2, 4 * H),
    Priority.HIGH: (H / 2, H, 8 * H),
    Priority.NORMAL: (H, 2 * H, 24 * H),
    Priority.LOW: (4 * H, 8 * H, 72 * H),
}


class Command(BaseCommand):
    help = "Create demo users, teams, channel accounts and a few tickets (does nothing if they exist)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self.stdout.write("Demo data already loaded.")
            # Demo data loaded before escalations existed gets its escalation policy now.
            self._load_escalations(User, recompute=True)
        else:
            self._load(User)
        self._load_canned(User)
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
                for team in teams.values():
                    assign_perm(MANAGE_PERMISSION, user, team)
        self._load_policies(teams)
        # Before the tickets, so that the Sales ticket follows it from the start.
        self._load_escalations(User, recompute=False)
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
            headers = {api.SIGNATURE_HEADER: api.sign(account.secret, body)}
            request = Delivery(method="POST", url="", query={}, headers=headers, body=body)
            delivery_receive(account=account, request=request)

    def _load_policies(self, teams: dict[str, Team]) -> None:
        """Sales answers in office hours (London, Mon-Fri 09-17); everything else counts every hour."""
        office = BusinessCalendar.objects.create(name="Sales office", team=teams["Sales"], time_zone="Europe/London")
        for weekday in range(5):
            OpeningInterval.objects.create(calendar=office, weekday=weekday, start=time(9), end=time(17))
        sales = SlaPolicy.objects.create(name=SALES_POLICY, position=10, calendar=office)
        sales.teams.set([teams["Sales"]])
        standard = SlaPolicy.objects.create(name="Standard, around the clock", position=100)
        for policy in (sales, standard):
            for priority, durations in DEMO_TARGETS.items():
                kinds = (TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE, TargetKind.RESOLUTION)
                for kind, duration in zip(kinds, durations, strict=True):
                    SlaTarget.objects.create(policy=policy, priority=priority, kind=kind, duration=duration)

    @transaction.atomic
    def _load_escalations(self, User: Any, *, recompute: bool) -> None:
        """Sales escalations: warn the lead 15 business minutes before a first response is due, raise the
        priority at the breach, and give the lead a ticket still unsolved an hour past its resolution target."""
        lead = User.objects.filter(username="lead").first()
        sales = SlaPolicy.objects.filter(name=SALES_POLICY).first()
        if lead is None or sales is None or EscalationPolicy.objects.filter(name=SALES_ESCALATIONS).exists():
            return  # loaded already, or the demo's lead or Sales policy is gone: nothing to tie it to
        lead.user_permissions.add(*Permission.objects.filter(codename__in=LEAD_ESCALATION_PERMS))
        policy = EscalationPolicy.objects.create(name=SALES_ESCALATIONS, position=10, sla_policy=sales)
        warning = EscalationLevel.objects.create(
            policy=policy, number=1, kind=TargetKind.FIRST_RESPONSE, offset=-timedelta(minutes=15)
        )
        warning.notify_users.set([lead])
        breach = EscalationLevel.objects.create(
            policy=policy,
            number=2,
            kind=TargetKind.FIRST_RESPONSE,
            offset=timedelta(0),
            set_priority=Priority.HIGH,
            note="First response is overdue: the priority was raised to High.",
        )
        escalated, _ = Tag.objects.get_or_create(name="escalated")
        breach.add_tags.set([escalated])
        EscalationLevel.objects.create(policy=policy, number=3, kind=TargetKind.RESOLUTION, offset=H, assign_user=lead)
        if recompute:
            ticket_ids = escalation_tickets_to_recompute(policy)
            sla_recompute(ticket_ids=ticket_ids, now=timezone.now(), reason=f"escalation policy “{policy.name}” added")

    def _load_canned(self, User: Any) -> None:
        """The demo's saved replies (once), and the lead's permissions to keep the teams' ones in the admin."""
        lead = User.objects.filter(username="lead").first()
        if lead is not None:
            lead.user_permissions.add(*Permission.objects.filter(codename__in=LEAD_CANNED_PERMS))
        if CannedResponse.objects.exists():
            return
        for team_or_user, name, title, body in DEMO_CANNED:
            team = Team.objects.filter(name=team_or_user).first()
            owner = None if team else User.objects.filter(username=team_or_user).first()
            if team or owner:
                CannedResponse.objects.create(team=team, owner=owner, name=name, title=title, body=body)

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

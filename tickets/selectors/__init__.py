"""Reads that carry a rule. `visible_tickets(user)` is the only place that decides who sees which ticket.

The reads of one part of the workspace live in a module of their own here (tickets.selectors.<part>)."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import Count, Prefetch, Q, QuerySet

from tickets.models import (
    Attachment,
    AttachmentState,
    Contact,
    ContactIdentity,
    Message,
    Notification,
    Team,
    TeamGroupObjectPermission,
    TeamUserObjectPermission,
    Ticket,
    TicketEvent,
    TicketGroupObjectPermission,
    TicketUserObjectPermission,
)

# Holding `view_team` on a team means seeing all of its tickets; `view_ticket` on a ticket, just that one.
TEAM_PERMISSION = "view_team"
TICKET_PERMISSION = "view_ticket"

User = AuthUser | AnonymousUser


def _is_agent(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def visible_team_ids(user: User) -> list[int]:
    """The ids of the teams whose tickets `user` sees (one query)."""
    return team_ids_with_permission(user, TEAM_PERMISSION)


def team_ids_with_permission(user: User, codename: str) -> list[int]:
    """The ids of the teams on which `user` holds `codename`, directly or through a group (one query)."""
    if not _is_agent(user):
        return []
    if getattr(user, "is_superuser", False):
        return list(Team.objects.values_list("id", flat=True))
    assert isinstance(user, AuthUser)
    direct = TeamUserObjectPermission.objects.filter(user=user, permission__codename=codename)
    via_group = TeamGroupObjectPermission.objects.filter(group__user=user, permission__codename=codename)
    return list(
        Team.objects.filter(
            Q(id__in=direct.values("content_object_id")) | Q(id__in=via_group.values("content_object_id"))
        ).values_list("id", flat=True)
    )


def _team_grant(team_ids: Iterable[int]) -> Q:
    """Users holding `view_team` on any of `team_ids`, directly or through a group, as a filter on users."""
    team_ids = list(team_ids)
    direct = TeamUserObjectPermission.objects.filter(
        permission__codename=TEAM_PERMISSION, content_object_id__in=team_ids
    )
    via_group = TeamGroupObjectPermission.objects.filter(
        permission__codename=TEAM_PERMISSION, content_object_id__in=team_ids
    )
    return Q(id__in=direct.values("user_id")) | Q(groups__in=via_group.values("group_id"))


def assignable_agents(user: User) -> QuerySet[AuthUser]:
    """Active users who see at least one of the teams `user` sees: whom `user` may assign tickets to."""
    return AuthUser.objects.filter(
        Q(is_superuser=True) | _team_grant(visible_team_ids(user)), is_active=True
    ).distinct()


def team_members(team_ids: Iterable[int]) -> QuerySet[AuthUser]:
    """Active users who see the tickets of any of `team_ids` through a grant (directly or by a group)."""
    return AuthUser.objects.filter(_team_grant(team_ids), is_active=True).distinct()


def users_seeing_ticket(ticket: Ticket, user_ids: Iterable[int]) -> QuerySet[AuthUser]:
    """Those of `user_ids` who may see `ticket` (the rule of visible_tickets, asked the other way round)."""
    single = Q(content_object_id=ticket.pk, permission__codename=TICKET_PERMISSION)
    return AuthUser.objects.filter(
        Q(is_superuser=True)
        | _team_grant([ticket.team_id])
        | Q(id__in=TicketUserObjectPermission.objects.filter(single).values("user_id"))
        | Q(groups__in=TicketGroupObjectPermission.objects.filter(single).values("group_id")),
        id__in=list(user_ids),
        is_active=True,
    ).distinct()


def user_notifications(user: User) -> QuerySet[Notification]:
    """`user`'s own notifications about tickets they may still see, newest first, with their tickets."""
    if not _is_agent(user):
        return Notification.objects.none()
    assert isinstance(user, AuthUser)
    return (
        Notification.objects.filter(user=user, ticket__in=visible_tickets(user))
        .select_related("ticket")
        .order_by("-id")
    )


def unread_notification_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """How many unread notifications each of `user_ids` has (one query)."""
    rows = (
        Notification.objects.filter(user_id__in=list(user_ids), read_at__isnull=True)
        .values("user_id")
        .annotate(count=Count("id"))
    )
    return {row["user_id"]: row["count"] for row in rows}


def granted_ticket_ids(user: AuthUser) -> QuerySet[Ticket, Any]:
    """A subquery of the tickets `user` was granted one by one, outside their teams."""
    direct = TicketUserObjectPermission.objects.filter(user=user, permission__codename=TICKET_PERMISSION)
    via_group = TicketGroupObjectPermission.objects.filter(group__user=user, permission__codename=TICKET_PERMISSION)
    return Ticket.objects.filter(
        Q(id__in=direct.values("content_object_id")) | Q(id__in=via_group.values("content_object_id"))
    ).values("id")


def tickets_granted_singly(ticket_ids: Iterable[int]) -> set[int]:
    """Those of `ticket_ids` that someone (a user or a group) was granted one by one (two queries at most)."""
    ticket_ids = list(ticket_ids)
    granted: set[int] = set()
    for model in (TicketUserObjectPermission, TicketGroupObjectPermission):
        granted |= set(
            model.objects.filter(permission__codename=TICKET_PERMISSION, content_object_id__in=ticket_ids).values_list(
                "content_object_id", flat=True
            )
        )
    return granted


def visible_tickets(user: User) -> QuerySet[Ticket]:
    """Every ticket `user` may see: their teams' tickets plus single-ticket grants; superusers see all."""
    if not _is_agent(user):
        return Ticket.objects.none()
    if getattr(user, "is_superuser", False):
        return Ticket.objects.all()
    assert isinstance(user, AuthUser)
    team_ids = visible_team_ids(user)
    return Ticket.objects.filter(Q(team_id__in=team_ids) | Q(id__in=granted_ticket_ids(user)))


def ticket_thread(ticket: Ticket) -> QuerySet[Message]:
    """The messages of `ticket`, oldest first, with their authors and attachments."""
    return ticket.messages.select_related("author", "template").prefetch_related("attachments").order_by("id")


def visible_attachments(user: User) -> QuerySet[Attachment]:
    """The stored files of the tickets `user` may see (the only way a file leaves storage)."""
    return Attachment.objects.filter(
        message__ticket__in=visible_tickets(user), state=AttachmentState.STORED
    ).select_related("message")


def live_subscription(user: User) -> tuple[list[int], list[int]]:
    """What a websocket of `user` listens to: (team ids, single-ticket ids)."""
    if not _is_agent(user):
        return [], []
    team_ids = visible_team_ids(user)
    if getattr(user, "is_superuser", False) or not isinstance(user, AuthUser):
        return team_ids, []
    return team_ids, list(granted_ticket_ids(user).values_list("id", flat=True))


def events_after(user: User, *, after_id: int, limit: int = 500) -> QuerySet[TicketEvent]:
    """The events on tickets `user` sees with ids above `after_id`, oldest first: a reconnect's catch-up."""
    return (
        TicketEvent.objects.filter(id__gt=after_id, ticket__in=visible_tickets(user))
        .select_related("ticket")
        .order_by("id")[:limit]
    )


def latest_event_id() -> int:
    """The id of the newest ticket event, where a freshly rendered page starts listening."""
    newest = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def visible_contacts(user: User) -> QuerySet[Contact]:
    """The contacts `user` may see: those with at least one ticket in visible_tickets(user)."""
    return Contact.objects.filter(id__in=visible_tickets(user).values("contact_id"))


def _identities_shown(user: User) -> Q:
    """Which identities `user` is shown: those on their teams' channel accounts, and those of the tickets
    they see. An identity elsewhere (another brand's number, say) stays as private as the admin keeps it."""
    on_their_accounts = Q(channel_account__team_id__in=visible_team_ids(user))
    return on_their_accounts | Q(id__in=visible_tickets(user).values("identity_id"))


def contact_identities(user: User, contact: Contact) -> QuerySet[ContactIdentity]:
    """The identities of `contact` that `user` is shown, with their channel accounts, by channel."""
    return (
        contact.identities.filter(_identities_shown(user))
        .select_related("channel_account")
        .order_by("channel_account__kind", "channel_account__name", "id")
    )


def contact_tickets(user: User, contact: Contact) -> QuerySet[Ticket]:
    """The tickets of `contact` that `user` may see, newest activity first."""
    return visible_tickets(user).filter(contact=contact).order_by("-last_activity_at", "-id")


def contact_merge_candidates(user: User, *, contact: Contact, query: str, limit: int = 20) -> list[Contact]:
    """Other contacts `user` sees whose name, or an identity's platform id or profile name, holds `query`;
    each with the identities `user` is shown, so two people of the same name can be told apart."""
    shown = _identities_shown(user)
    matching = ContactIdentity.objects.filter(shown, Q(external_id__icontains=query) | Q(display_name__icontains=query))
    identities = ContactIdentity.objects.filter(shown).select_related("channel_account").order_by("id")
    candidates = (
        visible_contacts(user)
        .exclude(pk=contact.pk)
        .filter(Q(display_name__icontains=query) | Q(id__in=matching.values("contact_id")))
        .prefetch_related(Prefetch("identities", queryset=identities))
        .order_by("display_name", "pk")
    )
    return list(candidates[:limit])

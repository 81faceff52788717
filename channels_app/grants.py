"""Telling open sockets that what their user may see has changed, so they re-derive their groups.

Anything that changes the answer of `visible_tickets(user)` must reach the user's sockets: a team or
ticket grant to the user or to one of their groups, joining or leaving a group, a group deleted, the user
deactivated or made (or unmade) a superuser, and signing out, which closes the sockets of that session.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from channels_app.bus import publish
from channels_app.groups import user_group
from tickets.models import (
    TeamGroupObjectPermission,
    TeamUserObjectPermission,
    TicketGroupObjectPermission,
    TicketUserObjectPermission,
)

GRANT_MODELS = (
    TeamUserObjectPermission,
    TeamGroupObjectPermission,
    TicketUserObjectPermission,
    TicketGroupObjectPermission,
)


def _notify(user_ids: Iterable[int], message: dict[str, Any] | None = None) -> None:
    groups = [user_group(uid) for uid in set(user_ids)]
    if groups:
        payload = message or {"type": "grants.changed"}
        transaction.on_commit(lambda: publish(groups, payload))


def _grant_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    if hasattr(instance, "user_id"):
        _notify([instance.user_id])
    else:
        _notify(instance.group.user_set.values_list("id", flat=True))


def _membership_changed(sender: type, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if isinstance(instance, Group):
        # group.user_set changed: the users named, or on clear everyone still in it.
        _notify(pk_set if pk_set else instance.user_set.values_list("id", flat=True))
    else:
        _notify([instance.pk])


def _group_deleting(sender: type, instance: Group, **kwargs: Any) -> None:
    # Collect the members now: by the time the grant rows are deleted, the memberships are gone.
    _notify(list(instance.user_set.values_list("id", flat=True)))


def _user_saved(sender: type, instance: User, created: bool, **kwargs: Any) -> None:
    if not created:
        _notify([instance.pk])


def _signed_out(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        _notify([user.pk], {"type": "session.ended", "session_key": session_key})


def connect_grant_signals() -> None:
    """Connect every change that can alter what a user sees to a refresh of that user's sockets."""
    for model in GRANT_MODELS:
        post_save.connect(_grant_changed, sender=model, dispatch_uid=f"grants-save-{model.__name__}")
        post_delete.connect(_grant_changed, sender=model, dispatch_uid=f"grants-delete-{model.__name__}")
    m2m_changed.connect(_membership_changed, sender=User.groups.through, dispatch_uid="grants-membership")
    pre_delete.connect(_group_deleting, sender=Group, dispatch_uid="grants-group-delete")
    post_save.connect(_user_saved, sender=User, dispatch_uid="grants-user-save")
    user_logged_out.connect(_signed_out, dispatch_uid="grants-logout")

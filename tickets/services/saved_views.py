"""An agent's saved inbox views: a name for an inbox query string, kept to open again. Only their owner
ever reads, changes or deletes one."""

from typing import Any

from django.db import IntegrityError, transaction

from tickets.models import SavedView

NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length or 80
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length or 2000
# Enough for any real way of working; a bound, so that one account cannot fill the table.
SAVED_VIEWS_PER_USER = 50


class SavedViewRefused(ValueError):
    """A view that cannot be saved; the message says why, for the agent."""


def saved_view_save(*, user: Any, name: str, query: str) -> tuple[SavedView, bool]:
    """Save `query` (an inbox query string) as `user`'s view `name`: (the view, whether it is new).

    Saving under a name the user already has replaces that view's query."""
    name = " ".join(name.split())
    if not name:
        raise SavedViewRefused("Give the view a name.")
    if len(name) > NAME_MAX_LENGTH:
        raise SavedViewRefused(f"A view's name has at most {NAME_MAX_LENGTH} characters.")
    if len(query) > QUERY_MAX_LENGTH:
        raise SavedViewRefused("This view has too many filters to be saved; remove some and try again.")
    with transaction.atomic():
        existing = SavedView.objects.select_for_update().filter(user=user, name=name).first()
        if existing is not None:
            existing.query = query
            existing.save(update_fields=["query"])
            return existing, False
        if SavedView.objects.filter(user=user).count() >= SAVED_VIEWS_PER_USER:
            raise SavedViewRefused(f"You have {SAVED_VIEWS_PER_USER} saved views already; delete one first.")
        try:
            with transaction.atomic():
                return SavedView.objects.create(user=user, name=name, query=query), True
        except IntegrityError:
            # Saved under the same name at the same moment (two tabs): the name is taken; keep the later query.
            SavedView.objects.filter(user=user, name=name).update(query=query)
            return SavedView.objects.get(user=user, name=name), False


def saved_view_delete(*, user: Any, view_id: int) -> SavedView:
    """Delete `user`'s view `view_id`; SavedView.DoesNotExist when they have none by that id."""
    with transaction.atomic():
        view = SavedView.objects.select_for_update().get(user=user, pk=view_id)
        view.delete()
    return view

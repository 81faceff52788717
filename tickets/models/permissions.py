"""Direct-foreign-key object permissions for guardian, so a visibility check is an indexed join.

Guardian's generic tables key objects by a text `object_pk`; these tables key them by a real foreign key,
which `visible_tickets` filters with `team_id IN (...)` and an indexed join on tickets.
"""

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from tickets.models.teams import Team
from tickets.models.tickets import Ticket


class TeamUserObjectPermission(UserObjectPermissionBase):
    """A permission one user holds on one team (e.g. `view_team`: sees its tickets)."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class TeamGroupObjectPermission(GroupObjectPermissionBase):
    """A permission a user group holds on one team."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class TicketUserObjectPermission(UserObjectPermissionBase):
    """A permission one user holds on a single ticket, an exception to the team rule."""

    content_object = models.ForeignKey(Ticket, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class TicketGroupObjectPermission(GroupObjectPermissionBase):
    """A permission a user group holds on a single ticket."""

    content_object = models.ForeignKey(Ticket, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass

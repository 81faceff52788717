"""The models of the work itself: teams, contacts, channel accounts, deliveries, tickets and messages."""

from tickets.models.accounts import ChannelAccount, ChannelKind, DeliveryState, InboundDelivery
from tickets.models.contacts import Contact, ContactIdentity
from tickets.models.messages import (
    Attachment,
    AttachmentState,
    DeliveryStatus,
    Direction,
    Message,
    MessageTemplate,
)
from tickets.models.notifications import Notification
from tickets.models.permissions import (
    TeamGroupObjectPermission,
    TeamUserObjectPermission,
    TicketGroupObjectPermission,
    TicketUserObjectPermission,
)
from tickets.models.teams import Team
from tickets.models.tickets import Counter, EventKind, Priority, Status, Tag, Ticket, TicketEvent
from tickets.models.workspace import CannedResponse, SavedView

__all__ = [
    "Attachment",
    "AttachmentState",
    "CannedResponse",
    "ChannelAccount",
    "ChannelKind",
    "Contact",
    "ContactIdentity",
    "Counter",
    "DeliveryState",
    "DeliveryStatus",
    "Direction",
    "EventKind",
    "InboundDelivery",
    "Message",
    "MessageTemplate",
    "Notification",
    "Priority",
    "SavedView",
    "Status",
    "Tag",
    "Team",
    "TeamGroupObjectPermission",
    "TeamUserObjectPermission",
    "Ticket",
    "TicketEvent",
    "TicketGroupObjectPermission",
    "TicketUserObjectPermission",
]

"""Presence and typing on the agents' websocket: who has a ticket open, and who is typing a reply to it.

Client messages (to AgentConsumer):
- {"type": "watch", "ticket": <ticket id>}: this page shows that ticket. Refused with an error frame that
  says no more than "no such ticket" (and the id asked about) when the user may not see it.
- {"type": "unwatch"}: the page no longer shows it (closing the socket does the same).
- {"type": "typing", "ticket": <ticket id>}: the user is typing a reply on the ticket they watch.
Server frames:
- {"type": "presence", "ticket": id, "viewers": [{"id", "name"}, ...], "you": <the user's id>} whenever the
  set of users watching changes (the user themself among them: the page leaves "you" out);
- {"type": "typing", "ticket": id, "user": {"id", "name"}} to the other users watching;
- {"type": "ticket.left", "ticket": {"id": id}} when the watched ticket is no longer the user's to see.

How the sockets find each other (the group, heartbeats, expiry): channels_app.presence.
"""

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from channels_app.departures import left_frame
from channels_app.presence import HEARTBEAT_SECONDS, Roster, Viewer, presence_group
from tickets.models import Ticket
from tickets.selectors import users_seeing_ticket, visible_tickets

logger = logging.getLogger(__name__)

# A browser sends "typing" at most every 2 s (and once at once after sending a reply); a socket sending
# faster is throttled to this.
TYPING_MIN_INTERVAL = 0.5


def viewer_of(user: User) -> Viewer:
    """How `user` appears to the others watching a ticket."""
    return Viewer(id=user.pk, name=user.get_full_name() or user.get_username())


class WatchingMixin:
    """The presence half of AgentConsumer: the ticket this socket watches, and what it hears about it."""

    # Provided by the consumer.
    user: User
    channel_name: str
    channel_layer: Any
    if TYPE_CHECKING:

        async def send_json(self, content: Any, close: bool = False) -> None: ...

    def watching_init(self) -> None:
        """Start watching nothing."""
        self.watching: int | None = None
        self.roster = Roster()
        self.heartbeat: asyncio.Task[None] | None = None
        self.presence_sent: list[Viewer] | None = None
        self.typed_at = float("-inf")

    # What the browser says.

    async def watch(self, content: dict[str, Any]) -> None:
        """Start watching the ticket named in `content` (leaving any other), if the user may see it."""
        ticket_id = content.get("ticket")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            await self.send_json({"type": "error", "error": "'ticket' must be a ticket id"})
            return
        if not await database_sync_to_async(_sees)(self.user, ticket_id):
            # The same answer for a ticket that exists elsewhere and one that does not (the id is the page's own).
            await self.send_json({"type": "error", "error": "no such ticket", "ticket": ticket_id})
            return
        if self.watching == ticket_id:
            self.presence_sent = None
            await self._send_presence()
            return
        await self.unwatch()
        now = time.time()
        self.watching, self.roster, self.presence_sent = ticket_id, Roster(), None
        self.roster.heard(self.channel_name, viewer_of(self.user), now)
        await self.channel_layer.group_add(presence_group(ticket_id), self.channel_name)
        await self._tell_group("presence.join", at=now)
        await self._send_presence()
        self.heartbeat = asyncio.create_task(self._beat_forever(ticket_id))

    async def unwatch(self) -> None:
        """Stop watching; the others watching hear that this socket left."""
        ticket_id, self.watching = self.watching, None
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        if ticket_id is None:
            return
        # Out of the group first, so this socket does not hear its own goodbye.
        await self.channel_layer.group_discard(presence_group(ticket_id), self.channel_name)
        await self.channel_layer.group_send(
            presence_group(ticket_id), {"type": "presence.leave", "ticket": ticket_id, "channel": self.channel_name}
        )

    async def typing(self, content: dict[str, Any]) -> None:
        """Tell the others watching that this user is typing a reply."""
        if self.watching is None or content.get("ticket") != self.watching:
            await self.send_json({"type": "error", "error": "watch the ticket before typing on it"})
            return
        now = time.monotonic()
        if now - self.typed_at < TYPING_MIN_INTERVAL:
            return
        self.typed_at = now
        await self._tell_group("presence.typing")

    def event_seen(self, frame: dict[str, Any]) -> None:
        """A ticket event reached this socket: a reply of the user's own makes their next keystroke news at once,
        as the browser sends it (the reply ended the warning the others saw)."""
        if frame["kind"] == "message_out" and frame.get("actor") == self.user.pk:
            self.typed_at = float("-inf")

    async def recheck_watched(self) -> None:
        """After the user's grants changed: leave the watched ticket if it is no longer theirs to see, and say so
        (no event tells the page: nothing happened to the ticket)."""
        ticket_id = self.watching
        if ticket_id is not None and not await database_sync_to_async(_sees)(self.user, ticket_id):
            await self.unwatch()
            await self.send_json(left_frame(None, ticket_id))

    # What the other sockets watching the same ticket say (channel-layer messages).

    async def presence_join(self, message: dict[str, Any]) -> None:
        if not self._about_watched(message):
            return
        if message["channel"] != self.channel_name:
            # Answer the newcomer alone, so that it learns who was already here.
            reply = {**self._own_message("presence.here"), "at": time.time()}
            await self.channel_layer.send(message["channel"], reply)
        await self._heard(message)

    async def presence_here(self, message: dict[str, Any]) -> None:
        if self._about_watched(message):
            await self._heard(message)

    async def presence_beat(self, message: dict[str, Any]) -> None:
        # A beat from a socket this one never heard join (it joined while this one's join was in flight) adds it.
        if self._about_watched(message):
            await self._heard(message)

    async def presence_leave(self, message: dict[str, Any]) -> None:
        if self._about_watched(message) and self.roster.left(message["channel"]):
            await self._send_presence()

    async def presence_typing(self, message: dict[str, Any]) -> None:
        if not self._about_watched(message):
            return
        typist = Viewer.from_json(message["user"])
        if typist.id != self.user.pk:  # never told about their own typing, from any of their tabs
            await self.send_json({"type": "typing", "ticket": self.watching, "user": typist.as_json()})

    async def presence_tick(self, message: dict[str, Any]) -> None:
        """Every HEARTBEAT_SECONDS (a message this socket sends itself, with the time): beat, and expire the
        sockets not heard of for too long (a crashed process says no goodbye)."""
        if not self._about_watched(message):
            return
        now = float(message["now"])
        # Its own entry first, so that a long gap never expires the socket itself.
        self.roster.heard(self.channel_name, viewer_of(self.user), now)
        changed = self.roster.expire(now)
        await self._tell_group("presence.beat", at=now)
        if changed:
            await self._send_presence()

    # Helpers.

    def _about_watched(self, message: dict[str, Any]) -> bool:
        # A message about a ticket this socket has stopped watching (it arrived late) is ignored.
        return self.watching is not None and message.get("ticket") == self.watching

    def _own_message(self, kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "ticket": self.watching,
            "channel": self.channel_name,
            "user": viewer_of(self.user).as_json(),
        }

    async def _tell_group(self, kind: str, **extra: Any) -> None:
        assert self.watching is not None
        await self.channel_layer.group_send(presence_group(self.watching), {**self._own_message(kind), **extra})

    async def _heard(self, message: dict[str, Any]) -> None:
        viewer = Viewer.from_json(message["user"])
        if self.roster.heard(message["channel"], viewer, float(message["at"])):
            await self._send_presence()

    async def _send_presence(self) -> None:
        """Send the page the users watching, as far as they may see the ticket, when that has changed."""
        ticket_id = self.watching
        if ticket_id is None:
            return
        viewers = self.roster.viewers()
        allowed = await database_sync_to_async(_allowed_ids)(ticket_id, [viewer.id for viewer in viewers])
        shown = [viewer for viewer in viewers if viewer.id in allowed]
        if shown == self.presence_sent:
            return
        self.presence_sent = shown
        await self.send_json(
            {
                "type": "presence",
                "ticket": ticket_id,
                "viewers": [viewer.as_json() for viewer in shown],
                "you": self.user.pk,
            }
        )

    async def _beat_forever(self, ticket_id: int) -> None:
        # The tick is a message to itself, so it is handled in turn with everything else the socket hears.
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                tick = {"type": "presence.tick", "ticket": ticket_id, "now": time.time()}
                await self.channel_layer.send(self.channel_name, tick)
            except Exception:
                # The layer is down for a moment: the others expire this socket unless a later beat comes.
                logger.exception("could not send the presence tick of %s", self.channel_name)


def _sees(user: User, ticket_id: int) -> bool:
    return visible_tickets(user).filter(pk=ticket_id).exists()


def _allowed_ids(ticket_id: int, user_ids: list[int]) -> set[int]:
    # Every roster entry came from a socket that passed the check, but a grant may have been revoked since
    # (and that socket's process may be gone): the list shows only those who may see the ticket now.
    ticket = Ticket.objects.only("id", "team_id").filter(pk=ticket_id).first()
    if ticket is None:
        return set()
    return set(users_seeing_ticket(ticket, user_ids).values_list("id", flat=True))

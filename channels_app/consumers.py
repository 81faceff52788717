"""The agents' websocket: live ticket events for exactly the tickets the user may see, and presence."""

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import User

from channels_app.bus import event_frame
from channels_app.departures import departures_after
from channels_app.groups import team_group, ticket_group, user_group
from channels_app.watching import WatchingMixin
from tickets.selectors import events_after, live_subscription

CATCH_UP_PAGE = 500
CATCH_UP_PAGES = 10


class AgentConsumer(AsyncJsonWebsocketConsumer, WatchingMixin):
    """`/ws/agent/`: authenticated by the session; joins the groups `visible_tickets` allows.

    Client messages: {"type": "resume", "after": <event id>} sends the missed events after that id; "watch",
    "unwatch" and "typing" (channels_app.watching).
    Server frames: {"type": "ticket.event", "id": ..., "kind": ..., "actor": ..., "ticket": {...}, "data": {...}};
    {"type": "ticket.left", "id": ..., "ticket": {"id": ...}} when a ticket moves to a team the user does not
    see (channels_app.departures); {"type": "notification", "id": ..., "text": ..., "ticket": {...},
    "unread": <count>} for the user's own; the presence and typing frames of channels_app.watching.
    """

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.watching_init()
        self.joined: set[str] = set()
        self.team_ids: set[int] = set()
        self.ticket_ids: set[int] = set()
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            await self.close(code=4401)
            return
        # Join before accepting: the client's first "resume" then covers everything up to the join.
        await self._join(user_group(self.user.pk))
        if await self._refresh_groups():
            await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.unwatch()
        for group in list(self.joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined.clear()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        try:
            content = json.loads(text_data if text_data is not None else (bytes_data or b""))
        except ValueError:
            await self.send_json({"type": "error", "error": "messages must be JSON"})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resume":
            await self.resume(content)
        elif kind == "watch":
            await self.watch(content)
        elif kind == "unwatch":
            await self.unwatch()
        elif kind == "typing":
            await self.typing(content)
        else:
            await self.send_json({"type": "error", "error": 'the "type" is one of resume, watch, unwatch, typing'})

    async def resume(self, content: dict[str, Any]) -> None:
        """Send the events after content["after"], a page at a time, then say whether that was all."""
        after = content.get("after")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            await self.send_json({"type": "error", "error": "'after' must be a non-negative event id"})
            return
        # Page through the backlog; past CATCH_UP_PAGES pages the page is better reloaded than replayed.
        cursor = after
        for _ in range(CATCH_UP_PAGES):
            frames = await self._frames_after(cursor)
            for frame in frames:
                await self.send_json(frame)
            if len(frames) < CATCH_UP_PAGE:
                await self.send_json({"type": "resumed", "after": after, "complete": True})
                return
            cursor = frames[-1]["id"]
        await self.send_json({"type": "resumed", "after": after, "complete": False, "last": cursor})

    async def ticket_event(self, message: dict[str, Any]) -> None:
        await self._forward(message["frame"])

    async def ticket_events(self, message: dict[str, Any]) -> None:
        # Several events of one commit to one group, in order (channels_app.bus.publish_all).
        for frame in message["frames"]:
            await self._forward(frame)

    async def _forward(self, frame: dict[str, Any]) -> None:
        ticket = frame["ticket"]
        # Group membership already filters; this re-check guards the moment between a revoked grant and
        # the group refresh it triggers.
        if ticket["team_id"] in self.team_ids or ticket["id"] in self.ticket_ids:
            await self.send_json(frame)
            self.event_seen(frame)

    async def ticket_left(self, message: dict[str, Any]) -> None:
        # To the team the ticket left. A socket that sees where it went receives the event itself.
        ticket_id = message["frame"]["ticket"]["id"]
        if message["team_id"] in self.team_ids or ticket_id in self.ticket_ids:
            return
        await self.send_json(message["frame"])
        if self.watching == ticket_id:
            await self.unwatch()

    async def notification_new(self, message: dict[str, Any]) -> None:
        # Sent to this user's own group only, to the users who could see the ticket when it was sent.
        await self.send_json(message["frame"])

    async def grants_changed(self, message: dict[str, Any]) -> None:
        if await self._refresh_groups():
            await self.recheck_watched()

    async def session_ended(self, message: dict[str, Any]) -> None:
        session = self.scope.get("session")
        if session is not None and message.get("session_key") == session.session_key:
            await self.close(code=4401)

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.add(group)

    async def _refresh_groups(self) -> bool:
        # Re-read the user: a deactivated user's sockets close; a changed superuser flag changes what they see.
        user = await database_sync_to_async(_active_user)(self.user.pk)
        if user is None:
            await self.close(code=4403)
            return False
        self.user = user
        team_ids, ticket_ids = await database_sync_to_async(live_subscription)(user)
        wanted = {team_group(t) for t in team_ids} | {ticket_group(t) for t in ticket_ids}
        wanted.add(user_group(self.user.pk))
        for group in wanted - self.joined:
            await self._join(group)
        for group in self.joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)
        self.team_ids, self.ticket_ids = set(team_ids), set(ticket_ids)
        return True

    @database_sync_to_async
    def _frames_after(self, after: int) -> list[dict[str, Any]]:
        frames = [event_frame(event) for event in events_after(self.user, after_id=after, limit=CATCH_UP_PAGE)]
        # Moves away from the user's teams are owed too (ids of their own, interleaved): a page is the first
        # CATCH_UP_PAGE of both, so the next page starts after its last.
        frames += departures_after(self.user, after_id=after, limit=CATCH_UP_PAGE)
        return sorted(frames, key=lambda frame: int(frame["id"]))[:CATCH_UP_PAGE]


def _active_user(user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()

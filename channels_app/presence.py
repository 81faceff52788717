"""Who has a ticket open: the roster each watching socket keeps of the sockets watching the same ticket.

There is no shared store. Every socket watching ticket T joins the group `presence_group(T)` and tells it
when it arrives, every HEARTBEAT_SECONDS while it stays, and when it goes; a newcomer is answered by each
socket already there. Each socket keeps its own roster from what it hears, so the same code works on the
in-memory layer (one process) and on channels_redis (several processes), and a socket that dies without a
word (a crashed process) drops out of every roster EXPIRY_SECONDS after its last heartbeat.

Times are seconds since the epoch, passed in: a heartbeat carries its sender's time, and a roster expires
entries against the time it is given.
"""

from dataclasses import dataclass
from typing import Any

HEARTBEAT_SECONDS = 10.0
EXPIRY_SECONDS = 30.0


def presence_group(ticket_id: int) -> str:
    """The sockets that have ticket `ticket_id`'s page open."""
    return f"presence.ticket.{ticket_id}"


@dataclass(frozen=True)
class Viewer:
    """A user as others see them in presence and typing frames."""

    id: int
    name: str

    def as_json(self) -> dict[str, Any]:
        """The viewer in a frame: {"id", "name"}."""
        return {"id": self.id, "name": self.name}

    @classmethod
    def from_json(cls, data: Any) -> "Viewer":
        """A viewer from a group message's "user" (sent by another socket, so checked)."""
        return cls(id=int(data["id"]), name=str(data["name"]))


class Roster:
    """The sockets watching one ticket, each with the user it belongs to and when it was last heard of."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Viewer, float]] = {}

    def heard(self, channel: str, viewer: Viewer, at: float) -> bool:
        """Record that socket `channel` of `viewer` was there at `at`; True if the viewers changed."""
        before = self.viewers()
        _known, last = self._entries.get(channel, (viewer, at))
        # Messages from different senders can arrive out of time order: keep the latest moment heard.
        self._entries[channel] = (viewer, max(last, at))
        return self.viewers() != before

    def left(self, channel: str) -> bool:
        """Forget socket `channel`; True if the viewers changed."""
        before = self.viewers()
        self._entries.pop(channel, None)
        return self.viewers() != before

    def expire(self, now: float) -> bool:
        """Forget the sockets not heard of for EXPIRY_SECONDS before `now`; True if the viewers changed."""
        before = self.viewers()
        self._entries = {
            channel: (viewer, at) for channel, (viewer, at) in self._entries.items() if at > now - EXPIRY_SECONDS
        }
        return self.viewers() != before

    def viewers(self) -> list[Viewer]:
        """Each user with at least one socket here, once (a user may have the ticket open in two tabs), by name."""
        unique = {viewer.id: viewer for viewer, _at in self._entries.values()}
        return sorted(unique.values(), key=lambda v: (v.name.lower(), v.id))

    def channels(self) -> set[str]:
        """The sockets in the roster."""
        return set(self._entries)

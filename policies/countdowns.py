"""What agents see of SLA clocks: each ticket's nearest target as a countdown, and a ticket's SLA panel.

Selectors for the agent UI, with `now` passed in. A countdown carries the instants a browser counts toward
(`due_at`, `warn_at`): they were computed in business time when the clock last changed, so the wall-clock
time left to them is exact until the clock changes again, and then an event refreshes the page.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings

from policies.engine.clocks import remaining_at
from policies.engine.durations import duration_text
from policies.models import SlaClock, TargetKind, TicketSla
from policies.services.sla import calendar_spec
from tickets.models import Ticket

Level = Literal["ok", "warning", "breached", "paused"]

LEVEL_LABELS: dict[Level, str] = {"ok": "OK", "warning": "Warning", "breached": "Breached", "paused": "Paused"}

_KIND_ORDER = {kind.value: position for position, kind in enumerate(TargetKind)}
_KIND_LABELS = dict(TargetKind.choices)
# What the inbox needs of a clock to choose and show the nearest target.
_COUNTDOWN_FIELDS = (
    "ticket_id",
    "kind",
    "target",
    "elapsed",
    "paused_at",
    "due_at",
    "warn_at",
    "stopped_at",
    "breached_at",
)


@dataclass(frozen=True)
class Countdown:
    """One live clock as an agent reads it at `now`: how urgent, and the instants a browser counts toward."""

    kind: str
    kind_label: str
    level: Level
    due_at: datetime | None  # None while paused: a paused clock is not heading anywhere
    warn_at: datetime | None
    text: str  # "Warning · 9m 05s left" as of `now`, for a page read without JavaScript

    @property
    def due_iso(self) -> str:
        """The due instant for the browser (data-due); "" while paused."""
        return _iso(self.due_at)

    @property
    def warn_iso(self) -> str:
        """The instant the warning starts (data-warn); "" while paused."""
        return _iso(self.warn_at)


@dataclass(frozen=True)
class ClockLine:
    """One clock (one target, one cycle) as the ticket page's table shows it."""

    kind_label: str
    cycle: int
    target: str
    started_at: datetime
    due_at: datetime | None
    stopped_at: datetime | None
    state: str  # the ClockState value as of now
    state_text: str
    countdown: Countdown | None  # live clocks only: they count down in the browser
    left: str  # business time left (or used, once stopped)
    paused: str


@dataclass(frozen=True)
class SlaPanel:
    """A ticket's SLA: which policy applies and why, and every clock it has had."""

    policy_name: str  # "" when no policy applies
    explanation: str
    reasons: tuple[str, ...]
    matched_at: datetime | None
    time_zone: str  # the zone the page shows instants in
    time_zone_note: str
    lines: tuple[ClockLine, ...]
    nearest: Countdown | None
    as_of: datetime  # the `now` the business time left was counted to


def countdown_span(seconds: int) -> str:
    """A countdown's reading of a number of seconds: "2d 04h", "1h 02m", "9m 05s", "45s" (as countdown.js)."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def countdown_of(row: SlaClock, *, now: datetime) -> Countdown | None:
    """The countdown of a live clock at `now`; None for a clock that has stopped."""
    if row.stopped_at is not None:
        return None
    label = str(_KIND_LABELS.get(row.kind, row.kind))
    if row.paused_at is not None or row.due_at is None:
        left = row.target - row.elapsed
        if row.breached_at is not None:
            # A target cut below the time already used breaches a paused clock at once.
            text = f"{LEVEL_LABELS['breached']} · paused, {countdown_span(_whole_seconds(-left))} over"
            return Countdown(row.kind, label, "breached", None, None, text)
        text = f"{LEVEL_LABELS['paused']} · {countdown_span(_whole_seconds(left))} left"
        return Countdown(row.kind, label, "paused", None, None, text)
    due, warn = row.due_at, row.warn_at
    level: Level
    if row.breached_at is not None or now >= due:
        level = "breached"
        text = f"{LEVEL_LABELS[level]} · {countdown_span(math.floor((now - due).total_seconds()))} ago"
    else:
        level = "warning" if warn is not None and now >= warn else "ok"
        # Rounded up, so a countdown never reads "0s left" before it has breached.
        text = f"{LEVEL_LABELS[level]} · {countdown_span(math.ceil((due - now).total_seconds()))} left"
    return Countdown(row.kind, label, level, due, warn, text)


def nearest_countdown(rows: Iterable[SlaClock], *, now: datetime) -> Countdown | None:
    """The target an agent must watch: the running clock due first, else the paused one with least time left."""
    live = [row for row in rows if row.stopped_at is None]
    running = [row for row in live if row.paused_at is None and row.due_at is not None]
    if running:
        return countdown_of(min(running, key=lambda row: (row.due_at or now, _KIND_ORDER[row.kind])), now=now)
    if live:
        return countdown_of(min(live, key=lambda row: row.target - row.elapsed), now=now)
    return None


def countdowns_for(ticket_ids: Iterable[int], *, now: datetime) -> dict[int, Countdown]:
    """The nearest target of each ticket in `ticket_ids` that has a live clock, in one query."""
    by_ticket: dict[int, list[SlaClock]] = defaultdict(list)
    rows = SlaClock.objects.filter(ticket_id__in=list(ticket_ids), stopped_at__isnull=True).only(*_COUNTDOWN_FIELDS)
    for row in rows:
        by_ticket[row.ticket_id].append(row)
    countdowns = {ticket_id: nearest_countdown(clocks, now=now) for ticket_id, clocks in by_ticket.items()}
    return {ticket_id: countdown for ticket_id, countdown in countdowns.items() if countdown is not None}


def ticket_sla_panel(ticket: Ticket, *, now: datetime) -> SlaPanel:
    """The ticket page's SLA panel at `now`: the policy and why it applies, and every clock, in two queries.

    A business calendar's spec is read once per process and per edit of it (policies.services.sla.calendar_spec).
    """
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket_id=ticket.pk).first()
    rows = sorted(SlaClock.objects.filter(ticket_id=ticket.pk), key=lambda row: (_KIND_ORDER[row.kind], -row.cycle))
    policy = sla.policy if sla is not None else None
    calendar = policy.calendar if policy is not None else None
    spec = calendar_spec(calendar)
    if calendar is not None:
        zone = calendar.time_zone
        zone_note = f"Times are in {zone}, the time zone of the business calendar “{calendar.name}”."
    else:
        zone = settings.TIME_ZONE
        zone_note = f"Times are in {zone}, the site's time zone: this ticket's targets count calendar time."
    lines = []
    for row in rows:
        clock = row.to_clock()
        state = clock.state_at(now)
        late = clock.late_by(spec)
        if clock.stopped_at is not None:
            if row.ended == "dropped":  # nobody answered: the ticket's policy lost this target
                state_text = "Breached; the target no longer applies after a policy change"
            else:
                state_text = f"Breached, met late by {duration_text(late)}" if late is not None else "Met"
            left = f"{duration_text(clock.elapsed)} used"
        else:
            state_text = str(state).title()
            remaining = remaining_at(clock, now, spec)
            left = duration_text(remaining) if remaining >= timedelta(0) else f"over by {duration_text(-remaining)}"
        paused = clock.paused_total + (now - clock.paused_at if clock.paused_at is not None else timedelta(0))
        lines.append(
            ClockLine(
                kind_label=str(_KIND_LABELS.get(row.kind, row.kind)),
                cycle=row.cycle,
                target=duration_text(row.target),
                started_at=row.started_at,
                due_at=row.due_at,
                stopped_at=row.stopped_at,
                state=str(state),
                state_text=state_text,
                countdown=countdown_of(row, now=now),
                left=left,
                paused=duration_text(paused) if paused > timedelta(0) else "—",
            )
        )
    name, explanation = _explanation(sla)
    return SlaPanel(
        policy_name=name,
        explanation=explanation,
        reasons=tuple(sla.reasons) if sla is not None and name else (),
        matched_at=sla.matched_at if sla is not None else None,
        time_zone=zone,
        time_zone_note=zone_note,
        lines=tuple(lines),
        nearest=nearest_countdown(rows, now=now),
        as_of=now,
    )


def _explanation(sla: TicketSla | None) -> tuple[str, str]:
    """The SLA policy's name (or "") and the sentence that introduces why it applies, or why none does."""
    if sla is None:
        return policy_explanation(name=None, deleted=False, what="SLA policy", conditions="")
    return policy_explanation(
        name=sla.policy_name,
        deleted=sla.policy_id is None,
        what="SLA policy",
        conditions="channel, team, priority, tags",
    )


def policy_explanation(*, name: str | None, deleted: bool, what: str, conditions: str) -> tuple[str, str]:
    """A `what` ("SLA policy") a ticket follows: its name (or "") and the sentence that introduces why it
    applies, or why none does. `name` None: the ticket was never checked; "": nothing matched."""
    if name is None:
        return "", f"No {what} applies: this ticket has not been checked against the policies yet."
    if not name:
        return "", (
            f"No {what} applies: no enabled {what}'s conditions ({conditions}) matched this ticket when it was "
            "last checked."
        )
    if deleted:
        # The policy was deleted after it applied; what it did stays on record under the name it had.
        return name, "This policy has been deleted since it applied. The conditions that matched:"
    return name, "It applies because of the conditions that matched:"


def _whole_seconds(value: timedelta) -> int:
    return math.floor(value.total_seconds())


def _iso(value: datetime | None) -> str:
    # Milliseconds: every browser's Date.parse reads them; microseconds are not required to be.
    return value.isoformat(timespec="milliseconds") if value is not None else ""

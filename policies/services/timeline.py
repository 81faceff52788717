"""An escalation policy laid over one ticket's clocks: when each level comes, or came, and what became of it.

The admin's dry run reads it. For each level and each cycle of its target's clock it gives the level's moment
(the engine's `level_moment` on the clock's calendar) and its state, by the rules of SLA_SEMANTICS.md
("Escalation levels"): a level fires once per cycle, a clock that stops first cancels it, a paused clock
holds it, and one whose moment lies before its cycle started never fires. Time is passed in.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings

from policies.engine.calendar import CalendarSpec
from policies.engine.durations import duration_text
from policies.engine.errors import BusinessTimeError
from policies.engine.escalations import level_moment
from policies.models import EscalationFiring, EscalationLevel, EscalationPolicy, SlaClock, TargetKind, TicketSla
from policies.services.escalations import level_summary
from policies.services.sla import LIVE_STATUSES, Schedule
from tickets.models import ChannelKind, Priority, Status, Ticket


class LevelState(StrEnum):
    FIRED = "fired"
    DUE = "due now"
    UPCOMING = "upcoming"
    CANCELLED = "cancelled"
    HELD = "held"
    NEVER = "never"
    NO_CLOCK = "no clock"


@dataclass(frozen=True)
class TimelineRow:
    """One level on one cycle of its target's clock (or on no clock at all)."""

    level_number: int
    kind: str
    target: str
    offset: timedelta
    when: str
    state: LevelState
    detail: str
    cycle: int | None = None
    moment: datetime | None = None
    fired_at: datetime | None = None
    outcomes: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Following:
    """Whether the ticket follows the policy now, and a sentence that says why (or why not)."""

    follows: bool
    explanation: str


def escalation_timeline(*, ticket: Ticket, policy: EscalationPolicy, now: datetime) -> list[TimelineRow]:
    """Each level of `policy` on each cycle of the ticket's clock of its target, by level number then cycle.

    The states read as if the ticket followed the policy: `escalation_following` says whether it does.
    """
    levels = list(policy.levels.order_by("number"))
    sla = _ticket_sla(ticket)
    calendar = Schedule.of(sla).calendar if sla else None
    clocks = list(SlaClock.objects.filter(ticket=ticket).order_by("kind", "cycle"))
    firings = {
        (firing.level_id, firing.kind, firing.cycle): firing
        for firing in EscalationFiring.objects.filter(ticket=ticket, level__in=[level.pk for level in levels])
    }
    rows = []
    for level in levels:
        cycles = [clock for clock in clocks if clock.kind == level.kind]
        if not cycles:
            label = TargetKind(level.kind).label
            rows.append(_row(level, LevelState.NO_CLOCK, f"the ticket has no {label.lower()} clock"))
        for clock in cycles:
            firing = firings.get((level.pk, clock.kind, clock.cycle))
            rows.append(_on_clock(level, clock, firing, calendar=calendar, now=now))
    return rows


def escalation_following(*, ticket: Ticket, policy: EscalationPolicy) -> Following:
    """Whether `ticket` follows `policy` now (its TicketSla says so) and, when it does not, why."""
    sla = TicketSla.objects.select_related("policy", "escalation_policy").filter(ticket=ticket).first()
    name = f"Ticket #{ticket.number}"
    if sla is None:
        return Following(False, f"{name} has no SLA record: no policy was ever matched to it.")
    if sla.escalation_policy_id == policy.pk and not policy.enabled:
        # Disabled since the ticket was matched: the tick no longer reads its levels, whatever the row says.
        return Following(
            False,
            f"{name} was matched to this policy, but the policy is disabled now: its levels do not fire. The "
            "recompute after the save that disabled it matches the ticket again.",
        )
    if sla.escalation_policy_id == policy.pk:
        reasons = "; ".join(sla.escalation_reasons)
        return Following(True, f"{name} follows this policy" + (f": {reasons}." if reasons else "."))
    why = _mismatches(ticket, policy, sla) or [_matches_but(ticket, policy, sla)]
    instead = (
        f"It follows “{sla.escalation_policy_name}”."
        if sla.escalation_policy_id
        else "It follows no escalation policy."
    )
    return Following(False, f"{name} does not follow this policy now: {'; '.join(why)}. {instead}")


def timeline_zone(ticket: Ticket) -> ZoneInfo:
    """The zone the ticket's clocks count in: its SLA policy's calendar's, or the site's for calendar time."""
    sla = _ticket_sla(ticket)
    calendar = sla.policy.calendar if sla and sla.policy else None
    return ZoneInfo(calendar.time_zone if calendar else settings.TIME_ZONE or "UTC")


def _ticket_sla(ticket: Ticket) -> TicketSla | None:
    return TicketSla.objects.select_related("policy__calendar").filter(ticket=ticket).first()


def _row(
    level: EscalationLevel,
    state: LevelState,
    detail: str,
    *,
    cycle: int | None = None,
    moment: datetime | None = None,
    fired_at: datetime | None = None,
    outcomes: tuple[dict[str, str], ...] = (),
) -> TimelineRow:
    return TimelineRow(
        level_number=level.number,
        kind=level.kind,
        target=str(TargetKind(level.kind).label),
        offset=level.offset,
        when=level_summary(level.kind, level.offset),
        state=state,
        detail=detail,
        cycle=cycle,
        moment=moment,
        fired_at=fired_at,
        outcomes=outcomes,
    )


def _on_clock(
    level: EscalationLevel,
    clock: SlaClock,
    firing: EscalationFiring | None,
    *,
    calendar: CalendarSpec | None,
    now: datetime,
) -> TimelineRow:
    cycle = clock.cycle
    if firing is not None:
        late = firing.fired_at - firing.moment
        detail = f"fired {duration_text(late)} after its moment" if late > timedelta(0) else "fired at its moment"
        return _row(
            level,
            LevelState.FIRED,
            detail,
            cycle=cycle,
            moment=firing.moment,
            fired_at=firing.fired_at,
            outcomes=tuple(firing.outcomes),
        )
    if level.pk in clock.escalated:
        return _row(level, LevelState.FIRED, "fired (its record is gone)", cycle=cycle)
    if clock.stopped_at is None and (clock.paused_at is not None or clock.due_at is None):
        return _row(level, LevelState.HELD, "the clock is paused: the moment is set again when it resumes", cycle=cycle)
    if clock.due_at is None:
        return _row(level, LevelState.CANCELLED, "the clock was met while paused, before this moment", cycle=cycle)
    try:
        moment = level_moment(clock.due_at, level.offset, calendar)
    except BusinessTimeError:
        return _row(level, LevelState.NEVER, "the calendar has no opening that far before due", cycle=cycle)
    if moment < clock.started_at:
        early = duration_text(clock.started_at - moment)
        return _row(
            level, LevelState.NEVER, f"its moment falls {early} before the cycle started", cycle=cycle, moment=moment
        )
    if clock.stopped_at is not None and clock.stopped_at < moment:
        detail = f"the clock was met {duration_text(moment - clock.stopped_at)} before this moment"
        return _row(level, LevelState.CANCELLED, detail, cycle=cycle, moment=moment)
    if clock.stopped_at is not None:
        # Its moment came while the clock still ran: it fires however late the tick is (README, Escalations).
        detail = "its moment came before the clock stopped: the next tick fires it"
        return _row(level, LevelState.DUE, detail, cycle=cycle, moment=moment)
    if moment <= now:
        detail = f"its moment passed {duration_text(now - moment)} ago: the next tick fires it"
        return _row(level, LevelState.DUE, detail, cycle=cycle, moment=moment)
    return _row(level, LevelState.UPCOMING, f"in {duration_text(moment - now)}", cycle=cycle, moment=moment)


def _mismatches(ticket: Ticket, policy: EscalationPolicy, sla: TicketSla) -> list[str]:
    """Each condition of `policy` that `ticket` does not meet, as a clause."""
    why = []
    if not policy.enabled:
        why.append("this policy is disabled")
    if policy.sla_policy_id is not None and sla.policy_id != policy.sla_policy_id:
        tied = policy.sla_policy.name if policy.sla_policy else ""
        follows = f"it follows the SLA policy “{sla.policy_name}”" if sla.policy_id else "it follows no SLA policy"
        why.append(f"{follows}, and this policy applies only to tickets of “{tied}”")
    kind = ticket.identity.channel_account.kind
    if policy.channel_kinds and kind not in policy.channel_kinds:
        why.append(f"its channel is {ChannelKind(kind).label}, not {_or(policy.channel_labels())}")
    teams = {team.pk: team.name for team in policy.teams.all()}
    if teams and ticket.team_id not in teams:
        why.append(f"its team is {ticket.team.name}, not {_or(list(teams.values()))}")
    priorities = [int(value) for value in policy.priorities]
    if priorities and ticket.priority not in priorities:
        wanted = [str(Priority(value).label) for value in priorities]
        why.append(f"its priority is {Priority(ticket.priority).label}, not {_or(wanted)}")
    tags = {tag.pk: tag.name for tag in policy.tags.all()}
    if tags and not set(ticket.tags.values_list("pk", flat=True)) & tags.keys():
        why.append(f"it has none of the tags {', '.join(tags.values())}")
    return why


def _matches_but(ticket: Ticket, policy: EscalationPolicy, sla: TicketSla) -> str:
    """Why a ticket that meets every condition of `policy` follows another policy, or none."""
    other = sla.escalation_policy
    if other is not None and (other.position, other.pk) < (policy.position, policy.pk):
        return f"it matches, but “{other.name}” (position {other.position}) comes first and matches it too"
    if ticket.status not in LIVE_STATUSES:
        return f"it is {Status(ticket.status).label.lower()}: a ticket is matched again only while open or pending"
    return "it matches, but was last matched before this policy took its present form (a recompute updates it)"


def _or(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" or {labels[-1]}"

"""Applying SLA policies to tickets: which policy matches, and the clocks its targets give the ticket.

`sla_apply` is the one place that (re)decides a ticket's policy and retargets its clocks; ticket creation,
changes of priority, team or tags, and recomputes after a policy or calendar edit all call it.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from policies.engine import clocks as engine
from policies.engine import escalations
from policies.engine.calendar import CalendarSpec
from policies.engine.matching import Match, PolicyRule, TicketFacts, policy_match
from policies.models import (
    BusinessCalendar,
    EscalationFiring,
    SlaClock,
    SlaPolicy,
    TargetKind,
    TicketSla,
)
from policies.services.rulebook import BookEntry, EscalationEntry, Rules, rules
from tickets.models import ChannelKind, Direction, EventKind, Priority, Status, Ticket, TicketEvent

logger = logging.getLogger(__name__)

# Tickets whose clocks may still change: a solved ticket's resolution clock is stopped until it reopens.
LIVE_STATUSES = (Status.OPEN, Status.PENDING)


def calendar_spec(calendar: BusinessCalendar | None) -> CalendarSpec | None:
    """The engine's calendar for `calendar` (None: calendar time), cached until the calendar is saved again."""
    if calendar is None:
        return None
    return _spec_cached(calendar.pk, calendar.updated_at)


@lru_cache(maxsize=256)
def _spec_cached(calendar_id: int, updated_at: datetime) -> CalendarSpec:
    return BusinessCalendar.objects.prefetch_related("intervals", "holidays").get(pk=calendar_id).to_spec()


class Schedule:
    """What a clock's next moment depends on besides the clock itself: its calendar and the escalation levels.

    The levels are looked up only when a running clock needs them, so that stopping a clock, or a ticket
    without an escalation policy, costs no query.
    """

    def __init__(
        self, calendar: CalendarSpec | None, escalation_policy_id: int | None, *, book: Rules | None = None
    ) -> None:
        self.calendar = calendar
        self.escalation_policy_id = escalation_policy_id
        self._book = book  # the rules already read in this transaction, if any: saves the version query

    @classmethod
    def of(cls, sla: TicketSla, *, book: Rules | None = None) -> "Schedule":
        """The schedule of a ticket's clocks under its SLA row (policy and calendar loaded)."""
        calendar = calendar_spec(sla.policy.calendar if sla.policy else None)
        return cls(calendar, sla.escalation_policy_id, book=book)

    @cached_property
    def escalation(self) -> EscalationEntry | None:
        if self.escalation_policy_id is None:
            return None
        return (self._book or rules()).escalation(self.escalation_policy_id)

    def levels(self, kind: str) -> tuple[escalations.Level, ...]:
        """The escalation levels on clocks of `kind`."""
        return self.escalation.levels_for(kind) if self.escalation else ()

    def armed(self, row: SlaClock, clock: engine.Clock) -> list[escalations.Scheduled]:
        """The levels still to fire on `clock` (the value of `row`), earliest first."""
        if self.escalation_policy_id is None:
            return []
        return escalations.armed(clock, self.levels(row.kind), fired=set(row.escalated), calendar=self.calendar)

    def next_check(self, row: SlaClock, clock: engine.Clock) -> datetime | None:
        """The next moment the tick has work on `clock`: a breach or an escalation level."""
        return escalations.next_check(clock, self.armed(row, clock))


def ticket_facts(ticket: Ticket, *, rules: Sequence[PolicyRule], tags: Mapping[int, str] | None = None) -> TicketFacts:
    """What matching looks at on `ticket`; pass `tags` (id -> name) when they are known (a new ticket has none)."""
    kind = ticket.identity.channel_account.kind
    if tags is None:
        tags = dict(ticket.tags.values_list("pk", "name"))
    # The team's name only serves the explanation of a team condition: no query when no policy has one.
    needs_team_name = any(rule.team_ids for rule in rules)
    return TicketFacts(
        channel_kind=kind,
        channel_label=str(ChannelKind(kind).label),
        team_id=ticket.team_id,
        team_name=ticket.team.name if needs_team_name else "",
        priority=ticket.priority,
        priority_label=str(Priority(ticket.priority).label),
        tags=tags,
    )


@dataclass
class Rematch:
    """What matching a ticket again changed, made in memory on its SLA row and clock rows (not written)."""

    sla_changed: bool  # the SLA row is new or its policy, reasons or escalation policy moved
    schedule: Schedule  # the clocks' schedule under the policy matched now
    targets: dict[str, timedelta]  # the policy's targets for the ticket's priority, by kind
    saved: list[tuple[SlaClock, list[str]]]  # clock rows and their fields changed
    dropped: list[SlaClock]  # clock rows to delete: the ticket lost their target and they never breached
    missing: list[str]  # kinds the policy targets that the ticket has no clock for: `sla_apply` makes them


def sla_apply(*, ticket: Ticket, now: datetime, created: bool = False) -> TicketSla:
    """Match `ticket` to a policy again and give its clocks that policy's targets, from `now` on.

    Running and paused clocks keep the business time they have used and take the new target (SLA_SEMANTICS:
    a 4 h target with 3 h used, changed to 2 h, is already breached). Met and breached clocks keep their
    record. A clock whose kind the new policy has no target for is dropped, or stopped if it had breached.
    A first-response or resolution clock the ticket never had starts from the ticket's creation.
    `created` says the ticket was created in this transaction: no tags, no SLA row and no clocks yet.
    The escalation policy is matched again too: it may depend on the SLA policy.
    """
    book = rules()
    if created:
        # A new ticket with no policy still gets its row: the page says that no policy matched.
        entry, match, escalation = _match(book, ticket, tags={})
        return _first_clocks(ticket, entry, match.reasons if match else (), escalation, book, now=now)
    sla = TicketSla.objects.select_related("policy__calendar").filter(ticket=ticket).first()
    if sla is None:
        sla = sla_row_new(ticket, now=now)
    history = list(SlaClock.objects.select_for_update().filter(ticket=ticket))
    rematch = sla_rematch(ticket=ticket, sla=sla, clocks=history, book=book, now=now)
    if rematch.sla_changed:
        sla.save()
    for row, fields in rematch.saved:
        row.save(update_fields=[*fields, "updated_at"])
    for row in rematch.dropped:
        # Its firings stay on the ticket; should the target come back, a new clock starts from the creation.
        row.delete()
    clocks_missing_make(ticket, rematch, now=now)
    return sla


def sla_row_new(ticket: Ticket, *, now: datetime) -> TicketSla:
    """The SLA row (not stored) of a ticket from before SLAs, or whose row was lost: its history says whether
    it was answered."""
    return TicketSla(ticket=ticket, matched_at=now, responded_at=_responded_at(ticket))


def sla_rematch(
    *,
    ticket: Ticket,
    sla: TicketSla,
    clocks: Sequence[SlaClock],
    book: Rules,
    now: datetime,
    tags: Mapping[int, str] | None = None,
) -> Rematch:
    """`sla_apply`'s decision, in memory: match `ticket` (tagged `tags`, read if None) again, set `sla` to it
    and retarget, stop or drop the ticket's `clocks` (all of them, locked). The caller writes what changed."""
    entry, match, escalation = _match(book, ticket, tags=tags)
    policy = entry.policy if entry else None
    # The time clocks used so far is measured in the calendar they ran on.
    used_calendar = calendar_spec(sla.policy.calendar) if sla.policy else None
    before = _matched(sla)
    if sla.policy_id != (policy.pk if policy else None) or sla._state.adding:
        sla.matched_at = now
    sla.policy = policy
    sla.policy_name = policy.name if policy else ""
    sla.reasons = list(match.reasons) if match else []
    _escalation_set(sla, escalation)
    targets = entry.targets_for(ticket.priority) if entry else {}
    calendar = calendar_spec(policy.calendar) if policy else None
    rematch = Rematch(
        sla_changed=sla._state.adding or _matched(sla) != before,
        schedule=Schedule(calendar, sla.escalation_policy_id, book=book),
        targets=targets,
        saved=[],
        dropped=[],
        missing=[],
    )
    live = {row.kind: row for row in clocks if row.stopped_at is None}
    for kind, row in live.items():
        clock = engine.settle(row.to_clock(), now=now, calendar=used_calendar)
        if kind in targets:
            clock = engine.retarget(clock, target=targets[kind], now=now, calendar=calendar)
            fields = row.apply(clock, rematch.schedule.next_check(row, clock))
        elif clock.breached_at is not None:
            # Kept, stopped: a breach stays on record (settle has just observed one that no tick recorded yet).
            row.ended = "dropped"
            clock = engine.stop(clock, now=now, calendar=calendar)
            fields = [*row.apply(clock, rematch.schedule.next_check(row, clock)), "ended"]
        else:
            rematch.dropped.append(row)  # the ticket no longer has this target
            continue
        if fields:
            rematch.saved.append((row, fields))
    had = {row.kind for row in clocks}
    unanswered = sla.responded_at is None and ticket.status in LIVE_STATUSES
    if TargetKind.FIRST_RESPONSE in targets and TargetKind.FIRST_RESPONSE not in had and unanswered:
        rematch.missing.append(TargetKind.FIRST_RESPONSE)
    if TargetKind.RESOLUTION in targets and TargetKind.RESOLUTION not in had and ticket.status in LIVE_STATUSES:
        rematch.missing.append(TargetKind.RESOLUTION)
    return rematch


def clocks_missing_make(ticket: Ticket, rematch: Rematch, *, now: datetime) -> None:
    """Store the clocks `rematch` found missing, from the ticket's creation and history (which they read)."""
    schedule, calendar, targets = rematch.schedule, rematch.schedule.calendar, rematch.targets
    for kind in rematch.missing:
        if kind == TargetKind.FIRST_RESPONSE:
            clock = engine.start(target=targets[kind], now=ticket.created_at, calendar=calendar)
            clock = engine.retarget(clock, target=clock.target, now=now, calendar=calendar)
        else:
            clock = _resolution_replayed(ticket, targets[kind], now=now, calendar=calendar)
        clock_create(ticket=ticket, kind=kind, clock=clock, schedule=schedule, escalated=_fired(ticket, kind))


def _match(
    book: Rules, ticket: Ticket, *, tags: Mapping[int, str] | None
) -> tuple[BookEntry | None, Match | None, tuple[EscalationEntry, Match] | None]:
    """The SLA policy `ticket` matches in `book` (its entry, and why) and the escalation policy that follows."""
    every_rule = [*(entry.rule for entry in book.sla), *(entry.rule for entry in book.escalations)]
    facts = ticket_facts(ticket, rules=every_rule, tags=tags) if every_rule else None
    match = policy_match([entry.rule for entry in book.sla], facts) if facts else None
    entry = next((entry for entry in book.sla if match and entry.rule.policy_id == match.policy_id), None)
    return entry, match, _escalation_match(book, facts, entry.policy if entry else None)


def _matched(sla: TicketSla) -> tuple[object, ...]:
    """What a re-match may change on the SLA row: unchanged, the row is not written again."""
    return (
        sla.policy_id,
        sla.policy_name,
        sla.reasons,
        sla.matched_at,
        sla.escalation_policy_id,
        sla.escalation_policy_name,
        sla.escalation_reasons,
    )


def _fired(ticket: Ticket, kind: str) -> list[int]:
    """The levels that fired on the first `kind` clock of `ticket`, dropped when its policy lost the target.

    A clock that comes back with the target is the same wait for the customer: what fired then stays fired.
    """
    return list(
        EscalationFiring.objects.filter(
            ticket=ticket, kind=kind, clock__isnull=True, cycle=1, level__isnull=False
        ).values_list("level_id", flat=True)
    )


def _escalation_match(
    book: Rules, facts: TicketFacts | None, policy: SlaPolicy | None
) -> tuple[EscalationEntry, Match] | None:
    """The escalation policy for a ticket with `facts` that follows the SLA `policy`, and why."""
    if facts is None or not book.escalations:
        return None
    tied = replace(facts, sla_policy_id=policy.pk if policy else None, sla_policy_name=policy.name if policy else "")
    match = policy_match([entry.rule for entry in book.escalations], tied)
    if match is None:
        return None
    entry = next(entry for entry in book.escalations if entry.rule.policy_id == match.policy_id)
    return entry, match


def _escalation_set(sla: TicketSla, escalation: tuple[EscalationEntry, Match] | None) -> None:
    entry, match = escalation if escalation else (None, None)
    sla.escalation_policy = entry.policy if entry else None
    sla.escalation_policy_name = entry.policy.name if entry else ""
    sla.escalation_reasons = list(match.reasons) if match else []


def _first_clocks(
    ticket: Ticket,
    entry: BookEntry | None,
    reasons: Iterable[str],
    escalation: tuple[EscalationEntry, Match] | None,
    book: Rules,
    *,
    now: datetime,
) -> TicketSla:
    """The SLA row and first clocks of a ticket created at `now`: two inserts, or one with no policy."""
    policy = entry.policy if entry else None
    sla = TicketSla(ticket=ticket, policy=policy, policy_name=policy.name if policy else "", matched_at=now)
    sla.reasons = list(reasons)
    _escalation_set(sla, escalation)
    sla.save(force_insert=True)
    if entry is None:
        return sla
    schedule = Schedule(calendar_spec(entry.policy.calendar), sla.escalation_policy_id, book=book)
    rows = []
    for kind, target in entry.targets_for(ticket.priority).items():
        if kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION):
            row = SlaClock(ticket=ticket, kind=kind, cycle=1)
            clock = engine.start(target=target, now=now, calendar=schedule.calendar)
            row.apply(clock, schedule.next_check(row, clock))
            rows.append(row)
    SlaClock.objects.bulk_create(rows)
    return sla


def _resolution_replayed(
    ticket: Ticket, target: timedelta, *, now: datetime, calendar: CalendarSpec | None
) -> engine.Clock:
    """A resolution clock from the ticket's creation, replaying its status changes so far (pending, solved)."""
    clock = engine.start(target=target, now=ticket.created_at, calendar=calendar)
    if ticket.created_at < now:
        statuses = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS).order_by("id")
        for event in statuses.only("created_at", "data"):
            before, after = str(event.data.get("from")), str(event.data.get("to"))
            clock = engine.on_status(clock, before=before, after=after, now=event.created_at, calendar=calendar)
    return engine.retarget(clock, target=target, now=now, calendar=calendar)


def _responded_at(ticket: Ticket) -> datetime | None:
    """When the first-response phase of an existing ticket ended: its first agent reply (an internal note answers
    nobody), or its first solve."""
    first_reply = (
        ticket.messages.filter(direction=Direction.OUT, internal=False)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    replied = first_reply.first()
    return min((at for at in (replied, ticket.solved_at) if at is not None), default=None)


def clock_create(
    *,
    ticket: Ticket,
    kind: str,
    clock: engine.Clock,
    schedule: Schedule,
    cycle: int = 1,
    escalated: Iterable[int] = (),
) -> SlaClock:
    """Store a new clock (cycle `cycle` of its kind) on `ticket`, its escalation levels armed (but `escalated`)."""
    row = SlaClock(ticket=ticket, kind=kind, cycle=cycle, escalated=list(escalated))
    row.apply(clock, schedule.next_check(row, clock))
    row.save()
    return row


def clock_save(row: SlaClock, clock: engine.Clock, schedule: Schedule, *, also: Iterable[str] = ()) -> None:
    """Store `clock`'s new values and next moment on its row, writing only what changed (and the fields `also`)."""
    changed = [*row.apply(clock, schedule.next_check(row, clock)), *also]
    if changed:
        row.save(update_fields=[*changed, "updated_at"])

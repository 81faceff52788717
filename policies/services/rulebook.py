"""The enabled SLA and escalation policies as the matcher and the tick need them, cached per process behind a
one-query version stamp.

Every ticket that opens is matched, so reading every policy with its teams, tags and targets each time
would cost four queries per new ticket. Instead one query reads a version number (the "sla-rules" row of
tickets.Counter) and the book is reloaded only when it moved. Signals bump it, in the editing transaction,
on every save or delete of a policy, target, escalation level, calendar, opening interval or holiday, and
on every change of a policy's teams or tags, however the edit is made (admin, shell, API). Queryset.update() and bulk
operations send no signals: code that uses them on these models must call `rules_changed()`.
"""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from policies.engine.escalations import Level
from policies.engine.matching import PolicyRule
from policies.models import (
    BusinessCalendar,
    CalendarHoliday,
    EscalationLevel,
    EscalationPolicy,
    OpeningInterval,
    SlaPolicy,
    SlaTarget,
)
from tickets.models import Counter, Tag, Team

_VERSION = "sla-rules"


@dataclass(frozen=True)
class BookEntry:
    """One enabled policy: its rule for the matcher, its model (calendar loaded) and its targets."""

    rule: PolicyRule
    policy: SlaPolicy
    targets: dict[tuple[int, str], timedelta]  # (priority, kind) -> duration

    def targets_for(self, priority: int) -> dict[str, timedelta]:
        """The targets for tickets of `priority`, by kind."""
        return {kind: duration for (level, kind), duration in self.targets.items() if level == priority}


@dataclass(frozen=True)
class EscalationEntry:
    """One enabled escalation policy: its rule for the matcher and the timing of its levels."""

    rule: PolicyRule
    policy: EscalationPolicy
    levels: tuple[Level, ...]

    def levels_for(self, kind: str) -> tuple[Level, ...]:
        """The levels on clocks of `kind`, by number."""
        return tuple(level for level in self.levels if level.kind == kind)


@dataclass(frozen=True)
class Rules:
    sla: list[BookEntry]
    escalations: list[EscalationEntry]

    def escalation(self, policy_id: int | None) -> EscalationEntry | None:
        """The enabled escalation policy with this id, if any."""
        return next((entry for entry in self.escalations if entry.policy.pk == policy_id), None)


_lock = threading.Lock()
_cached: tuple[int, Rules] | None = None


def rules() -> Rules:
    """Every enabled policy in order; one query when nothing changed since the last call in this process."""
    global _cached
    version = Counter.objects.filter(name=_VERSION).values_list("value", flat=True).first()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    # Read after the version: a change committed in between gives a newer book under an older number,
    # which the next call replaces. Never the other way round.
    loaded = Rules(sla=_load(), escalations=_load_escalations())
    if version is not None:  # no number yet (a new or emptied database): nothing to compare with next time
        with _lock:
            _cached = (version, loaded)
    return loaded


def rulebook() -> list[BookEntry]:
    """The enabled SLA policies in order."""
    return rules().sla


def rules_changed() -> None:
    """Tell every process to reload the book (signals call this; so must bulk edits)."""
    global _cached
    # This process forgets at once: its own transaction may be rolled back, and a number can then repeat.
    _cached = None
    if not Counter.objects.filter(name=_VERSION).update(value=F("value") + 1):
        try:
            with transaction.atomic():
                # Not 1: a database emptied and filled again must never repeat a number a process has cached.
                Counter.objects.create(name=_VERSION, value=time.time_ns() // 1000)
        except IntegrityError:
            Counter.objects.filter(name=_VERSION).update(value=F("value") + 1)


def _rule(policy: SlaPolicy | EscalationPolicy, *, sla_policy_id: int | None = None) -> PolicyRule:
    """A policy's conditions as the matcher reads them (teams and tags prefetched)."""
    return PolicyRule(
        policy_id=policy.pk,
        name=policy.name,
        channel_kinds=frozenset(policy.channel_kinds),
        team_ids=frozenset(team.pk for team in policy.teams.all()),
        priorities=frozenset(int(value) for value in policy.priorities),
        tags=frozenset(tag.pk for tag in policy.tags.all()),
        sla_policy_id=sla_policy_id,
    )


def _load() -> list[BookEntry]:
    policies = (
        SlaPolicy.objects.filter(enabled=True)
        .select_related("calendar")
        .prefetch_related("teams", "tags", "targets")
        .order_by("position", "id")
    )
    return [
        BookEntry(
            rule=_rule(policy),
            policy=policy,
            targets={(target.priority, target.kind): target.duration for target in policy.targets.all()},
        )
        for policy in policies
    ]


def _load_escalations() -> list[EscalationEntry]:
    policies = (
        EscalationPolicy.objects.filter(enabled=True)
        .prefetch_related("teams", "tags", "levels")
        .order_by("position", "id")
    )
    return [
        EscalationEntry(
            rule=_rule(policy, sla_policy_id=policy.sla_policy_id),
            policy=policy,
            levels=tuple(
                Level(id=level.pk, number=level.number, kind=level.kind, offset=level.offset)
                for level in sorted(policy.levels.all(), key=lambda level: level.number)
            ),
        )
        for policy in policies
    ]


def _changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("action", "post_").startswith("post_"):
        rules_changed()


def _hours_changed(sender: Any, instance: OpeningInterval | CalendarHoliday, **kwargs: Any) -> None:
    # The calendar's updated_at keys the cached engine spec (policies.services.sla.calendar_spec).
    BusinessCalendar.objects.filter(pk=instance.calendar_id).update(updated_at=timezone.now())
    rules_changed()


def connect_rule_signals() -> None:
    """Bump the version on every edit that changes matching, targets or business hours (from ready())."""
    for signal in (post_save, post_delete):
        for model in (SlaPolicy, SlaTarget, BusinessCalendar, EscalationPolicy, EscalationLevel):
            signal.connect(_changed, sender=model, dispatch_uid=f"sla-rules-{model.__name__}-{id(signal)}")
        for hours in (OpeningInterval, CalendarHoliday):
            signal.connect(_hours_changed, sender=hours, dispatch_uid=f"sla-hours-{hours.__name__}-{id(signal)}")
        # Deleting a team or tag deletes its rows in the policies' choices without an m2m_changed signal.
        for chosen in (Team, Tag):
            if signal is post_delete:
                signal.connect(_changed, sender=chosen, dispatch_uid=f"sla-rules-{chosen.__name__}-deleted")
    for through in (
        SlaPolicy.teams.through,
        SlaPolicy.tags.through,
        EscalationPolicy.teams.through,
        EscalationPolicy.tags.through,
    ):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"sla-rules-{through.__name__}")

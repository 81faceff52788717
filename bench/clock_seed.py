"""Bulk seeding for bench/escalation_tick.py: N open tickets with running first-response clocks, in SQL.

Every function runs with Django set up on the benchmark's own PostgreSQL database.
"""

import sys
import time
from datetime import datetime, timedelta
from typing import Any

TARGET = timedelta(days=30)  # every clock's first-response target; not-due clocks are 23 to 30 days from due
SEED_CHUNK = 100_000

SEEDED = ("tickets_contact", "tickets_contactidentity", "tickets_ticket", "policies_ticketsla", "policies_slaclock")

# One statement per table and chunk; row n is contact n, identity n, ticket n (number n) and clock n. Tickets
# opened over the past week, so their clocks' moments spread over a week of the partial index.
_ROWS = "generate_series(%(lo)s, %(hi)s) AS n"
_OPENED = f"{_ROWS}, LATERAL (SELECT %(at)s - make_interval(secs => mod(n, 604800))) AS o(opened)"
_SEED_SQL = (
    f"""INSERT INTO tickets_contact (id, display_name, created_at)
    SELECT n, 'Bench customer ' || n, %(at)s FROM {_ROWS}""",
    f"""INSERT INTO tickets_contactidentity (id, external_id, display_name, created_at, channel_account_id, contact_id)
    SELECT n, 'bench-' || n, 'Bench customer ' || n, %(at)s, %(account)s, n FROM {_ROWS}""",
    f"""INSERT INTO tickets_ticket (id, number, subject, status, priority, preview, created_at, updated_at,
        last_activity_at, contact_id, identity_id, team_id)
    SELECT n, n, 'Order ' || n || ' has not arrived', 'open', 2, 'Hello, my order has not arrived yet.',
        o.opened, o.opened, o.opened, n, n, %(team)s
    FROM {_OPENED}""",
    f"""INSERT INTO policies_ticketsla (ticket_id, policy_id, policy_name, reasons, matched_at, escalation_policy_id,
        escalation_policy_name, escalation_reasons)
    SELECT n, %(sla)s, 'Bench SLA', %(reasons)s, %(at)s, %(escalation)s, 'Bench escalation', %(escalation_reasons)s
    FROM {_ROWS}""",
    f"""INSERT INTO policies_slaclock (id, ticket_id, kind, cycle, target, started_at, elapsed, running_since,
        paused_total, due_at, warn_at, state, ended, escalated, next_check_at, updated_at)
    SELECT n, n, 'first_response', 1, %(target)s, o.opened, interval '0', o.opened, interval '0',
        o.opened + %(target)s, o.opened + %(warn)s, 'running', '', '[]', o.opened + %(target)s, %(at)s
    FROM {_OPENED}""",
)

# Running clocks not yet fired, picked at random over the table; their moments `gap` apart from `base`.
_MAKE_DUE_SQL = """
WITH chosen AS (
    SELECT id FROM policies_slaclock
    WHERE stopped_at IS NULL AND escalated = '[]' AND next_check_at > %(far)s
    ORDER BY random() LIMIT %(count)s
), timed AS (
    SELECT id, %(base)s + (row_number() OVER (ORDER BY id) - 1) * %(gap)s AS moment FROM chosen
)
UPDATE policies_slaclock AS clock
SET due_at = timed.moment, next_check_at = timed.moment, started_at = timed.moment - clock.target,
    running_since = timed.moment - clock.target, warn_at = timed.moment - clock.target / 5, updated_at = now()
FROM timed WHERE clock.id = timed.id
"""


def step(message: str) -> None:
    """A progress line on stderr, so stdout holds only the figures."""
    print(f"- {message}", file=sys.stderr, flush=True)


def policies_create() -> dict[str, Any]:
    """A team and API account, an SLA policy (30 days to first response) and its escalation policy: their ids,
    and the reasons (JSON) a seeded ticket's SLA row gives for matching them, as a real ticket's row would."""
    import json

    from django.utils import timezone

    from policies.models import EscalationLevel, EscalationPolicy, SlaPolicy, SlaTarget, TargetKind, TicketSla
    from policies.services.rulebook import rules
    from policies.services.sla import sla_rematch
    from tickets.models import ChannelAccount, ChannelKind, ContactIdentity, Priority, Team, Ticket

    team = Team.objects.create(name="Bench team")
    account = ChannelAccount.objects.create(name="bench-api", kind=ChannelKind.API, team=team, secret="bench-secret")
    sla = SlaPolicy.objects.create(name="Bench SLA", position=1)
    for priority in Priority.values:
        SlaTarget.objects.create(policy=sla, priority=priority, kind=TargetKind.FIRST_RESPONSE, duration=TARGET)
    escalation = EscalationPolicy.objects.create(name="Bench escalation", sla_policy=sla)
    EscalationLevel.objects.create(
        policy=escalation, number=1, kind=TargetKind.FIRST_RESPONSE, offset=timedelta(0), set_priority=Priority.URGENT
    )
    # Matched in memory (nothing is written) on a ticket like the seeded ones.
    ticket = Ticket(identity=ContactIdentity(channel_account=account), team=team, priority=Priority.NORMAL)
    row = TicketSla(ticket=ticket, matched_at=timezone.now())
    sla_rematch(ticket=ticket, sla=row, clocks=[], book=rules(), now=timezone.now(), tags={})
    return {
        "team": team.pk,
        "account": account.pk,
        "sla": sla.pk,
        "escalation": escalation.pk,
        "reasons": json.dumps(row.reasons),
        "escalation_reasons": json.dumps(row.escalation_reasons),
    }


def seed(*, start: int, end: int, ids: dict[str, Any]) -> None:
    """Rows start+1..end of every seeded table, in chunks of one transaction each, then VACUUM ANALYZE."""
    from django.db import connection, transaction
    from django.utils import timezone

    at, began = timezone.now(), time.perf_counter()
    params: dict[str, Any] = {**ids, "at": at, "target": TARGET, "warn": TARGET * 4 / 5}
    for lo in range(start + 1, end + 1, SEED_CHUNK):
        hi = min(lo + SEED_CHUNK - 1, end)
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in _SEED_SQL:
                cursor.execute(sql, {**params, "lo": lo, "hi": hi})
        step(f"seeded {hi:,} / {end:,} open clocks ({time.perf_counter() - began:.1f} s)")
    with connection.cursor() as cursor:
        for table in SEEDED:
            if table != "policies_ticketsla":  # keyed by its ticket
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {end})")
        # A long-lived table is kept vacuumed by autovacuum; a fresh bulk load has no visibility map or hint
        # bits yet, which would make the first reads write every page they touch.
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(SEEDED)}")
    step(f"VACUUM ANALYZE done ({time.perf_counter() - began:.1f} s)")


def clocks_make_due(*, count: int, base: datetime, gap: timedelta) -> None:
    """Give `count` unfired clocks, picked at random, moments `gap` apart from `base` (their due instant)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_MAKE_DUE_SQL, {"count": count, "base": base, "gap": gap, "far": base + timedelta(days=1)})
        if cursor.rowcount != count:
            raise RuntimeError(f"only {cursor.rowcount} unfired clocks left to make due, {count} wanted")

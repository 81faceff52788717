"""Which policy applies, and the explanation a ticket stores (policies.engine.matching)."""

from datetime import timedelta

import pytest

from policies.engine.durations import DurationSyntax, duration_parse, duration_text
from policies.engine.matching import PolicyRule, TicketFacts, policy_match

FACTS = TicketFacts(
    channel_kind="telegram",
    channel_label="Telegram",
    team_id=1,
    team_name="Support",
    priority=3,
    priority_label="High",
    tags={1: "vip", 2: "billing"},
)


def test_the_first_rule_whose_conditions_all_hold_applies_and_says_why() -> None:
    rules = [
        PolicyRule(1, "Urgent only", priorities=frozenset({4})),
        PolicyRule(2, "VIP on Telegram", channel_kinds=frozenset({"telegram", "whatsapp"}), tags=frozenset({1})),
        PolicyRule(3, "Everything"),
    ]
    match = policy_match(rules, FACTS)
    assert match is not None and match.policy_id == 2 and match.name == "VIP on Telegram"
    assert match.reasons == (
        "the first matching policy (number 2)",
        "channel is Telegram",
        "any team",
        "any priority",
        "tagged vip",
    )


def test_empty_conditions_match_anything() -> None:
    match = policy_match([PolicyRule(7, "Default")], FACTS)
    assert match is not None
    assert match.reasons == ("the first policy in order", "any channel", "any team", "any priority", "any tags")


@pytest.mark.parametrize(
    "rule",
    [
        PolicyRule(1, "x", channel_kinds=frozenset({"whatsapp"})),
        PolicyRule(1, "x", team_ids=frozenset({2})),
        PolicyRule(1, "x", priorities=frozenset({1, 2})),
        PolicyRule(1, "x", tags=frozenset({3})),
    ],
)
def test_one_condition_that_does_not_hold_is_enough_to_skip_a_policy(rule: PolicyRule) -> None:
    assert policy_match([rule], FACTS) is None


def test_a_ticket_with_every_listed_condition_names_them_all() -> None:
    rule = PolicyRule(
        1,
        "x",
        team_ids=frozenset({1}),
        priorities=frozenset({3, 4}),
        tags=frozenset({1, 2, 3}),
    )
    match = policy_match([rule], FACTS)
    assert match is not None
    assert match.reasons[1:] == ("any channel", "team is Support", "priority is High", "tagged billing, vip")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4h", timedelta(hours=4)),
        ("1h 30m", timedelta(minutes=90)),
        ("90m", timedelta(minutes=90)),
        ("2d 4h", timedelta(days=2, hours=4)),
        ("30s", timedelta(seconds=30)),
        ("01:30", timedelta(minutes=90)),
        ("1:02:03", timedelta(hours=1, minutes=2, seconds=3)),
        ("-1h", timedelta(hours=-1)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_read_the_way_team_leads_write_them(text: str, value: timedelta) -> None:
    assert duration_parse(text) == value


@pytest.mark.parametrize("text", ["", "four hours", "4", "1h -30m", "1:75", "h"])
def test_unreadable_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(DurationSyntax, match="write it like 4h, 1h 30m"):
        duration_parse(text)


@pytest.mark.parametrize(
    "value", [timedelta(hours=4), timedelta(days=1, hours=2, minutes=30), timedelta(seconds=45), timedelta(hours=-2)]
)
def test_durations_are_written_back_so_they_read_the_same(value: timedelta) -> None:
    assert duration_parse(duration_text(value)) == value


def test_zero_reads_as_zero_minutes() -> None:
    assert duration_text(timedelta(0)) == "0m"

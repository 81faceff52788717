"""An escalation policy's levels as stacked inline rows: offsets written as text ("-30m", "0", "1h"), checked
before the database is.

Each refusal names its level ("Level 3 (Resolution, +1h) must come after level 2 …"), so a team lead can act
on it; the database's own constraints (one level per number, one per target and offset, offsets within a
year) are never reached by a bad submission.
"""

from collections.abc import Iterable
from datetime import timedelta
from itertools import pairwise
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from policies.engine.durations import DurationSyntax, duration_parse, duration_text
from policies.models import EscalationLevel, EscalationPolicy, TargetKind
from policies.models.escalations import MAX_OFFSET
from policies.selectors import managed_team_ids, policy_agents
from tickets.models import Team
from tickets.selectors import visible_team_ids

# The policy form leaves its chosen teams on the policy instance under this name (the M2M is saved only after
# the levels are checked), so that the levels can be checked against the teams the policy is being given.
CHOSEN_TEAMS = "_escalation_chosen_team_ids"

OFFSET_HELP = (
    "From the target's due time. Negative is before it, counted in business time: -30m warns 30 business "
    "minutes before. 0 is the breach. Positive is after it, in calendar time: 1h is an hour after the breach. "
    "At most 365 days either way."
)
ACTIONS = (
    "notify_users",
    "notify_teams",
    "assign_user",
    "assign_team",
    "set_priority",
    "add_tags",
    "note",
    "webhook_url",
)
# While a save moves levels, the rows it changes wait on numbers and offsets no form can give (no typed
# offset has microseconds), since the database refuses two rows with one number even for a moment.
_PARKED_NUMBER = 32000
_PARKED_OFFSET = MAX_OFFSET - timedelta(microseconds=1)


def offset_label(offset: timedelta) -> str:
    """ "+1h", "-30m", "0": an offset as messages show it."""
    if not offset:
        return "0"
    return duration_text(offset) if offset < timedelta(0) else "+" + duration_text(offset)


class OffsetTextField(forms.Field):
    """A signed offset typed as text ("-30m", "0", "+1h", "1h 30m") and shown back the same way."""

    widget = forms.TextInput(attrs={"placeholder": "-30m, 0, 1h", "size": 12})

    def to_python(self, value: Any) -> timedelta | None:
        if isinstance(value, timedelta):
            return value
        if value in self.empty_values:
            return None
        text = str(value).strip()
        unsigned = text.removeprefix("+").strip()
        if unsigned in ("0", "-0"):
            return timedelta(0)
        try:
            return duration_parse(unsigned)
        except DurationSyntax as exc:
            raise ValidationError(
                f"“{text}” is not an offset: write it like -30m (before the due time), 0 (the breach) or 1h (after).",
                code="invalid",
            ) from exc
        except OverflowError as exc:  # more days than a timedelta holds
            raise ValidationError(f"“{text}” is far more than 365 days.", code="invalid") from exc

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, timedelta):
            return "0" if not value else duration_text(value)
        return value


class EscalationLevelForm(forms.ModelForm):
    number = forms.IntegerField(
        min_value=1, max_value=999, help_text="Level 1 comes first; a target's offsets rise level by level."
    )
    offset = OffsetTextField(help_text=OFFSET_HELP)
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Webhook URL",
        help_text=str(EscalationLevel._meta.get_field("webhook_url").help_text),
    )

    class Meta:
        model = EscalationLevel
        fields = ["number", "kind", "offset", *ACTIONS, "webhook_secret"]
        widgets = {
            "note": forms.Textarea(attrs={"rows": 2}),
            "webhook_secret": forms.PasswordInput(render_value=True),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What a superuser chose stays valid when a team lead saves the level again.
        for name in ("notify_users", "notify_teams", "assign_user", "assign_team"):
            field = self.fields.get(name)
            current = self.initial.get(name)
            chosen = _ids(current if isinstance(current, (list, tuple)) else [current])
            if isinstance(field, forms.ModelChoiceField) and field.queryset is not None and chosen:
                scope = field.queryset
                field.queryset = scope.model.objects.filter(Q(pk__in=scope.values("pk")) | Q(pk__in=chosen))

    def level_name(self) -> str:
        """ "Level 3", or "A level" while its number is not valid."""
        number = self.cleaned_data.get("number")
        return f"Level {number}" if number else "A level"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = self.level_name()
        offset = data.get("offset")
        if offset is not None and abs(offset) > MAX_OFFSET:
            self.add_error("offset", f"{name}: “{offset_label(offset)}” is more than 365 days from the due time.")
        # An action refused above (an unknown user, a bad URL) was meant: its own message says what to fix.
        if not any(data.get(action) or action in self.errors for action in ACTIONS):
            self.add_error(
                None,
                f"{name} does nothing: choose at least one action (notify, assign, set a priority, add tags, a note "
                "or a webhook).",
            )
        url, secret = data.get("webhook_url"), data.get("webhook_secret")
        if url and not secret and "webhook_url" not in self.errors:
            self.add_error("webhook_secret", f"{name} calls a webhook: give the secret its body is signed with.")
        if secret and not url and "webhook_url" not in self.errors:
            self.add_error("webhook_url", f"{name} has a webhook secret but no URL: give the URL or clear the secret.")
        for user in data.get("notify_users") or []:
            if not user.is_active:
                self.add_error("notify_users", f"{name} notifies {user.get_username()}, who is no longer active.")
        assignee = data.get("assign_user")
        if assignee is not None and not assignee.is_active:
            self.add_error(
                "assign_user", f"{name} assigns tickets to {assignee.get_username()}, who is no longer active."
            )
        return data


def _ids(values: Iterable[Any]) -> list[int]:
    """The primary keys among model instances and ids, as a form's initial values hold them."""
    return [int(value.pk) if isinstance(value, Model) else int(value) for value in values if value not in (None, "")]


def _kept(formset: BaseInlineFormSet) -> list[EscalationLevelForm]:
    return [
        form
        for form in formset.forms
        if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE", False)
    ]


class EscalationLevelFormSet(BaseInlineFormSet):
    """The levels taken together: at least one, numbers unique, a target's offsets rising with the numbers."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None and index >= self.initial_form_count():
            # A new row proposes the number after the last one.
            numbers = [level.number for level in self.get_queryset()]
            kwargs["initial"] = {"number": max(numbers, default=0) + 1 + index - self.initial_form_count()}
        return kwargs

    def clean(self) -> None:
        kept = _kept(self)
        problems = _duplicate_numbers(kept) or _offsets_out_of_order(kept)
        problems += _unseen_assignees(kept, self.instance)
        if problems:
            # Django's own check of the unique number would add a second, vaguer message: stop here.
            raise ValidationError(problems)
        if not kept and not any(form.errors for form in self.forms if not _deleted(form)):
            raise ValidationError(
                "Add at least one level (a target, an offset and an action): a policy without levels never escalates."
            )
        super().clean()

    def save_existing_objects(self, commit: bool = True) -> list[Any]:
        if commit:
            self._park_moved_levels()
        return list(super().save_existing_objects(commit))

    def _park_moved_levels(self) -> None:
        """Move every saved level this save renumbers, retimes or deletes out of the way of the others first."""
        moved = [
            form.instance.pk
            for form in self.initial_forms
            if _deleted(form) or {"number", "kind", "offset"} & set(form.changed_data)
        ]
        for index, pk in enumerate(moved):
            EscalationLevel.objects.filter(pk=pk).update(
                number=_PARKED_NUMBER + index, offset=_PARKED_OFFSET - timedelta(microseconds=index)
            )


def _deleted(form: forms.Form) -> bool:
    return bool(getattr(form, "cleaned_data", {}).get("DELETE", False))


def _duplicate_numbers(kept: list[EscalationLevelForm]) -> list[str]:
    seen: set[int] = set()
    repeated: list[int] = []
    for form in kept:
        number = form.cleaned_data["number"]
        if number in seen and number not in repeated:
            repeated.append(number)
        seen.add(number)
    return [f"Two levels are numbered {number}: give each level its own number." for number in repeated]


def _offsets_out_of_order(kept: list[EscalationLevelForm]) -> list[str]:
    """Each level whose offset does not rise above the one of the level before it on the same target."""
    problems = []
    for kind in TargetKind.values:
        levels = sorted(
            (form.cleaned_data["number"], form.cleaned_data["offset"])
            for form in kept
            if form.cleaned_data["kind"] == kind
        )
        label = TargetKind(kind).label
        for (before, earlier), (number, offset) in pairwise(levels):
            if offset <= earlier:
                problems.append(
                    f"Level {number} ({label}, {offset_label(offset)}) must come after level {before} ({label}, "
                    f"{offset_label(earlier)}): a target's offsets rise level by level."
                )
    return problems


def _unseen_assignees(kept: list[EscalationLevelForm], policy: EscalationPolicy) -> list[str]:
    """Each level that gives tickets to an agent who may not see them there."""
    problems = []
    scope = _policy_team_ids(policy)
    names = dict(Team.objects.values_list("pk", "name"))
    for form in kept:
        user, team = form.cleaned_data.get("assign_user"), form.cleaned_data.get("assign_team")
        if user is None or not user.is_active:
            continue
        seen = set(visible_team_ids(user))
        number, who = form.cleaned_data["number"], user.get_username()
        if team is not None:
            if team.pk not in seen:
                problems.append(
                    f"Level {number} assigns tickets to {who}, who does not see the tickets of team {team.name}: "
                    "choose an agent of that team."
                )
        elif scope is None:
            if set(names) - seen:
                problems.append(
                    f"Level {number} assigns tickets to {who}, but this policy applies to every team and {who} does "
                    "not see them all: choose a team to move the tickets to as well, or limit the policy's teams."
                )
        elif scope - seen:
            missing = ", ".join(sorted(names.get(pk, str(pk)) for pk in scope - seen))
            problems.append(
                f"Level {number} assigns tickets to {who}, who does not see the tickets of {missing}, where this "
                "policy applies: choose a team to move the tickets to as well, or an agent who sees them."
            )
    return problems


def _policy_team_ids(policy: EscalationPolicy) -> set[int] | None:
    """The teams whose tickets the policy may escalate (its own, within its SLA policy's); None: every team."""
    chosen = getattr(policy, CHOSEN_TEAMS, None)
    if chosen is None:
        chosen = list(policy.teams.values_list("pk", flat=True)) if policy.pk else []
    own = set(chosen)
    sla_policy = policy.sla_policy if policy.sla_policy_id else None
    tied = set(sla_policy.teams.values_list("pk", flat=True)) if sla_policy else set()
    if own and tied:
        return own & tied
    return own or tied or None


class EscalationLevelInline(admin.StackedInline):
    model = EscalationLevel
    form = EscalationLevelForm
    formset = EscalationLevelFormSet
    ordering = ["number"]
    filter_horizontal = ["notify_users", "add_tags"]
    fieldsets = [
        (None, {"fields": [("number", "kind", "offset")]}),
        (
            "Actions",
            {
                "fields": [
                    "notify_users",
                    "notify_teams",
                    ("assign_team", "assign_user"),
                    "set_priority",
                    "add_tags",
                    "note",
                    ("webhook_url", "webhook_secret"),
                ],
                "description": "Choose at least one; they run in this order when the level fires.",
            },
        ),
    ]
    verbose_name, verbose_name_plural = "level", "levels"

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationLevel]:
        return (
            super()
            .get_queryset(request)
            .select_related("assign_user", "assign_team")
            .prefetch_related("notify_users", "notify_teams", "add_tags")
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assign_user":
            kwargs["queryset"] = policy_agents(request.user)
        elif db_field.name == "assign_team":
            kwargs["queryset"] = Team.objects.filter(id__in=managed_team_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "notify_users":
            kwargs["queryset"] = policy_agents(request.user)
        elif db_field.name == "notify_teams":
            kwargs["queryset"] = Team.objects.filter(id__in=managed_team_ids(request.user))
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

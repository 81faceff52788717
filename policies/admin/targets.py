"""A policy's targets as inline rows: durations written as text ("4h", "1h 30m"), checked before the database is.

The database refuses a duplicate (policy, priority, kind) and a duration that is not positive; the form
refuses both first, with a message a team lead can act on, so a bad submission is never a server error.
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from policies.engine import HORIZON
from policies.engine.durations import DurationSyntax, duration_parse, duration_text
from policies.engine.span_index import HORIZON_YEARS
from policies.models import SlaTarget, TargetKind
from tickets.models import Priority


class DurationTextField(forms.Field):
    """A positive duration typed as text and shown back the same way ("2d 4h 30m")."""

    widget = forms.TextInput(attrs={"placeholder": "4h, 1h 30m, 2d", "size": 12})

    def to_python(self, value: Any) -> timedelta | None:
        if isinstance(value, timedelta):
            return value
        if value in self.empty_values:
            return None
        text = str(value)
        try:
            duration = duration_parse(text)
        except DurationSyntax as exc:
            raise ValidationError(str(exc), code="invalid") from exc
        except OverflowError as exc:  # more days than a timedelta holds
            raise ValidationError(f"“{text}” is far too long for a target.", code="invalid") from exc
        if duration < timedelta(0):
            raise ValidationError(f"A target must be longer than zero: “{text}” is negative.", code="negative")
        if duration == timedelta(0):
            raise ValidationError(f"A target must be longer than zero: “{text}” is no time at all.", code="zero")
        if duration > HORIZON:
            # The engine counts business time no further than its horizon; a longer target could never be due.
            raise ValidationError(
                f"“{text}” is longer than the {HORIZON_YEARS} years over which business time is counted.",
                code="too_long",
            )
        return duration

    def prepare_value(self, value: Any) -> Any:
        return duration_text(value) if isinstance(value, timedelta) else value


class SlaTargetForm(forms.ModelForm):
    duration = DurationTextField(help_text="Business time of the policy's calendar, e.g. 4h, 1h 30m, 2d.")

    class Meta:
        model = SlaTarget
        fields = ["priority", "kind", "duration"]


Key = tuple[int, str]


def target_label(key: Key) -> str:
    """ "High · First response": how a row's priority and kind are named in messages."""
    priority, kind = key
    return f"{Priority(priority).label} · {TargetKind(kind).label}"


class SlaTargetFormSet(BaseInlineFormSet):
    """The targets taken together: at least one, and one per (priority, kind), also while the rows are saved."""

    def clean(self) -> None:
        kept = [form for form in self.forms if form.is_valid() and form.cleaned_data and not _deleted(form)]
        problems = _duplicates(kept) or _taken_while_saving(kept, self.initial_forms)
        if problems:
            # Django's own check of the same rule would add a second, vaguer message: stop here.
            raise ValidationError(problems)
        # Rows ticked for deletion do not count, even with errors: Django ignores those errors too.
        if not kept and not any(form.errors for form in self.forms if not _deleted(form)):
            raise ValidationError(
                "Add at least one target (a priority, a kind and a duration): a policy without targets starts no clock."
            )
        super().clean()


def _deleted(form: forms.Form) -> bool:
    return bool(form.cleaned_data.get("DELETE", False))


def _key(values: Mapping[str, Any]) -> Key:
    return (int(values["priority"]), str(values["kind"]))


def _duplicates(kept: list[forms.Form]) -> list[str]:
    """Two rows that would leave the policy with two targets for one priority and kind."""
    seen: set[Key] = set()
    repeated: list[Key] = []
    for form in kept:
        key = _key(form.cleaned_data)
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    return [f"Two rows set the {target_label(key)} target: keep one of them." for key in repeated]


def _taken_while_saving(kept: list[forms.Form], saved: list[forms.Form]) -> list[str]:
    """A saved row moved to the priority and kind another saved row holds until it is itself changed or deleted.

    Django saves the rows one by one, and the database refuses two rows with one key even for a moment, so a
    swap (or a move onto a row deleted in the same save) would fail halfway; it is refused here instead.
    """
    holders = {_key(form.initial): form for form in saved if form.initial.get("kind")}
    problems = []
    for form in kept:
        if form not in saved:
            continue  # a new row is saved after the changes and deletions of the saved rows
        key = _key(form.cleaned_data)
        holder = holders.get(key)
        if holder is not None and holder is not form:
            problems.append(
                f"The {target_label(key)} target is still held by another saved row that this save changes or "
                "deletes: save that row first, then move this one onto it."
            )
    return problems


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    form = SlaTargetForm
    formset = SlaTargetFormSet
    fields = ["priority", "kind", "duration"]
    verbose_name, verbose_name_plural = "target", "targets"

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        # A new policy usually wants first response, next response and resolution for some priority.
        return 3 if obj is None else 1

"""The due instants a policy gives, previewed on its admin page for a chosen start and priority.

Times are read and shown as wall-clock times of the policy's calendar zone (the site's zone for a policy
that counts calendar time). A local time that the clocks skip does not exist and is refused; one that
happens twice (the clocks go back) is read as its first occurrence (zoneinfo's fold=0), and the page says so.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from policies.engine import BusinessTimeError
from policies.engine.clocks import add
from policies.engine.durations import duration_text
from policies.models import SlaPolicy, TargetKind
from policies.services.sla import calendar_spec
from tickets.models import Priority

_INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class DueRow:
    """One line of the preview: a target and the instant it falls due."""

    kind: str
    duration: str
    due: str


def preview_zone(policy: SlaPolicy) -> tuple[ZoneInfo, str]:
    """The zone the preview reads and shows times in, and a sentence that tells the user which and why."""
    if policy.calendar is not None:
        zone_name = policy.calendar.time_zone
        return ZoneInfo(zone_name), (
            f"Times are read and shown in {zone_name}, the time zone of the calendar “{policy.calendar.name}”; "
            "targets count its business hours."
        )
    zone_name = settings.TIME_ZONE or "UTC"
    return ZoneInfo(zone_name), (
        "This policy counts calendar time (it has no business calendar): every hour counts, and times are read "
        f"and shown in the site's time zone, {zone_name}."
    )


def offset_text(offset: timedelta | None) -> str:
    """ "UTC+01:00": an offset from UTC as people write it."""
    minutes = int((offset or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def instant_text(value: datetime) -> str:
    """ "Mon 2026-11-30 10:00 GMT (UTC+00:00)": an aware instant with its zone's abbreviation and offset."""
    clock = "%H:%M:%S" if value.second else "%H:%M"
    return f"{value.strftime('%a %Y-%m-%d ' + clock)} {value.tzname()} ({offset_text(value.utcoffset())})"


def local_instant(text: str, zone: ZoneInfo) -> tuple[datetime, str]:
    """The instant a local date and time means in `zone`, and a note when the reading was a choice.

    Raises ValidationError for text that is not a date and time, and for a local time the clocks skip.
    """
    naive = _parse_naive(text)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    try:
        if first.utcoffset() == second.utcoffset():
            return first, ""
        # zoneinfo gives a skipped time the offsets from both sides; only a real time reads back unchanged.
        exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    except OverflowError as exc:
        raise ValidationError(f"“{text}” is too far from today to preview.") from exc
    shown = naive.strftime("%Y-%m-%d %H:%M")
    change = f"from {offset_text(first.utcoffset())} to {offset_text(second.utcoffset())}"
    if not exists:
        raise ValidationError(
            f"{shown} does not exist in {zone.key}: that night the clocks go forward ({change}) and skip it. "
            "Choose an earlier or a later time."
        )
    return first, (
        f"{shown} happens twice in {zone.key}: that night the clocks go back ({change}). The first reading was "
        f"used: {instant_text(first)}."
    )


def _parse_naive(text: str) -> datetime:
    for pattern in _INPUT_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise ValidationError(f"“{text}” is not a date and time: write it like 2026-11-27 16:00.")


class PreviewForm(forms.Form):
    start = forms.CharField(
        label="Start (local date and time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"required": "Give a start date and time, like 2026-11-27 16:00."},
    )
    priority = forms.TypedChoiceField(
        choices=[("", "---------"), *Priority.choices],
        coerce=int,
        error_messages={"required": "Choose a priority: each priority has its own targets."},
    )

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.note = ""

    def clean_start(self) -> datetime:
        instant, self.note = local_instant(self.cleaned_data["start"], self.zone)
        return instant


def due_rows(policy: SlaPolicy, *, start: datetime, priority: int, zone: ZoneInfo) -> list[DueRow]:
    """Each saved target of `priority`, in clock order, with its due instant from `start` shown in `zone`."""
    order = {kind: index for index, kind in enumerate(TargetKind.values)}
    targets = sorted(policy.targets.filter(priority=priority), key=lambda target: order.get(target.kind, 99))
    spec = calendar_spec(policy.calendar)
    return [
        DueRow(
            kind=target.get_kind_display(),
            duration=duration_text(target.duration),
            due=instant_text(add(spec, start, target.duration).astimezone(zone)),
        )
        for target in targets
    ]


def policy_preview_view(model_admin: admin.ModelAdmin, request: HttpRequest, policy: SlaPolicy) -> HttpResponse:
    """The preview page: a GET form (start, priority) and, once it is valid, the due instant of each target."""
    zone, zone_sentence = preview_zone(policy)
    form = PreviewForm(request.GET if "start" in request.GET else None, zone=zone)
    result: dict[str, Any] = {}
    if form.is_valid():
        start, priority = form.cleaned_data["start"], form.cleaned_data["priority"]
        try:
            rows = due_rows(policy, start=start, priority=priority, zone=zone)
        except (BusinessTimeError, OverflowError) as exc:
            form.add_error(None, f"The due instants cannot be computed from this start: {exc}")
        else:
            result = {"start": instant_text(start), "priority": Priority(priority).label, "rows": rows}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Due times of {policy.name}",
        "policy": policy,
        "form": form,
        "zone_sentence": zone_sentence,
        "result": result,
        "opts": model_admin.model._meta,
    }
    return render(request, "admin/policies/slapolicy_preview.html", context)

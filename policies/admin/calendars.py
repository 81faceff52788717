"""The admin of business calendars: inline hours and holidays, validated by the engine; .ics import."""

from datetime import time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseFormSet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from policies.admin.recompute import recompute_in_background
from policies.engine import Holiday, WeeklyInterval, validate
from policies.models import BusinessCalendar, CalendarHoliday, OpeningInterval
from policies.models.calendars import time_zone_choices, validate_time_zone
from policies.selectors import editable_calendars, managed_team_ids
from policies.services.calendars import IcsInvalid, calendar_holidays_import
from tickets.models import Team


class _Parts:
    """A calendar being edited, shaped for the engine's `validate`."""

    def __init__(self, tz: str, weekly: list[WeeklyInterval], holidays: list[Holiday]) -> None:
        self.tz, self.weekly, self.holidays = tz, weekly, holidays


class EngineCheckedFormSet(BaseInlineFormSet):
    """An inline formset whose rows, taken together, are checked by the engine's `validate`."""

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        problems = validate(self.calendar_parts(kept))
        if problems:
            raise ValidationError(problems)

    def calendar_parts(self, rows: list[dict[str, Any]]) -> _Parts:
        raise NotImplementedError


class OpeningIntervalFormSet(EngineCheckedFormSet):
    """Checks the week as a whole: at least one interval, none overlapping (overnight spill-over included)."""

    def calendar_parts(self, rows: list[dict[str, Any]]) -> _Parts:
        weekly = [WeeklyInterval(weekday=r["weekday"], start=r["start"], end=r["end"]) for r in rows]
        tz = self.instance.time_zone if _valid_zone(self.instance.time_zone) else "UTC"
        return _Parts(tz, weekly, [])


class CalendarHolidayFormSet(EngineCheckedFormSet):
    """Checks each holiday's hours, with the engine's wording."""

    def calendar_parts(self, rows: list[dict[str, Any]]) -> _Parts:
        holidays = [Holiday(date=r["date"], start=r["start"], end=r["end"]) for r in rows]
        # Any valid week will do: only the holidays' own problems are wanted here.
        return _Parts("UTC", [WeeklyInterval(0, time(0))], holidays)


def _valid_zone(name: str) -> bool:
    try:
        validate_time_zone(name)
    except ValidationError:
        return False
    return True


class OpeningIntervalInline(admin.TabularInline):
    model = OpeningInterval
    formset = OpeningIntervalFormSet
    extra = 1
    fields = ["weekday", "start", "end"]


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    formset = CalendarHolidayFormSet
    extra = 1
    fields = ["date", "start", "end", "name"]


class BusinessCalendarForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="UTC")

    class Meta:
        model = BusinessCalendar
        fields = ["name", "team", "time_zone"]


class HolidayImportForm(forms.Form):
    ics_file = forms.FileField(label="iCalendar file (.ics)", help_text="All-day events close whole dates.")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "team", "time_zone", "interval_count", "holiday_count", "updated_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter), "time_zone"]
    search_fields = ["name"]
    inlines = [OpeningIntervalInline, CalendarHolidayInline]
    readonly_fields = ["import_holidays_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return editable_calendars(request.user)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "team":
            kwargs["queryset"] = Team.objects.filter(id__in=managed_team_ids(request.user))
            kwargs["required"] = not request.user.is_superuser  # a lead's calendar belongs to one of their teams
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list[BaseFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # A new calendar governs nothing yet: no policy can name it before it exists.
        if change and (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            calendar = form.instance
            recompute_in_background(
                self,
                request,
                subject=f"the calendar “{calendar.name}”",
                reason=f"calendar “{calendar.name}” changed",
                calendar=calendar,
            )

    @admin.display(description="Intervals", ordering="interval_count")
    def interval_count(self, obj: BusinessCalendar) -> int:
        return int(getattr(obj, "interval_count", 0))

    @admin.display(description="Holidays", ordering="holiday_count")
    def holiday_count(self, obj: BusinessCalendar) -> int:
        return int(getattr(obj, "holiday_count", 0))

    @admin.display(description="Holidays from a file")
    def import_holidays_link(self, obj: BusinessCalendar) -> str:
        if obj.pk is None:
            return "Save the calendar first, then import holidays from an .ics file."
        url = reverse("admin:policies_businesscalendar_import", args=[obj.pk])
        return format_html('<a href="{}">Import holidays from an .ics file</a>', url)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:calendar_id>/import-holidays/",
                self.admin_site.admin_view(self.import_holidays_view),
                name="policies_businesscalendar_import",
            )
        ]
        return own + super().get_urls()

    def import_holidays_view(self, request: HttpRequest, calendar_id: int) -> HttpResponse:
        """Upload an .ics file; its events become holidays; the summary says what was added."""
        calendar = get_object_or_404(self.get_queryset(request), pk=calendar_id)
        if not self.has_change_permission(request, calendar):
            return HttpResponse("You may not change this calendar.", status=403)
        form = HolidayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["ics_file"]
            if upload.size > 2 * 1024 * 1024:
                form.add_error("ics_file", "The file is larger than 2 MB; a holiday calendar is far smaller.")
            else:
                try:
                    result = calendar_holidays_import(calendar=calendar, ics=upload.read())
                except IcsInvalid as exc:
                    form.add_error("ics_file", str(exc))
                else:
                    self.message_user(request, f"Holidays imported: {result.summary()}.", messages.SUCCESS)
                    for line in result.ignored:
                        self.message_user(request, f"Ignored: {line}", messages.WARNING)
                    if result.added:
                        recompute_in_background(
                            self,
                            request,
                            subject=f"the calendar “{calendar.name}”",
                            reason=f"holidays imported into calendar “{calendar.name}”",
                            calendar=calendar,
                        )
                    change_url = reverse("admin:policies_businesscalendar_change", args=[calendar.pk])
                    return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import holidays into {calendar.name}",
            "calendar": calendar,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/policies/import_holidays.html", context)

"""The tick's django-celery-beat schedule: every second, editable in the admin."""

from typing import Any

from django.db import migrations

from policies.schedule import TICK_TASK_NAME, tick_schedule_ensure


def create(apps: Any, schema_editor: Any) -> None:
    tick_schedule_ensure(apps.get_model("django_celery_beat", "PeriodicTask"), apps.get_model("django_celery_beat", "IntervalSchedule"))


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TICK_TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0003_escalations"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]

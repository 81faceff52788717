"""Full-text search indexes for the inbox (PostgreSQL only): message texts and contact names.

GIN indexes on the very expressions tickets.selectors.inbox searches with, to_tsvector('simple', ...), so that
a search reads the index instead of every message. Built CONCURRENTLY, so that a live database keeps taking
messages while the index is built (hence a non-atomic migration). Other databases (SQLite, the embedded
default) search with LIKE and get nothing here; the models' state is unchanged on every database.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

CONFIG = "simple"  # tickets.selectors.inbox.SEARCH_CONFIG at the time of this migration
INDEXES = [
    ("Message", GinIndex(SearchVector("text", config=CONFIG), name="message_text_search")),
    ("Contact", GinIndex(SearchVector("display_name", config=CONFIG), name="contact_name_search")),
]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in INDEXES:
        schema_editor.add_index(apps.get_model("tickets", model_name), index, concurrently=True)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in INDEXES:
        schema_editor.remove_index(apps.get_model("tickets", model_name), index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0008_workspace"),
    ]

    operations = [
        migrations.RunPython(add_indexes, remove_indexes, elidable=False),
    ]

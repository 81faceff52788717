"""The project's URLs plus `bench/bare-insert/<account id>/`, the baseline the ingest benchmark compares to."""

from django.urls import path

from bench.baseline import bare_insert
from helpdesk.urls import urlpatterns as helpdesk_urlpatterns

urlpatterns = [
    *helpdesk_urlpatterns,
    path("bench/bare-insert/<int:account_id>/", bare_insert, name="bench-bare-insert"),
]

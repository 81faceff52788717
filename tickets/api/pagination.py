"""Cursor pages: stable under inserts, and as cheap on page 1,000 as on page 1 (no OFFSET)."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Pages in creation order (the primary key), unless a view names another `ordering`."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 200

"""Sorting and paging of an in-memory table (admin lists), as a Reflex state mixin.

A state using it lists its rows in ``table_rows`` (a computed var, already filtered);
``sorted_rows`` / ``page_rows`` / ``page_count`` follow from the sort key and page.
"""

from __future__ import annotations

import reflex as rx

PAGE_SIZE = 20


class TableMixin(rx.State, mixin=True):
    query: str = ""
    sort_key: str = ""
    sort_desc: bool = False
    page: int = 0

    def table_rows(self) -> list[dict]:  # overridden by the state
        return []

    def _reload(self) -> None:  # overridden: fetch rows through a service
        raise NotImplementedError

    @rx.event
    def load(self):
        self._reload()

    @rx.event
    def set_query(self, value: str):
        self.query = value
        self.page = 0
        self._reload()

    # Not cached: they read rows through table_rows(), which dependency tracking cannot see.
    @rx.var(cache=False)
    def sorted_rows(self) -> list[dict]:
        return sorted(self.table_rows(), key=lambda r: str(r.get(self.sort_key, "")).lower(), reverse=self.sort_desc)

    @rx.var(cache=False)
    def page_rows(self) -> list[dict]:
        return self.sorted_rows[self.page * PAGE_SIZE:(self.page + 1) * PAGE_SIZE]

    @rx.var(cache=False)
    def page_count(self) -> int:
        return max(1, (len(self.sorted_rows) + PAGE_SIZE - 1) // PAGE_SIZE)

    @rx.event
    def sort_by(self, key: str):
        if self.sort_key == key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key, self.sort_desc = key, False

    @rx.event
    def next_page(self):
        self.page = min(self.page + 1, self.page_count - 1)

    @rx.event
    def prev_page(self):
        self.page = max(self.page - 1, 0)

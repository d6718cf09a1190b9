"""Keyset paging of long lists, newest first (the trade blotter, the audit trail).

A page is found by the id of a row next to it (?before= / ?after=), never by OFFSET: a page of a
million-row table costs what a page of a hundred does.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

PAGE_SIZE = 50


@dataclass(frozen=True)
class KeysetPage:
    """One page of a keyset-paged list, newest first, and the cursors of its neighbours.

    newer_after: pass as after= for the page of newer rows (None: this is the newest page).
    older_before: pass as before= for the page of older rows (None: this is the oldest page).
    """

    rows: list
    newer_after: int | None
    older_before: int | None

    @property
    def first_id(self) -> int | None:
        return self.rows[0].pk if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].pk if self.rows else None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def keyset_page(queryset: QuerySet, *, before: int | None = None, after: int | None = None,
                size: int | None = None) -> KeysetPage:
    """Return the page (newest first by id) just older than `before`, just newer than `after`, or the newest.

    Any queryset ordered by -id: the trade blotter, the audit trail.

    Two queries at most, each reading size + 1 rows from an index, whatever the table's size.
    A cursor past either end gives the newest page. size: PAGE_SIZE unless given.
    """
    size = size or PAGE_SIZE
    if after is not None:
        chunk = list(queryset.filter(id__gt=after).order_by("id")[:size + 1])
        if chunk:
            rows = chunk[:size][::-1]
            more_newer = len(chunk) > size
            more_older = queryset.filter(id__lt=rows[-1].pk).exists()
            return KeysetPage(rows, rows[0].pk if more_newer else None, rows[-1].pk if more_older else None)
    elif before is not None:
        chunk = list(queryset.filter(id__lt=before)[:size + 1])
        if chunk:
            rows = chunk[:size]
            more_older = len(chunk) > size
            more_newer = queryset.filter(id__gt=rows[0].pk).exists()
            return KeysetPage(rows, rows[0].pk if more_newer else None, rows[-1].pk if more_older else None)
    chunk = list(queryset[:size + 1])
    rows = chunk[:size]
    return KeysetPage(rows, None, rows[-1].pk if len(chunk) > size else None)


def keyset_page_of(request, queryset):
    """The keyset page of a list view: the ?before= / ?after= cursors of the request (junk ignored)."""
    def cursor(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None

    return keyset_page(queryset, before=cursor("before"), after=cursor("after"))

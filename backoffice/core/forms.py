"""Filter forms of the dashboard pages: date inputs, date ranges, and filters naming records by key.

A list view parses its GET filters with a form, calls one selector with form_filters(form) and
shows page_of(request, rows). Invalid filter values are shown on the form and ignored; the valid
ones still apply.
"""

from django import forms
from django.core.paginator import Paginator

PAGE_SIZE = 50


class DateInput(forms.DateInput):
    input_type = "date"


def with_all(choices, label="All"):
    """Return the choices of a filter, led by the empty choice that filters nothing."""
    return [("", label), *choices]


class DateRangeMixin:
    """A filter form with date_from and date_to fields: the range may not run backwards."""

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "Must not be before the start date.")
        return cleaned


def form_filters(form: forms.Form) -> dict:
    """Return the valid, non-empty filter values of a bound form."""
    form.is_valid()
    return {name: value.strip() if isinstance(value, str) else value
            for name, value in form.cleaned_data.items() if value not in (None, "")}


def page_of(request, rows):
    """The ?page= page of rows, PAGE_SIZE rows to a page."""
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


class ReferenceFilterForm(forms.Form):
    """A filter form some of whose fields name records by their business keys (account code, ISIN...).

    A key that names no record is shown as an error and matches no rows rather than being ignored:
    a clerk who mistypes an account must not be shown every account's trades as if they were its.
    """

    reference_fields: tuple[str, ...] = ()

    def selector_filters(self) -> dict | None:
        """Return the valid filters, or None when a reference filter names nothing."""
        filters = form_filters(self)
        if any(name in self.errors for name in self.reference_fields):
            return None
        return filters

    def _resolve(self, name: str, find, what: str):
        key = self.cleaned_data.get(name)
        if not key:
            return None
        found = find(key)
        if not found:
            raise forms.ValidationError(f"No {what} {key!r}.")
        return found

"""The Django admin's shared parts: the site's titles and the base classes of the apps' model admins.

Rows change through services, never by a plain save: reference data is saved through its service
(ServiceAdmin), so every save writes its audit record and obeys the same business rules as the API;
what changes only through services is read-only here (ReadOnlyAdmin). Nothing is deleted from the
admin: records are retained.
"""

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.http import HttpResponseRedirect
from django.utils.functional import cached_property

from backoffice.core.exceptions import BusinessRuleError
from backoffice.core.fields import format_decimal

admin.site.site_header = "Back-office administration"
admin.site.site_title = "Back-office administration"

ADMIN_REASON = "changed in the admin"


def decimal_column(field_name: str, description: str | None = None):
    """A list column showing a decimal without trailing zeros (189.25, not 189.25000000)."""

    @admin.display(description=description or field_name.replace("_", " "), ordering=field_name)
    def column(obj):
        return format_decimal(getattr(obj, field_name))

    column.__name__ = f"{field_name}_display"
    return column


class RetainedRecordsAdmin(admin.ModelAdmin):
    """Records are retained: nothing is deleted from the admin."""

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(RetainedRecordsAdmin):
    """Viewable, never added or changed here: these rows change only through services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _DryRun(Exception):
    """Raised to roll back a trial save made while validating a form."""


class ServiceModelForm(forms.ModelForm):
    """A model form whose save goes through a service.

    Validation ends with a trial run of that service in a savepoint that is rolled back, so a
    business rule the service enforces (and the model does not) shows as a form error, and the
    real save in ``save_model`` does not fail for a reason the user could have fixed.
    """

    reason = forms.CharField(required=False, max_length=500, help_text="Why: kept in the audit trail.")

    # Set on the class by ServiceAdmin.get_form: the admin that saves, and the user it saves for.
    model_admin = None
    actor = None

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.model_admin is None:
            return
        try:
            with transaction.atomic():
                self.model_admin.service_save(actor=self.actor, form=self)
                raise _DryRun
        except _DryRun:
            pass
        except BusinessRuleError as exc:
            self.add_service_error(exc)

    def add_service_error(self, exc: BusinessRuleError) -> None:
        if exc.field in self.fields:
            self.add_error(exc.field, exc.message)
        elif exc.field == "non_field_errors":
            self.add_error(None, exc.message)
        else:  # about a read-only field
            self.add_error(None, f"{exc.field}: {exc.message}")


class ServiceAdmin(RetainedRecordsAdmin):
    """Rows saved through a service, with an audit record per save.

    Subclasses implement ``service_save(actor=, form=)``: create or update through the service and
    return the saved row, without touching ``form.instance`` (it also runs as a trial, rolled back).
    """

    form = ServiceModelForm
    # Business keys: editable when adding, read-only once created.
    key_fields: tuple[str, ...] = ()
    # Shown once the row exists, not when adding (the service's create takes no such argument).
    change_only_fields: tuple[str, ...] = ()
    readonly_always: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_always
        return (*self.key_fields, *self.readonly_always)

    def get_fields(self, request, obj=None):
        # Business keys first (read-only ones would otherwise come last), then the rest, the
        # reason for the change, and the timestamps.
        fields = list(super().get_fields(request, obj))
        last = ("reason", *self.readonly_always)
        head = [f for f in self.key_fields if f in fields]
        middle = [f for f in fields if f not in head and f not in last]
        return [*head, *middle, *(f for f in last if f in fields)]

    def get_exclude(self, request, obj=None):
        excluded = tuple(super().get_exclude(request, obj) or ())
        return excluded if obj is not None else (*excluded, *self.change_only_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory made a fresh class for this request: bind it to us and the user.
        form_class.model_admin = self
        form_class.actor = request.user
        return form_class

    def save_model(self, request, obj, form, change):
        saved = self.service_save(actor=request.user, form=form)
        # The admin goes on with obj (change message, redirect): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BusinessRuleError as exc:
            # The rule held in the trial run but not in the real save: someone changed the same
            # records in between. Nothing was saved (the view's transaction rolled back).
            self.message_user(request, f"Not saved: {exc.message}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def service_save(self, *, actor, form):
        raise NotImplementedError

    @staticmethod
    def reason(form) -> str:
        return form.cleaned_data.get("reason") or ADMIN_REASON

    @staticmethod
    def changes(form) -> dict:
        """Return {field: new value} of the model fields the user changed."""
        model_fields = {f.name for f in form._meta.model._meta.concrete_fields}
        return {name: form.cleaned_data[name] for name in form.changed_data if name in model_fields}


class LargeTablePaginator(Paginator):
    """A paginator that does not count a whole million-row table to draw its page links.

    Unfiltered on PostgreSQL, it uses the planner's row estimate (pg_class.reltuples) once that is
    above ESTIMATE_ABOVE; filtered lists, small tables and other databases are counted exactly.
    """

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return row[0]
        return super().count


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The kernel's own models register here, where Django's admin looks for them.
from backoffice.core.jobs import admin as jobs_admin  # noqa: E402, F401

"""The four role groups of docs/api-guide.md. Superusers may do everything."""

from django.core.exceptions import PermissionDenied

FRONT_OFFICE = "front_office"
OPERATIONS = "operations"
COMPLIANCE = "compliance"
ACCOUNTING = "accounting"

ALL_ROLES = (FRONT_OFFICE, OPERATIONS, COMPLIANCE, ACCOUNTING)


def user_roles(user) -> set[str]:
    """Return the role names a user holds (cached on the user object for the request)."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_backoffice_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._backoffice_roles = cached
    return cached


def user_has_role(user, *roles: str) -> bool:
    """Return True if the user is a superuser or holds any of the roles."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(user_roles(user) & set(roles))


def require_role(request, allowed: tuple[str, ...]) -> None:
    """Refuse a dashboard page (403) unless the user holds one of the allowed roles."""
    if not user_has_role(request.user, *allowed):
        raise PermissionDenied("Your role does not allow this page.")

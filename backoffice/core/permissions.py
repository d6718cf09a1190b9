"""DRF permissions by role group (docs/api-guide.md: front_office, operations, compliance, accounting)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import roles


class IsSuperuser(BasePermission):
    """Default for any view that forgets to declare its roles: only superusers."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)


def HasRole(*allowed: str, read: tuple[str, ...] | None = None):
    """Build a permission class: `read` roles may use safe methods, `allowed` roles anything.

    With `read` omitted, the same roles govern reads and writes.
    """
    read_roles = tuple(read) if read is not None else allowed

    class _HasRole(BasePermission):
        message = "Your role does not allow this action."

        def has_permission(self, request, view):
            wanted = read_roles + allowed if request.method in SAFE_METHODS else allowed
            return roles.user_has_role(request.user, *wanted)

    _HasRole.__name__ = "HasRole_" + "_".join(allowed)
    return _HasRole

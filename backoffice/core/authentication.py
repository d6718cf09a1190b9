"""API token authentication in one query: the token, its user and the user's roles together.

DRF's TokenAuthentication reads the token and user in one query and the permission check reads
the roles in another, on every request. Here a single SELECT joins the token, the user and the
user's role groups (one row per role, or one row with no role); the roles are cached on the user
object for the request, exactly as roles.user_roles would have read them.
"""

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import roles
from .bulk import RowLoader


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; same answers as DRF's (401 "Invalid token." or "User inactive or deleted.")."""

    def authenticate_credentials(self, key):
        if "\x00" in key:  # no database can hold it, so no token has it
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        sql, token_loader, user_loader = _token_query()
        with connection.cursor() as cursor:
            cursor.execute(sql, [*roles.ALL_ROLES, key])
            rows = cursor.fetchall()
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = token_loader.load(rows[0])
        user = user_loader.load(rows[0], token_loader.width)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token.user = user
        user._backoffice_roles = {row[-1] for row in rows if row[-1] is not None}
        return user, token


@functools.cache
def _token_query() -> tuple[str, RowLoader, RowLoader]:
    """The SELECT of token, user and role names (one row per role held, at least one row), and the
    loaders that build the token and the user from its rows."""
    user_model = get_user_model()
    token_loader, user_loader = RowLoader(Token), RowLoader(user_model)
    group = user_model._meta.get_field("groups")
    through = group.remote_field.through._meta
    group_model = group.related_model._meta
    q = connection.ops.quote_name
    user_pk = f"u.{q(user_model._meta.pk.column)}"
    placeholders = ", ".join(["%s"] * len(roles.ALL_ROLES))
    # Identifiers from model meta, values as parameters.
    sql = (
        f"SELECT {token_loader.columns('t')}, {user_loader.columns('u')}, g.{q('name')} "  # noqa: S608
        f"FROM {q(Token._meta.db_table)} t "
        f"JOIN {q(user_model._meta.db_table)} u ON {user_pk} = t.{q(Token._meta.get_field('user').column)} "
        f"LEFT JOIN ({q(through.db_table)} ug JOIN {q(group_model.db_table)} g "
        f"ON g.{q(group_model.pk.column)} = ug.{q(group.m2m_reverse_name())} AND g.{q('name')} IN ({placeholders})) "
        f"ON ug.{q(group.m2m_column_name())} = {user_pk} "
        f"WHERE t.{q(Token._meta.get_field('key').column)} = %s")
    return sql, token_loader, user_loader

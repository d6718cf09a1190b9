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


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; same answers as DRF's (401 "Invalid token." or "User inactive or deleted.")."""

    def authenticate_credentials(self, key):
        sql, token_fields, user_fields, converters = _token_query(connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*roles.ALL_ROLES, key])
            rows = cursor.fetchall()
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        values = list(rows[0][:-1])
        for position, col, converter in converters:
            values[position] = converter(values[position], col, connection)
        user_model = get_user_model()
        token = Token.from_db(connection.alias, [f.attname for f in token_fields], values[:len(token_fields)])
        user = user_model.from_db(connection.alias, [f.attname for f in user_fields], values[len(token_fields):])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token.user = user
        user._backoffice_roles = {row[-1] for row in rows if row[-1] is not None}
        return user, token


@functools.cache
def _token_query(vendor: str) -> tuple[str, list, list, list]:
    """The SELECT of token, user and role names (one row per role held, at least one row), its fields
    and the value converters the ORM would apply to them (SQLite's datetimes, for one)."""
    user_model = get_user_model()
    user_fields = list(user_model._meta.concrete_fields)
    token_fields = list(Token._meta.concrete_fields)
    group = user_model._meta.get_field("groups")
    through = group.remote_field.through._meta
    group_model = group.related_model._meta
    q = connection.ops.quote_name
    user_pk = f"u.{q(user_model._meta.pk.column)}"
    placeholders = ", ".join(["%s"] * len(roles.ALL_ROLES))
    # Identifiers from model meta, values as parameters.
    sql = (
        f"SELECT {', '.join(f't.{q(f.column)}' for f in token_fields)}, "  # noqa: S608
        f"{', '.join(f'u.{q(f.column)}' for f in user_fields)}, g.{q('name')} "
        f"FROM {q(Token._meta.db_table)} t "
        f"JOIN {q(user_model._meta.db_table)} u ON {user_pk} = t.{q(Token._meta.get_field('user').column)} "
        f"LEFT JOIN ({q(through.db_table)} ug JOIN {q(group_model.db_table)} g "
        f"ON g.{q(group_model.pk.column)} = ug.{q(group.m2m_reverse_name())} AND g.{q('name')} IN ({placeholders})) "
        f"ON ug.{q(group.m2m_column_name())} = {user_pk} "
        f"WHERE t.{q(Token._meta.get_field('key').column)} = %s")
    converters = []
    for position, f in enumerate(token_fields + user_fields):
        col = f.get_col(f.model._meta.db_table)
        for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((position, col, converter))
    return sql, token_fields, user_fields, converters

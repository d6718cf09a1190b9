"""OpenAPI schema: document the error responses every endpoint can give (docs/api-guide.md, Errors)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

_FIELD_ERRORS = {
    "description": "Field-level messages: {field: [message, ...]}; a list of such objects, one per item, "
                   "when a list was posted.",
    "oneOf": [{"type": "object", "additionalProperties": {}}, {"type": "array", "items": {"type": "object"}}],
}
_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _response(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_BOOLEAN_SPELLINGS = sorted(
    (value for value in serializers.BooleanField.TRUE_VALUES | serializers.BooleanField.FALSE_VALUES
     if not isinstance(value, bool)), key=repr,
)

_META = ("nullable", "default", "description", "title", "readOnly", "writeOnly", "deprecated")


def _or(schema, alternative):
    """`schema` or `alternative`, the field's metadata (nullable, default, ...) kept on the outside."""
    inner = {key: value for key, value in schema.items() if key not in _META}
    outer = {key: value for key, value in schema.items() if key in _META}
    if outer.get("nullable"):
        alternative = {**alternative, "nullable": True}
    return {"oneOf": [inner, alternative], **outer}


_PAGE_PARAMETERS = {
    "page": {"type": "integer", "minimum": 1},
    # Larger sizes are served 1000 at a time (API.md, Conventions).
    "page_size": {"type": "integer", "minimum": 1},
}


class AutoSchema(SpectacularAutoSchema):
    """Add 400, 401, 403, 404, 409, 413 and 429 to every operation that does not state its own.

    Also bounds `page` and `page_size` as the paginator reads them (positive integers).
    """

    def _get_pagination_parameters(self):
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query" and parameter.get("name") in _PAGE_PARAMETERS:
                parameter["schema"] = dict(_PAGE_PARAMETERS[parameter["name"]])
        return parameters

    def _process_override_parameters(self, direction="request"):
        # A query parameter read through a serializer (`parameters=[SomeQuery]`): DRF reads an
        # empty optional value (`?as_of=`) as absent, so the schema allows it too.
        result = super()._process_override_parameters(direction)
        for (_name, location), parameter in result.items():
            if parameter is None or location != "query" or parameter.get("required"):
                continue
            schema = parameter.get("schema", {})
            if "oneOf" in schema and schema["oneOf"][1:] == [{"type": "number"}]:
                schema = schema["oneOf"][0]
            if schema.get("type") != "string":
                continue
            schema = {key: value for key, value in schema.items() if key != "minLength"}
            if "format" in schema or "enum" in schema:
                schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
            parameter["schema"] = schema
        return result

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        # A decimal input is a string or an exact JSON number (API.md, Conventions: "100", 100, 50.25).
        if schema.get("format") == "decimal":
            return _or(schema, {"type": "number"})
        # DRF's BooleanField also takes its spellings of true and false ("yes", "0", 1, ...).
        if isinstance(field, serializers.BooleanField) and schema.get("type") == "boolean":
            return _or(schema, {"enum": _BOOLEAN_SPELLINGS})
        # DRF's plain CharField takes a number as its text (0 becomes "0"); say so, so that the
        # schema and the API agree. The kernel's StrictCharField takes strings only.
        if type(field) is serializers.CharField and schema.get("type") == "string" and "enum" not in schema:
            return _or(schema, {"type": "number"})
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        responses.setdefault("401", _response("Authentication credentials were not provided or are invalid.",
                                              _DETAIL))
        responses.setdefault("403", _response("The user's role does not allow this action.", _DETAIL))
        responses.setdefault("429", _response("Too many requests for this token; retry later.", _DETAIL))
        # Any operation can meet a bad body or query parameter.
        responses.setdefault("400", _response("Invalid input.", _FIELD_ERRORS))
        if "{" in self.path or self._is_list_view():
            responses.setdefault("404", _response("Not found (or a page past the last one).", _DETAIL))
        if self.method in ("POST", "PUT", "PATCH"):
            responses.setdefault(
                "409", _response("Conflicts with the current state or with an earlier request.", _DETAIL)
            )
            responses.setdefault(
                "413", _response("The body is larger than the limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 16 MB).",
                                 _DETAIL)
            )
        return responses

"""OpenAPI schema: document the error responses every endpoint can give (docs/api-guide.md, Errors)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

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


class AutoSchema(SpectacularAutoSchema):
    """Add 400, 401, 403, 404, 409 and 429 to every operation that does not state its own."""

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
        return responses

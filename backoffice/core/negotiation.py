"""Content negotiation that never answers 404 for a `?format=` it does not know."""

from rest_framework.negotiation import DefaultContentNegotiation


class LenientContentNegotiation(DefaultContentNegotiation):
    """Ignore an unknown `?format=` (DRF's default answers 404): the Accept header decides instead.

    The format parameter is a convenience of the browsable API; a client that sends
    `?format=xml` gets JSON, not an undocumented 404.
    """

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        return matching or renderers

from django.conf import settings

from .navigation import navigation_for

DEFAULT_PRODUCT_NAME = "Back Office"


def navigation(request):
    """Give every page the product name and, for a signed-in user, the navigation."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "product_name": getattr(settings, "BACKOFFICE_PRODUCT_NAME", DEFAULT_PRODUCT_NAME),
        "nav_sections": navigation_for(user=user, path=request.path) if signed_in else [],
    }

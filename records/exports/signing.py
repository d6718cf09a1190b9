"""HMAC-SHA256 signatures of records-keeping evidence: purge tombstones and export manifests.

The key is settings.RECORDS_SIGNING_KEY (falling back to SECRET_KEY). It is read on every call,
never at import, so a deployment can rotate it; evidence signed under an old key then fails
verification, which is what an auditor should see.
"""

import hashlib
import hmac

from django.conf import settings

from backoffice.core.canonical import canonical_json_bytes


def signing_key() -> bytes:
    """Return the key that signs tombstones and manifests."""
    return str(getattr(settings, "RECORDS_SIGNING_KEY", settings.SECRET_KEY)).encode()


def sign(content) -> str:
    """Return the hex HMAC-SHA256 of content's canonical JSON (backoffice.core.canonical)."""
    return hmac.new(signing_key(), canonical_json_bytes(content), hashlib.sha256).hexdigest()


def signature_valid(content, signature: str) -> bool:
    """Return True if signature is content's HMAC under the current key (constant-time compare)."""
    return hmac.compare_digest(sign(content), signature or "")

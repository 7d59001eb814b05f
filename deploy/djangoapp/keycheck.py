"""The secret-key rule, in one place (see docs/ARCHITECTURE.md).

Pure Python on purpose: no Django import, so the production settings and the deploy preflight
can both use it.
"""

from __future__ import annotations

MIN_LENGTH = 50
MIN_DISTINCT = 5

# The placeholder key in `.envs/.production.example`.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string-of-at-least-50-characters-0000"  # noqa: S105 (public placeholder)
# The key printed in the article this project grew from (public, so never a real secret).
ARTICLE_SECRET_KEY = "2pe8eih8oah2_2z1=7f84bzme7^bwuto7y&f(#@rgd9ux9mp-3"  # noqa: S105 (public, printed in the article)

KNOWN_PUBLIC_KEYS = {
    EXAMPLE_SECRET_KEY: "the placeholder from .envs/.production.example",
    ARTICLE_SECRET_KEY: "the key printed in the tutorial article",
}

FIX_HINT = (
    "generate one with `inv production.env --domain example.com` or "
    "`python -c 'from django.core.management.utils import get_random_secret_key as g; print(g())'`"
)


def weak_secret_key_reason(key: str | None) -> str | None:
    """Return why ``key`` is too weak for production, or None when it is acceptable."""
    if key is None or not key.strip():
        return "missing or empty"
    if key in KNOWN_PUBLIC_KEYS:
        return f"public: it is {KNOWN_PUBLIC_KEYS[key]}"
    if key.startswith("django-insecure-"):
        return "it has the 'django-insecure-' prefix of a development key"
    if len(key) < MIN_LENGTH:
        return f"fewer than {MIN_LENGTH} characters ({len(key)})"
    if len(set(key)) < MIN_DISTINCT:
        return f"fewer than {MIN_DISTINCT} distinct characters"
    return None


def secret_key_problem(key: str | None, name: str = "DJANGO_SECRET_KEY") -> str | None:
    """A one-line message naming the problem and the fix, or None when the key is fine."""
    reason = weak_secret_key_reason(key)
    if reason is None:
        return None
    if reason == "missing or empty":
        return f"{name} is missing or empty: {FIX_HINT}"
    return f"{name} is weak ({reason}): {FIX_HINT}"

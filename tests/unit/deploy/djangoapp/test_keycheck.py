"""The secret-key rule (deploy/djangoapp/keycheck.py): the production settings and the deploy preflight share it."""

import pytest

from deploy.djangoapp.keycheck import ARTICLE_SECRET_KEY, EXAMPLE_SECRET_KEY, secret_key_problem, weak_secret_key_reason
from tests.harness.settings_env import STRONG_KEY, run_python


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("short-key", "fewer than 50 characters"),
        ("a" * 49, "fewer than 50 characters"),
        ("abab" * 20, "fewer than 5 distinct characters"),
        ("django-insecure-" + "x1y2z3w4v5" * 6, "django-insecure-"),
        (EXAMPLE_SECRET_KEY, ".envs/.production.example"),
        (ARTICLE_SECRET_KEY, "article"),
    ],
)
def test_weak_keys_are_named(key, reason):
    assert reason in weak_secret_key_reason(key)


def test_strong_key_passes():
    assert weak_secret_key_reason(STRONG_KEY) is None
    assert secret_key_problem(STRONG_KEY) is None


def test_known_public_keys():
    assert ARTICLE_SECRET_KEY == "2pe8eih8oah2_2z1=7f84bzme7^bwuto7y&f(#@rgd9ux9mp-3"
    assert EXAMPLE_SECRET_KEY == "change-me-to-a-long-random-string-of-at-least-50-characters-0000"
    # The example file's key is long and varied: only the explicit rule catches it.
    assert len(EXAMPLE_SECRET_KEY) >= 50


def test_keycheck_is_pure_python():
    """The deploy engine imports it on the laptop: no Django, no settings, nothing of the engine."""
    code = ("import sys, deploy.djangoapp.keycheck; "
            "print(sorted(m for m in sys.modules if m.startswith(('django', 'deploy'))))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['deploy', 'deploy.djangoapp', 'deploy.djangoapp.keycheck']"

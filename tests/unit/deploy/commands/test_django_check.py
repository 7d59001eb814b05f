"""deploy/commands/django_check.py: the exact command, and what a `check --deploy` report says."""

import pytest

from deploy.commands import compose, django_check
from deploy.commands.django_check import Issue
from tests.harness.mockremote import names

# Django 5.2's own words (the first sentence of each message kept, as the report shows it)
WARNINGS = """System check identified some issues:

WARNINGS:
?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site is served only \
over SSL, you may want to consider setting a value.
?: (security.W016) You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have not set \
CSRF_COOKIE_SECURE to True. Using a secure-only CSRF cookie makes it more difficult.

System check identified 2 issues (0 silenced).
"""
ERRORS = """SystemCheckError: System check identified some issues:

ERRORS:
<class 'shop.models.Order'>: (models.E015) 'ordering' refers to the nonexistent field, related field, or lookup 'x'.
shop.Order.total: (fields.E130) DecimalFields must define a 'decimal_places' attribute.
	HINT: Add decimal_places (an integer) to the field.

WARNINGS:
?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting.

INFOS:
?: (shop.I001) Just so you know: (really) nothing.

System check identified 4 issues (0 silenced).
Operations to perform: (later output, not the report's)
?: (other.E001) never read
"""


def test_the_checks_run_before_migrate_in_one_one_off_container_of_the_release():
    assert compose.one_off(names(), django_check.then_migrate()) == (
        "run --rm --no-deps -T mysite sh -c 'python manage.py check --deploy --no-color 2>&1 && echo "
        "check-deploy:done && exec python manage.py migrate --noinput'")


def test_the_check_with_a_given_python():
    assert django_check.check_deploy("/venv/my python") == "'/venv/my python' manage.py check --deploy --no-color"


def test_warnings_are_read_with_their_first_sentence():
    assert django_check.issues(WARNINGS) == [
        Issue("security.W004", "WARNINGS", "You have not set a value for the SECURE_HSTS_SECONDS setting."),
        Issue("security.W016", "WARNINGS", "You have 'django.middleware.csrf.CsrfViewMiddleware' in your "
              "MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE to True."),
    ]


def test_each_section_gives_its_level_and_the_report_ends_at_its_count():
    found = django_check.issues(ERRORS)
    assert [(issue.id, issue.level, issue.serious) for issue in found] == [
        ("models.E015", "ERRORS", True), ("fields.E130", "ERRORS", True), ("security.W004", "WARNINGS", False),
        ("shop.I001", "INFOS", False)]


@pytest.mark.parametrize("report, line", [
    (WARNINGS, "2 warnings (security.W004, security.W016)"),
    (ERRORS, "2 errors (models.E015, fields.E130), 1 warning (security.W004)"),
    ("System check identified no issues (0 silenced).\n", "no issues"),
    ("", "no issues"),
])
def test_the_summary_is_one_line(report, line):
    assert django_check.summary(django_check.issues(report)) == line


def test_an_issue_line_outside_a_section_is_not_read():
    assert django_check.issues("?: (security.W004) printed by the settings themselves\n") == []


def test_a_run_past_the_checks_gives_the_steps_line_and_one_stopped_by_them_none():
    assert django_check.passed(f"{WARNINGS}{django_check.CHECKED}\nOperations to perform:\n") == (
        "    check --deploy: 2 warnings (security.W004, security.W016)")
    assert django_check.passed(f"{django_check.CHECKED}\nNo migrations to apply.\n") == "    check --deploy: no issues"
    assert django_check.passed(ERRORS) is None

"""One real-browser test: Debian's Chromium, headless, driven by Playwright.

Opens the index, opens a post, submits a comment through the form and sees it, then saves
docs/screenshots/post.png (shown in the README). Needs Debian's chromium (installed here when run as root).
"""

import io
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from blog.models import Comment, Post

CHROMIUM = os.environ.get("MYSITE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "post.png"
FIXED_NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
COMMENT = "Tried it on my server.\nWorks <b>great</b> & fast!"


def install_chromium_as_root() -> None:
    """As root (CI, a fresh machine), install Debian's browser the way the e2e harness installs Docker."""
    if os.geteuid() != 0 or "MYSITE_CHROMIUM" in os.environ:
        return
    print("Chromium is missing: installing Debian's chromium with apt-get (about a minute)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)


def chromium_path():
    if not Path(CHROMIUM).is_file():
        install_chromium_as_root()
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's browser with `apt-get install -y chromium` "
            "(or point MYSITE_CHROMIUM at a Chromium binary). `playwright install` is not needed.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture
def seeded(transactional_db):
    call_command("seed_demo", "--posts", "12", stdout=io.StringIO())
    # Fixed dates, so the committed screenshot only changes when the page really changes.
    for i, post in enumerate(Post.objects.order_by("-created_time", "-pk")):
        Post.objects.filter(pk=post.pk).update(created_time=FIXED_NOW - timedelta(days=9 * i, hours=i))
        Comment.objects.filter(post=post).update(created_time=FIXED_NOW - timedelta(days=9 * i, hours=i - 1))
    # The post the test reads: the newest one, which has headings (TOC) and highlighted code.
    return Post.objects.order_by("-created_time", "-pk").first()


@pytest.mark.browser
def test_read_a_post_and_comment(live_server, seeded, monkeypatch):
    chromium = chromium_path()  # fails (never skips) with the install command when it is missing
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the DB work below happens outside it,
    # but Django's async-safety guard can't tell, so allow it for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    post = seeded
    assert 'class="codehilite"' in post.body_html and post.toc_html
    comments_before = post.comments.count()

    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "request",
                lambda request: (
                    outside.append(request.url) if not request.url.startswith((live_server.url, "data:")) else None
                ),
            )

            # The index: newest post first, sidebar present, theme CSS applied.
            page.goto(live_server.url + "/")
            expect(page.locator(".entry-title").first).to_have_text(post.title)
            expect(page.locator(".widget-categories")).to_be_visible()
            assert page.evaluate("getComputedStyle(document.querySelector('.brand-mark')).backgroundColor") == (
                "rgb(12, 124, 89)"
            )

            # Open the post from the index.
            page.locator(".entry-title a").first.click()
            page.wait_for_url(f"**/posts/{post.pk}/")
            expect(page.locator("h1.post-title")).to_have_text(post.title)
            expect(page.locator("nav.post-toc")).to_be_visible()
            # Pygments CSS is served locally and styles the highlighted keywords.
            keyword_color = page.evaluate("getComputedStyle(document.querySelector('.codehilite .kn')).color")
            assert keyword_color not in ("rgb(0, 0, 0)", "rgb(31, 41, 51)"), keyword_color
            # A TOC anchor scrolls to its heading.
            first_anchor = page.locator("nav.post-toc a").first
            target = first_anchor.get_attribute("href")
            first_anchor.click()
            page.wait_for_url(f"**/posts/{post.pk}/{target}")
            expect(page.locator(target)).to_be_in_viewport()

            # Submit a comment through the form.
            page.fill("#id_name", "Playwright")
            page.fill("#id_email", "pw@example.com")
            page.fill("#id_url", "https://playwright.dev")
            page.fill("#id_text", COMMENT)
            page.click("#comment-form button[type=submit]")
            page.wait_for_url(f"**/posts/{post.pk}/#comment-*")

            expect(page.locator(".message-success")).to_have_text("Thanks, your comment is published.")
            new_comment = page.locator(".comment").last
            expect(new_comment.locator(".comment-author")).to_have_text("Playwright")
            # Plain text: the <b> is shown as typed, and the line break is kept.
            expect(new_comment.locator(".comment-text")).to_have_text(
                "Tried it on my server.Works <b>great</b> & fast!"
            )
            assert new_comment.locator(".comment-text br").count() == 1
            assert new_comment.locator(".comment-text b").count() == 0

            # An invalid comment shows the errors on the post page.
            page.fill("#id_name", "")
            page.fill("#id_email", "nope")
            page.fill("#id_text", "x")
            page.click("#comment-form button[type=submit]")
            expect(page.locator(".field-email .errorlist")).to_contain_text("Enter a valid email address.")

            # Screenshot of the post with its comment, for the README.
            Comment.objects.filter(name="Playwright").update(created_time=FIXED_NOW + timedelta(hours=2))
            page.goto(live_server.url + f"/posts/{post.pk}/")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert outside == [], f"the page loaded something from outside the site: {outside}"
    assert post.comments.count() == comments_before + 1
    stored = Comment.objects.get(name="Playwright")
    assert stored.text == COMMENT.replace("\n", "\r\n") or stored.text == COMMENT
    assert SCREENSHOT.stat().st_size > 10_000

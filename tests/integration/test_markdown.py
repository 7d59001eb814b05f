"""Post Markdown: highlighting, TOC anchors, excerpt, caching, and sanitising hostile input."""

import re
from unittest import mock

import pytest

from blog.markdown_render import render_markdown

pytestmark = pytest.mark.django_db

HOSTILE = """\
# Title

<script>alert("x")</script>

<img src="x" onerror="alert(1)">

[click me](javascript:alert(1))

[also](JAVASCRIPT:alert(1))

<a href="javascript:alert(2)" onclick="alert(3)">raw link</a>

<iframe src="https://evil.example.com"></iframe>

<style>body { display: none }</style>

<div onmouseover="alert(4)" style="position:fixed">hover</div>

<svg onload="alert(5)"><circle r="4"/></svg>

<form action="https://evil.example.com"><input name="password"></form>

![pic](javascript:alert(6))

<object data="x.swf"></object><embed src="x.swf">
"""


def test_hostile_markdown_is_sanitised(make_post):
    html = make_post(body=HOSTILE).body_html
    lowered = html.lower()
    for needle in ("<script", "alert(\"x\")", "onerror", "onclick", "onmouseover", "onload", "javascript:",
                   "<iframe", "<style", "display: none", "<svg", "<form", "<input", "<object", "<embed",
                   "style="):  # fmt: skip
        assert needle not in lowered, needle
    # Harmless content survives.
    assert '<h1 id="title">Title</h1>' in html
    assert "click me" in html
    assert "raw link" in html
    assert "hover" in html


def test_hostile_post_page_has_no_script(client, make_post):
    post = make_post(body=HOSTILE)
    html = client.get(f"/posts/{post.pk}/").content.decode().lower()
    body = html.split('class="post-body">')[1].split('<nav class="post-nav"')[0]
    assert "<script" not in body
    assert "javascript:" not in body
    assert "onerror" not in body


def test_good_markdown_keeps_its_structure():
    source = """\
## Links

[site](https://example.com) [mail](mailto:a@example.com) [rel](/posts/1/) [anchor](#links)

![alt text](https://example.com/a.png "a title")

| a | b |
|---|---|
| 1 | 2 |

> quoted

- one
- two

Then:

1. first

---

Inline `code` and ~~nothing~~.
"""
    html = render_markdown(source).body_html
    assert '<a href="https://example.com" rel="noopener noreferrer">site</a>' in html
    assert 'href="mailto:a@example.com"' in html
    assert 'href="/posts/1/"' in html
    assert 'href="#links"' in html
    img = re.search(r"<img [^>]*>", html).group(0)
    assert 'src="https://example.com/a.png"' in img and 'alt="alt text"' in img and 'title="a title"' in img
    assert "<table>" in html and "<th>a</th>" in html and "<td>2</td>" in html
    assert "<blockquote>" in html
    assert "<ul>" in html and "<ol>" in html
    assert "<hr>" in html
    assert "<code>code</code>" in html


def test_code_is_highlighted_with_pygments():
    html = render_markdown('```python\ndef f():\n    return "hi"\n```\n').body_html
    assert '<div class="codehilite">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html


def test_toc_anchors_match_heading_ids():
    rendered = render_markdown("# Getting started\n\n## Install it\n\ntext\n\n## Install it\n\n### Café au lait\n")
    ids = re.findall(r'<h\d id="([^"]+)"', rendered.body_html)
    links = re.findall(r'href="#([^"]+)"', rendered.toc_html)
    assert ids == ["getting-started", "install-it", "install-it_1", "café-au-lait"]
    assert links == ids


def test_no_toc_without_headings():
    assert render_markdown("just a paragraph").toc_html == ""


def test_toc_is_shown_on_the_post_page(client, make_post):
    post = make_post(body="## Part one\n\nx\n\n## Part two\n\ny")
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert 'class="post-toc"' in html
    assert 'href="#part-one"' in html and 'id="part-one"' in html


def test_excerpt_is_generated_when_empty(make_post):
    post = make_post(
        body="# Heading\n\nThe **first** paragraph is long enough to be cut somewhere in the middle of it."
    )
    assert post.excerpt.startswith("Heading The first paragraph")
    assert post.excerpt.endswith("…")
    assert len(post.excerpt) <= 54
    assert "*" not in post.excerpt


def test_explicit_excerpt_is_kept(make_post):
    assert make_post(body="long text", excerpt="My summary").excerpt == "My summary"


def test_rendered_html_is_refreshed_on_save(make_post):
    post = make_post(body="old **text**")
    post.body = "new _text_"
    post.save()
    post.refresh_from_db()
    assert "<em>text</em>" in post.body_html
    assert "old" not in post.body_html


def test_update_fields_body_also_saves_rendered_html(make_post):
    post = make_post(body="old")
    post.body = "## brand new"
    post.save(update_fields=["body"])
    post.refresh_from_db()
    assert 'id="brand-new"' in post.body_html
    assert 'href="#brand-new"' in post.toc_html


def test_page_view_does_not_render_markdown(client, make_post):
    post = make_post(body="## cached\n\n```python\nx = 1\n```")
    with mock.patch("blog.models.render_markdown", side_effect=AssertionError("rendered on view")) as render:
        response = client.get(f"/posts/{post.pk}/")
    assert response.status_code == 200
    assert render.call_count == 0
    assert 'id="cached"' in response.content.decode()

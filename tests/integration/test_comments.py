"""The comment flow: POST only, validation, escaping of hostile input, CSRF."""

import pytest
from django.test import Client

from blog.models import Comment

pytestmark = pytest.mark.django_db

VALID = {"name": "Bob", "email": "bob@example.com", "url": "https://bob.example.com", "text": "Nice post"}


def test_valid_comment_is_stored_and_redirects_with_message(client, post):
    response = client.post(f"/comment/{post.pk}", VALID)
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/posts/{post.pk}/#comment-{comment.pk}"
    assert (comment.post, comment.name, comment.email, comment.url, comment.text) == (
        post,
        "Bob",
        "bob@example.com",
        "https://bob.example.com",
        "Nice post",
    )
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Thanks, your comment is published." in html
    assert "Nice post" in html
    assert "1 comment" in html


def test_url_is_optional(client, post):
    response = client.post(f"/comment/{post.pk}", {**VALID, "url": ""})
    assert response.status_code == 302
    assert Comment.objects.get().url == ""


def test_get_is_not_allowed(client, post):
    assert client.get(f"/comment/{post.pk}").status_code == 405
    assert Comment.objects.count() == 0


def test_trailing_slash_url_is_not_the_comment_route(client, post):
    # The tutorial's URL has no trailing slash; a slash variant must not silently accept comments.
    assert client.post(f"/comment/{post.pk}/", VALID).status_code == 404
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "", "This field is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("text", "", "This field is required."),
        ("url", "javascript:alert(1)", "Enter a valid URL."),
        ("url", "ftp://example.com/file", "Only http:// and https:// links are allowed."),
    ],
)
def test_invalid_comment_shows_the_post_with_errors(client, post, field, value, error):
    response = client.post(f"/comment/{post.pk}", {**VALID, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert post.title in html  # the post page, not a bare error
    assert error in html
    assert "Your comment was not published" in html
    # The visitor's other input is kept in the form.
    if field != "name":
        assert 'value="Bob"' in html
    assert Comment.objects.count() == 0


def test_invalid_comment_does_not_count_a_view(client, post):
    client.post(f"/comment/{post.pk}", {**VALID, "email": "x"})
    post.refresh_from_db()
    assert post.views == 0


XSS_TEXTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("payload", XSS_TEXTS)
def test_comment_text_is_always_escaped(client, post, payload):
    client.post(f"/comment/{post.pk}", {**VALID, "text": f"line one\n{payload}\nline three"})
    assert Comment.objects.get().text.endswith("line three")  # stored as typed
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert payload not in html
    comment_html = html.split('class="comment-text">')[1].split("</div>")[0]
    assert "<" not in comment_html.replace("<br>", "")
    assert "&lt;" in comment_html
    assert comment_html.count("<br>") == 2  # line breaks are kept


def test_comment_name_is_escaped(client, post):
    client.post(f"/comment/{post.pk}", {**VALID, "name": "<b onmouseover=alert(1)>x</b>"})
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt;" in html


def test_javascript_url_never_reaches_the_page(client, post):
    for url in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>"):
        response = client.post(f"/comment/{post.pk}", {**VALID, "url": url})
        assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_csrf_is_enforced(post):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(f"/comment/{post.pk}", VALID)
    assert response.status_code == 403
    assert Comment.objects.count() == 0


def test_csrf_token_from_the_form_is_accepted(post):
    csrf_client = Client(enforce_csrf_checks=True)
    page = csrf_client.get(f"/posts/{post.pk}/")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = csrf_client.post(f"/comment/{post.pk}", {**VALID, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Comment.objects.count() == 1


def test_comments_are_listed_oldest_first(client, post):
    for text in ("first", "second", "third"):
        client.post(f"/comment/{post.pk}", {**VALID, "text": text})
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert html.index("first") < html.index("second") < html.index("third")
    assert "3 comments" in html

import functools
import hashlib

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import ListView

from . import sidebar, viewcount
from .forms import CommentForm
from .models import Category, Comment, Post, Tag


def post_list_queryset():
    """What every post list shows, in one query per page (category, author and comment count joined).

    The comment count is a correlated subquery, evaluated only for the rows of the page: a
    GROUP BY over the join counted the comments of every post to show ten (2.6 ms of the index).
    Built once per process (resolving the subquery cost ~0.3 ms a request); each caller gets a clone.
    """
    return _post_list_base().all()


@functools.cache
def _post_list_base():
    comment_count = (
        Comment.objects.filter(post=OuterRef("pk")).order_by().values("post").annotate(n=Count("pk")).values("n")
    )
    return (
        Post.objects.select_related("category", "author")
        .annotate(comment_count=Coalesce(Subquery(comment_count), 0))
        .order_by("-created_time", "-pk")
    )


_LIVE = "\x00live\x00"  # where an entry's views and comment counts go; escaping leaves it alone


def _entry_key(post):
    """Keyed by everything the cached part of an entry shows, so a stored entry is never stale."""
    raw = "\x1f".join(
        (
            str(post.pk),
            post.title,
            post.excerpt,
            post.created_time.isoformat(),
            str(post.category_id),
            post.category.name,
            post.author.get_username(),
            get_script_prefix(),
            timezone.get_current_timezone_name(),
        )
    )
    return f"blog:entry:{post.pk}:{hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()}"


def post_entries(request, posts):
    """The list entries of a page: their fixed HTML from the cache in the sidebar's query (blog/sidebar.py).

    Views and comment counts are not cached: each page shows this request's numbers from the database (the
    views plus what this process has not written yet: blog/viewcount.py).
    """
    keys = {post.pk: _entry_key(post) for post in posts}
    found = sidebar.lookup(request, keys.values())
    entries, missing = [], {}
    for post in posts:
        parts = found.get(keys[post.pk])
        if parts is None:
            url = post.get_absolute_url()
            context = {"post": post, "url": url, "live": _LIVE}
            html = render_to_string("blog/inclusions/_post_entry_static.html", context)
            head, tail = html.split(_LIVE)
            parts = missing[keys[post.pk]] = (url, head, tail)
        url, head, tail = parts
        views = viewcount.shown_views(post)
        live = format_html(
            '<span class="views">{} view{}</span>\n    <a class="comment-count" href="{}#comments">{} comment{}</a>',
            views,
            pluralize(views),
            url,
            post.comment_count,
            pluralize(post.comment_count),
        )
        entries.append(mark_safe(head + live + tail))  # noqa: S308 - our template's output, escaped there
    found.store(plain=missing)
    return entries


class PostListView(ListView):
    template_name = "blog/index.html"
    context_object_name = "post_list"
    paginate_by = 10
    heading = ""
    empty_message = "No posts yet."

    def get_queryset(self):
        return post_list_queryset()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["heading"] = self.get_heading()
        context["empty_message"] = self.empty_message
        context["entries"] = post_entries(self.request, list(context["object_list"]))
        return context

    def get_heading(self):
        return self.heading


class IndexView(PostListView):
    pass


class CategoryView(PostListView):
    def get_queryset(self):
        self.category = get_object_or_404(Category, pk=self.kwargs["pk"])
        return post_list_queryset().filter(category=self.category)

    def get_heading(self):
        return f"Category: {self.category.name}"


class TagView(PostListView):
    def get_queryset(self):
        self.tag = get_object_or_404(Tag, pk=self.kwargs["pk"])
        return post_list_queryset().filter(tags=self.tag)

    def get_heading(self):
        return f"Tag: {self.tag.name}"


class ArchiveView(PostListView):
    empty_message = "Nothing was published this month. Try another month in the archives."

    def get_queryset(self):
        return post_list_queryset().filter(
            created_time__year=self.kwargs["year"], created_time__month=self.kwargs["month"]
        )

    def get(self, request, *args, **kwargs):
        if not 1 <= kwargs["month"] <= 12 or not 1 <= kwargs["year"] <= 9999:
            raise Http404("No such month.")
        return super().get(request, *args, **kwargs)

    def get_heading(self):
        return f"Archive: {self.kwargs['year']}-{self.kwargs['month']:02d}"


class SearchView(PostListView):
    template_name = "blog/search.html"

    def get_queryset(self):
        self.q = self.request.GET.get("q", "").strip()
        if not self.q:
            return Post.objects.none()
        return post_list_queryset().filter(Q(title__icontains=self.q) | Q(body__icontains=self.q))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["q"] = self.q
        context["empty_query"] = not self.q
        context["empty_message"] = f"No posts match “{self.q}”." if self.q else ""
        return context

    def get_heading(self):
        return f"Search: {self.q}" if self.q else "Search"


def _neighbours(post):
    """The older and the newer post, in the same order as the index (newest first, pk breaks ties)."""
    base = Post.objects.only("pk", "title")
    previous_post = (
        base.filter(Q(created_time__lt=post.created_time) | Q(created_time=post.created_time, pk__lt=post.pk))
        .order_by("-created_time", "-pk")
        .first()
    )
    next_post = (
        base.filter(Q(created_time__gt=post.created_time) | Q(created_time=post.created_time, pk__gt=post.pk))
        .order_by("created_time", "pk")
        .first()
    )
    return previous_post, next_post


def _get_post(pk):
    # Tags are read only when the article is rendered (post_article): a cached article needs none.
    return get_object_or_404(Post.objects.select_related("category", "author"), pk=pk)


def _article_key(post):
    """Keyed by what the article shows of the post itself (read before the generation: see post_article)."""
    raw = "\x1f".join(
        (
            str(post.pk),
            post.modified_time.isoformat(),
            post.title,
            post.created_time.isoformat(),
            str(post.category_id),
            post.category.name,
            post.author.get_username(),
            get_script_prefix(),
            timezone.get_current_timezone_name(),
            post.toc_html,
            post.body_html,
        )
    )
    return f"blog:article:{post.pk}:{hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()}"


def post_article(request, post):
    """The fixed part of a post page from the cache, read in the sidebar's query (blog/sidebar.py).

    It also shows the tags and the previous/next posts, which change with other rows: it is stored
    under the generation read before they are queried, and used only while that generation is current
    (any save/delete of a post, category or tag replaces it). Views and comment counts are not in it.
    """
    key = _article_key(post)
    found = sidebar.lookup(request, [key])
    parts = found.get_current(key)
    if parts is None:
        previous_post, next_post = _neighbours(post)
        context = {"post": post, "previous_post": previous_post, "next_post": next_post, "live": _LIVE}
        parts = tuple(render_to_string("blog/inclusions/_post_article.html", context).split(_LIVE))
        found.store(current={key: parts})
    head, tail = parts
    return {"head": mark_safe(head), "tail": mark_safe(tail)}  # noqa: S308 - our template's output, escaped there


@functools.cache
def _blank_form_fields():
    """The unbound comment form's fields: the same HTML for every request (the CSRF token is outside)."""
    return render_to_string("blog/inclusions/_comment_fields.html", {"form": CommentForm()})


def _render_detail(request, post, form, status=200):
    article = post_article(request, post)
    comments = list(post.comments.all())
    context = {
        "post": post,
        "form": form,
        "comment_list": comments,
        "comment_count": len(comments),
        "article": article,
        # DEBUG (runserver) renders it each time so template edits show
        "blank_form_fields": None if form.is_bound or settings.DEBUG else _blank_form_fields(),
    }
    return render(request, "blog/detail.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def detail(request, pk):
    post = _get_post(pk)
    viewcount.count_view(post)
    return _render_detail(request, post, CommentForm())


@require_POST
def comment(request, post_pk):
    post = _get_post(post_pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        new_comment = form.save(commit=False)
        new_comment.post = post
        new_comment.save()
        messages.success(request, "Thanks, your comment is published.")
        return redirect(f"{post.get_absolute_url()}#comment-{new_comment.pk}")
    messages.error(request, "Your comment was not published: please fix the errors below.")
    post.views = viewcount.shown_views(post)
    return _render_detail(request, post, form, status=400)

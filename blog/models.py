from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from deploy.djangoapp import readonly

from .markdown_render import make_excerpt, render_markdown

# Names in the same order on SQLite and PostgreSQL: ignoring case ("apple", "Banana", "cherry"), then
# by id. Ordered by the name alone, SQLite compares bytes ("Banana" before "apple") while PostgreSQL
# follows its database's collation (en_US: "apple" first). docs/DATABASES.md.
NAME_ORDER = [Lower("name"), "pk"]


class Category(models.Model):
    name = models.CharField("name", max_length=100, unique=True)

    class Meta:
        verbose_name = "category"
        verbose_name_plural = "categories"
        ordering = NAME_ORDER

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("blog:category", kwargs={"pk": self.pk})


class Tag(models.Model):
    name = models.CharField("name", max_length=100, unique=True)

    class Meta:
        verbose_name = "tag"
        verbose_name_plural = "tags"
        ordering = NAME_ORDER

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("blog:tag", kwargs={"pk": self.pk})


class Post(models.Model):
    title = models.CharField("title", max_length=200)
    body = models.TextField("body (Markdown)")
    # Rendered once on save (Markdown + Pygments + TOC, sanitised by nh3); views never re-render.
    body_html = models.TextField("rendered body", blank=True, editable=False)
    toc_html = models.TextField("table of contents", blank=True, editable=False)
    created_time = models.DateTimeField("created", default=timezone.now, db_index=True)
    modified_time = models.DateTimeField("modified", auto_now=True)
    excerpt = models.CharField("excerpt", max_length=200, blank=True, help_text="Left empty: taken from the text.")
    category = models.ForeignKey(Category, verbose_name="category", on_delete=models.PROTECT, related_name="posts")
    tags = models.ManyToManyField(Tag, verbose_name="tags", blank=True, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="author", on_delete=models.PROTECT, related_name="posts"
    )
    views = models.PositiveIntegerField("views", default=0, editable=False)

    class Meta:
        verbose_name = "post"
        verbose_name_plural = "posts"
        ordering = ["-created_time", "-pk"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.render()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html", "toc_html", "excerpt"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("blog:detail", kwargs={"pk": self.pk})

    def render(self):
        rendered = render_markdown(self.body)
        self.body_html = rendered.body_html
        self.toc_html = rendered.toc_html
        if not self.excerpt:
            self.excerpt = make_excerpt(rendered.text)

    def increase_views(self):
        """Atomic: concurrent readers never lose a count (UPDATE ... SET views = views + 1).

        A view is written here only with VIEW_COUNT_FLUSH_SECONDS=0; else blog/viewcount.py writes views in batches.

        Not while the blog is read-only (a database move, deploy/djangoapp/readonly.py): that view goes uncounted.
        """
        if readonly.active():
            return
        type(self).objects.filter(pk=self.pk).update(views=F("views") + 1)
        self.views += 1


class Comment(models.Model):
    name = models.CharField("name", max_length=50)
    email = models.EmailField("email")
    url = models.URLField("website", blank=True)
    text = models.TextField("comment", max_length=5000)
    created_time = models.DateTimeField("created", default=timezone.now)
    post = models.ForeignKey(Post, verbose_name="post", on_delete=models.CASCADE, related_name="comments")

    class Meta:
        verbose_name = "comment"
        verbose_name_plural = "comments"
        ordering = ["created_time", "pk"]

    def __str__(self):
        return f"{self.name}: {self.text[:20]}"

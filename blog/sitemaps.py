from django.contrib.sitemaps import Sitemap
from django.db.models import Count, Max
from django.urls import reverse

from .models import Category, Post, Tag


class StaticSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["blog:index"]

    def location(self, item):
        return reverse(item)


class PostSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Post.objects.only("pk", "modified_time").order_by("-created_time", "-pk")

    def lastmod(self, obj):
        return obj.modified_time


class CategorySitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        return (
            Category.objects.annotate(num_posts=Count("posts"), last=Max("posts__modified_time"))
            .filter(num_posts__gt=0)
            .order_by("pk")
        )

    def lastmod(self, obj):
        return obj.last


class TagSitemap(CategorySitemap):
    def items(self):
        return (
            Tag.objects.annotate(num_posts=Count("posts"), last=Max("posts__modified_time"))
            .filter(num_posts__gt=0)
            .order_by("pk")
        )


sitemaps = {
    "static": StaticSitemap,
    "posts": PostSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}

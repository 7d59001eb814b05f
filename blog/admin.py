from django.contrib import admin
from django.db import models

from .models import Category, Comment, Post, Tag

# Django 6 makes https the default scheme for bare domains; use it now.
URL_FIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    formfield_overrides = URL_FIELD_OVERRIDES
    fields = ["name", "email", "url", "text", "created_time"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "created_time", "modified_time", "category", "author", "views"]
    list_filter = ["category", "tags", "author", "created_time"]
    list_select_related = ["category", "author"]
    search_fields = ["title", "body"]
    date_hierarchy = "created_time"
    fields = ["title", "body", "excerpt", "category", "tags", "created_time"]
    filter_horizontal = ["tags"]
    readonly_fields: list[str] = []
    inlines = [CommentInline]

    def save_model(self, request, obj, form, change):
        if not change or not obj.author_id:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = ["name", "email", "post", "created_time"]
    list_filter = ["created_time", "post__category"]
    list_select_related = ["post"]
    search_fields = ["name", "email", "text", "post__title"]
    date_hierarchy = "created_time"
    raw_id_fields = ["post"]

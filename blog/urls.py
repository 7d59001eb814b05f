from django.urls import path

from . import views

app_name = "blog"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("posts/<int:pk>/", views.detail, name="detail"),
    path("categories/<int:pk>/", views.CategoryView.as_view(), name="category"),
    path("tags/<int:pk>/", views.TagView.as_view(), name="tag"),
    path("archives/<int:year>/<int:month>/", views.ArchiveView.as_view(), name="archive"),
    path("search/", views.SearchView.as_view(), name="search"),
    # No trailing slash: the tutorial's URL, kept so old forms keep posting to the right place.
    path("comment/<int:post_pk>", views.comment, name="comment"),
]

from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from blog.feeds import AllPostsRssFeed
from blog.sitemaps import sitemaps
from mysite.floor import floor

urlpatterns = [
    path("", include("deploy.djangoapp.urls")),  # /healthz: the deploy toolkit's app
    path("floor", floor, name="floor"),  # the serving benchmark's reference (mysite/floor.py)
    path("admin/", admin.site.urls),
    path("all/rss/", AllPostsRssFeed(), name="rss"),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="django.contrib.sitemaps.views.sitemap"),
    path("", include("blog.urls")),
]

"""The toolkit's routes, for a project's root URLconf: ``path("", include("deploy.djangoapp.urls"))``.

``healthz`` (no trailing slash: the deploy and the image's health check ask exactly /healthz).
"""

from django.urls import path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
]

"""/healthz: what a deploy, the container's health check and nginx's checks ask before traffic moves."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods


@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """Cheap liveness + readiness: one real query, no session, no template. 200, or 503 with the reason."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        if not row or row[0] != 1:
            raise DatabaseError(f"unexpected answer {row!r}")
    except DatabaseError as exc:
        reason = f"database: {type(exc).__name__}: {exc}".splitlines()[0][:200]
        return JsonResponse({"status": "error", "reason": reason}, status=503)
    return JsonResponse({"status": "ok"})

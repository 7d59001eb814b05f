"""The toolkit's Django app: what must run inside the deployed site, shipped with the deploy engine.

A project installs it as any Django app (label ``deploy_tools``; docs/ARCHITECTURE.md):

    INSTALLED_APPS = [..., "deploy.djangoapp"]          # unsafe_migrations, db_copy, db_fingerprint
    MIDDLEWARE = ["...SecurityMiddleware", "deploy.djangoapp.readonly.ReadOnlyMiddleware", ...]
    SESSION_ENGINE = "deploy.djangoapp.sessions"        # sessions that write nothing while read-only
    READ_ONLY_FILE = BASE_DIR / "database" / ".read-only"
    urlpatterns = [path("", include("deploy.djangoapp.urls")), ...]   # /healthz
    env = secret_files.environment()                    # NAME_FILE read for NAME (Docker secrets)

Importing this package, ``keycheck`` or ``secret_files`` needs no Django settings: the deploy engine
uses the secret-key rule on the laptop. Nothing here imports the engine (the app image has only this
folder of ``deploy/``).
"""

"""Database sessions that write nothing while the site is read-only (deploy/djangoapp/readonly.py).

A GET may save a session (a message shown from the session, a new session's key) or delete one (a
logged-in user whose password hash no longer matches is flushed): during a database move those writes
would land in the database being copied and be lost. Read-only, save() and delete() do nothing; the
visitor's session is unchanged once writes are open again. Otherwise this is Django's db SessionStore.
"""

from django.contrib.sessions.backends import db

from . import readonly


class SessionStore(db.SessionStore):
    def save(self, must_create=False):
        if readonly.active():
            return
        super().save(must_create=must_create)

    def delete(self, session_key=None):
        if readonly.active():
            return
        super().delete(session_key=session_key)

"""applog.raised: the exception an app container's log ends with, found past gunicorn's own."""

from deploy import applog

# gunicorn 27's log when the WSGI module raises at import, two workers (paths shortened, one frame kept each)
CRASH = """\
[2026-12-07 15:22:14 +0000] [15751] [INFO] Booting worker with pid: 15751
[2026-12-07 15:22:14 +0000] [15751] [ERROR] Exception in worker process
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/gunicorn/arbiter.py", line 752, in spawn_worker
    worker.init_process()
  File "/app/crashapp.py", line 1, in <module>
    raise RuntimeError('e2e: this release crashes at boot')
RuntimeError: e2e: this release crashes at boot
e2e: this release crashes at boot
[2026-12-07 15:22:14 +0000] [15751] [INFO] Worker exiting (pid: 15751)
[2026-12-07 15:22:14 +0000] [15750] [ERROR] Worker (pid:15751) exited with code 3.
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/gunicorn/arbiter.py", line 683, in reap_workers
    raise HaltServer(reason, self.WORKER_BOOT_ERROR)
gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/venv/bin/gunicorn", line 6, in <module>
    sys.exit(run())
gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>
"""


def test_the_apps_exception_is_found_past_gunicorns_halt():
    assert applog.raised(CRASH) == "RuntimeError: e2e: this release crashes at boot"


def test_the_last_of_the_apps_tracebacks_wins():
    later = CRASH.replace("RuntimeError: e2e: this release crashes at boot",
                          "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is empty", 1)
    assert applog.raised(CRASH + later) == "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is empty"


def test_a_log_without_a_traceback_names_nothing():
    assert applog.raised("[INFO] Booting worker\nRuntimeError: not after a traceback\n") == ""
    assert applog.raised(CRASH.split("Traceback")[0] + "Traceback (most recent call last):\n  File \"x\"\n") == ""
    assert applog.raised("") == ""

"""deploy/commands/lock.py: the exact strings."""

from deploy.commands import lock


def test_lock_is_one_atomic_mkdir():
    assert lock.take_lock("/srv/a/.lock", "ann@laptop 2026-11-24") == (
        "mkdir /srv/a/.lock && printf '%s\\n' 'ann@laptop 2026-11-24' > /srv/a/.lock/holder")

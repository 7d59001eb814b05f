"""The test bed: what the e2e tests and `inv bench` need of this machine, without pytest.

`engine` (a Docker engine), `images` (stand-in base images), `servers` (fresh systemd servers over
SSH), `load` (the no-retry load client), `worktree` (copies of the code under test, free ports).
docs/TESTING.md has the facts about the machines they rely on.
"""

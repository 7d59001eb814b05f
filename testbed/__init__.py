"""The test bed: what the e2e tests and `inv bench` need of this machine, without pytest.

`engine` (a Docker engine), `images` (stand-in base images), `servers` (fresh systemd servers over
SSH), `load` (the no-retry load client), `worktree` (copies of the code under test, free ports), `adopt_projects` and
`project_kinds` (real Django projects of each kind, adopted by `mysite-deploy init`).
docs/TESTING.md has the facts about the machines they rely on.
"""

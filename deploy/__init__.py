"""The mysite deploy engine: pure command builders, a thin runner over Fabric, and the steps of a deploy.

`deploy/fab.py` (the Fabric tasks a project's two-line fabfile.py loads) and the repository's `tasks/`
only wire tasks to this package; see docs/ARCHITECTURE.md.
"""

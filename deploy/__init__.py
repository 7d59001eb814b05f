"""The mysite deploy engine: pure command builders, a thin runner over Fabric, and the steps of a deploy.

`fabfile.py` and `tasks/` only wire tasks to this package; see docs/ARCHITECTURE.md.
"""

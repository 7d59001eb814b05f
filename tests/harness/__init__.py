"""Test-only pieces of the e2e suites: pytest fixtures, a user's flows, Pebble. The rest is in testbed/."""

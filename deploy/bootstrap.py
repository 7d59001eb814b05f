"""Placeholder: being written (see docs/ARCHITECTURE.md). Replaced in the next commits."""

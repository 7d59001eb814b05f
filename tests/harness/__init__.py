"""Test harness: a Docker engine (engine.py), stand-in base images (images.py), test servers."""

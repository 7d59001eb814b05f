"""`fab init`: adopt an existing Django project. Detect what it is (layout, settings, Python, dependencies,
services), report it, refuse what cannot be deployed, and write the deploy files it lacks."""

"""End-to-end tests: real Docker engine, real compose stacks, real servers (marker `e2e`)."""

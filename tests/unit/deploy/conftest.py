"""A host key for the tests that check host keys, made once per module."""

import paramiko
import pytest

from tests.harness.keys import ed25519_key_file


@pytest.fixture(scope="module")
def server_key():
    return paramiko.Ed25519Key.from_private_key_file(ed25519_key_file())

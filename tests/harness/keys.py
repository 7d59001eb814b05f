"""An ed25519 key in a file, as ssh-keygen would write it."""

import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def ed25519_key_file() -> str:
    """The path of a new private key (OpenSSH format); the caller may delete it."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".key")
    handle.write(pem)
    handle.close()
    return handle.name

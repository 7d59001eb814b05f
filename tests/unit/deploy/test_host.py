"""deploy/host.py against real SSH servers on 127.0.0.1 (paramiko in threads, tests/unit/deploy/sshserver.py)."""

import pytest
from fabric import Connection

from deploy.errors import DeployError
from deploy.host import connect
from tests.unit.deploy.sshserver import SSHServer, new_key, new_key_file


@pytest.fixture
def identity(tmp_path):
    return {"key_filename": [new_key_file(tmp_path / "id_ed25519")], "look_for_keys": False, "allow_agent": False}


@pytest.fixture
def target():
    with SSHServer(reply=b"from the target\n") as server:
        yield server


@pytest.fixture
def known(tmp_path):
    return tmp_path / "known_hosts"


def refused(conn, known, **kwargs) -> str:
    with pytest.raises(DeployError) as info:
        connect(conn, known_hosts=str(known), **kwargs).open()
    message = str(info.value)
    assert "\n" not in message
    return message


# --- a changed key names the entry that really is in known_hosts ---------------------------------

def test_a_changed_key_on_another_port_names_that_port(target, identity, known):
    old = new_key()
    known.write_text(f"[127.0.0.1]:{target.port} ssh-ed25519 {old.get_base64()}\n")
    message = refused(Connection(f"deploy@127.0.0.1:{target.port}", connect_kwargs=dict(identity)), known)
    assert message.startswith(f"host key of 127.0.0.1:{target.port} has CHANGED")
    assert f"ssh-keygen -f {known} -R '[127.0.0.1]:{target.port}'" in message
    assert target.logins == []

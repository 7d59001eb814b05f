"""deploy/acme.py: certbot's order runs once; a refusal is its output's tail and one line, and nothing more runs."""

import pytest
from fabric.testing.base import Command, MockRemote

from deploy import acme
from deploy.errors import DeployError
from tests.harness.mockremote import remote, session

ORDER = "docker exec mysite_certbot certbot certonly -d blog.example"


def test_an_order_the_ca_grants_runs_once_and_says_nothing():
    with MockRemote() as mock:
        mock.expect_sessions(session(ORDER))
        acme.order(remote(), ORDER, ["blog.example"], "the site", "the names point at this server")


def test_a_refused_order_is_the_output_tail_and_one_line(capsys):
    with MockRemote() as mock:
        mock.expect_sessions(session(Command(ORDER, out=b"Requesting a certificate\nConnection refused\n", exit=1)))
        with pytest.raises(DeployError) as error:
            acme.order(remote(), ORDER, ["blog.example", "www.blog.example"], "the cluster",
                       "the names point at the nodes")
    assert str(error.value) == (
        "certbot could not get a certificate for blog.example, www.blog.example (output above): nothing was "
        "changed and the cluster keeps serving http; check that the names point at the nodes")
    out = capsys.readouterr().out
    assert "| Connection refused" in out and ORDER not in out

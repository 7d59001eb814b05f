"""Creating .envs/.production: the names it takes, and one line when its example is gone."""

import pytest

from deploy import envfile
from deploy.errors import DeployError


@pytest.mark.parametrize("domain", ["1000000000000000000000000000000", "blog.123", "a.b.c.4"])
def test_a_name_whose_last_label_is_all_digits_is_not_a_host(domain):
    with pytest.raises(DeployError, match="is not a host name"):
        envfile.check_domain(domain)


@pytest.mark.parametrize("domain", ["127.0.0.1", "example.com", "localhost", "blog9.example"])
def test_names_and_addresses_are_hosts(domain):
    assert envfile.check_domain(domain) == domain


def test_a_missing_example_is_one_line(tmp_path):
    with pytest.raises(DeployError) as info:
        envfile.create(tmp_path / ".production", tmp_path / ".production.example", "example.com")
    assert "cannot be read (No such file or directory): restore it from git" in str(info.value)
    assert not (tmp_path / ".production").exists()

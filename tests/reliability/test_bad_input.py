"""Bad input: every case ends in one clear line (the problem and the fix), a non-zero exit, no
traceback, and the server exactly as it was (files, containers, volumes, images, packages, lock).

All through the real `fab` CLI against the deployed server of this package (tests/reliability/conftest.py).
"""

from __future__ import annotations

import subprocess

import pytest

from deploy.djangoapp.keycheck import ARTICLE_SECRET_KEY
from testbed.worktree import free_ports
from tests.harness import flows
from tests.harness.flows import DOMAIN, KEY
from tests.reliability.checks import assert_unchanged, one_error, snapshot

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]
GOOD = f"DJANGO_SECRET_KEY={KEY}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\n"
STRONG = "k" + "Zq8#vL2!pX9@tR4^wY7&nB3*cF6(hM1)sG5_eA0+uKx7Yw" + "Q2w"


@pytest.fixture
def unchanged(deployed):
    """Snapshot the server before the case and compare after it."""
    before = snapshot(deployed)
    yield deployed
    assert_unchanged(before, snapshot(deployed))


ENV_CASES = {
    "missing": (None, [".envs/.production is missing", "inv production.env"]),
    "empty": ("", ["is empty", "fill it in"]),
    "only comments": ("# nothing here\n\n", ["is empty"]),
    "line without =": (GOOD + "JUST_A_WORD\n", ["line 3 is not KEY=value", "fix or remove it"]),
    "bad key": (GOOD + "1BAD-KEY=x\n", ["line 3 is not KEY=value"]),
    "unclosed quote": (GOOD + "NOTE='multi\nline'\n", ["never closes", "one line"]),
    "weak key": (f"DJANGO_SECRET_KEY=short\nDJANGO_ALLOWED_HOSTS={DOMAIN}\n",
                 ["DJANGO_SECRET_KEY is weak", "fewer than 50", "generate one"]),
    "django-insecure key": (f"DJANGO_SECRET_KEY=django-insecure-{STRONG}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\n",
                            ["django-insecure-", "generate one"]),
    "the article's key": (f"DJANGO_SECRET_KEY={ARTICLE_SECRET_KEY}\nDJANGO_ALLOWED_HOSTS={DOMAIN}\n",
                          ["printed in the tutorial article", "generate one"]),
    "no key": (f"DJANGO_ALLOWED_HOSTS={DOMAIN}\n", ["DJANGO_SECRET_KEY is missing", "generate one"]),
    "no DJANGO_ALLOWED_HOSTS": (f"DJANGO_SECRET_KEY={STRONG}\n",
                                ["DJANGO_ALLOWED_HOSTS is not set", "add your domain"]),
    "allowed hosts only *": (f"DJANGO_SECRET_KEY={STRONG}\nDJANGO_ALLOWED_HOSTS=*\n", ["DJANGO_ALLOWED_HOSTS"]),
    "bad domain (a URL)": (f"DJANGO_SECRET_KEY={STRONG}\nDJANGO_ALLOWED_HOSTS=https://{DOMAIN}/\n",
                           ["DJANGO_ALLOWED_HOSTS", "not a host name"]),
    "bad domain (spaces)": (f"DJANGO_SECRET_KEY={STRONG}\nDJANGO_ALLOWED_HOSTS=my blog.example\n",
                            ["DJANGO_ALLOWED_HOSTS", "not a host name"]),
}


@pytest.mark.parametrize("case", list(ENV_CASES))
def test_env_file(case, unchanged, checkout, laptop, env_file):
    text, words = ENV_CASES[case]
    env_file(text)
    one_error(flows.fab(unchanged, checkout, laptop, "deploy"), *words)


YAML = (flows.REPO / "fabric.yaml").read_text()
YAML_CASES = {
    "misspelled key": (YAML.replace("keep_releases:", "keep_release:"),
                       ["unknown deploy key 'keep_release'", "did you mean keep_releases?"]),
    "unknown key": (YAML + "  colour: blue\n", ["unknown deploy key 'colour'", "known keys:"]),
    "port out of range": (YAML.replace("http_port: 80", "http_port: 70000"),
                          ["http_port=70000 is not a TCP port", "from 1 to 65535"]),
    "port not a number": (YAML.replace("https_port: 443", "https_port: https"),
                          ["https_port must be a whole number"]),
    "same ports": (YAML.replace("https_port: 443", "https_port: 80"), ["same port"]),
    "bad app name": (YAML.replace("name: mysite ", "name: My Site "), ["not usable as a Docker name"]),
    "negative keep_warm": (YAML.replace("keep_warm: 600", "keep_warm: -5"), ["keep_warm must be at least 0"]),
    "keep_warm with a unit": (YAML.replace("keep_warm: 600", "keep_warm: 10m"),
                              ["keep_warm must be a whole number"]),
}


@pytest.mark.parametrize("case", list(YAML_CASES))
def test_fabric_yaml(case, unchanged, checkout, laptop, fabric_yaml):
    text, words = YAML_CASES[case]
    fabric_yaml(text)
    one_error(flows.fab(unchanged, checkout, laptop, "deploy"), *words)


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("MYSITE_HTTP_PORT", "0", ["http_port=0 is not a TCP port"]),
    ("MYSITE_HEALTH_TIMEOUT", "soon", ["health_timeout must be a whole number"]),
    ("MYSITE_KEEP_RELEASES", "0", ["keep_releases must be at least 1"]),
    ("MYSITE_KEEP_WARM", "-1", ["keep_warm must be at least 0"]),
    ("MYSITE_KEEP_WARM", "forever", ["keep_warm must be a whole number"]),
])
def test_environment_override(variable, value, words, unchanged, checkout, laptop):
    one_error(flows.fab(unchanged, checkout, laptop, "deploy", env={variable: value}), *words)


# --- hosts ----------------------------------------------------------------------------------------

def test_closed_port(unchanged, checkout, laptop):
    port = free_ports(1)[0]  # in the tests' 18000-18999 range, nothing listens there
    done = flows.fab(unchanged, checkout, laptop, "deploy", target=f"deploy@127.0.0.1:{port}")
    one_error(done, f"cannot connect to 127.0.0.1:{port}: connection refused", "is the port right?")


def test_unresolvable_host(unchanged, checkout, laptop):
    done = flows.fab(unchanged, checkout, laptop, "deploy", target="deploy@mysite-e2e-rel.invalid")
    one_error(done, "cannot resolve host 'mysite-e2e-rel.invalid'", "check the name given to -H")


def test_failed_auth(unchanged, checkout, laptop, tmp_path):
    key = tmp_path / "not-the-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    done = flows.fab(unchanged, checkout, laptop, "deploy", identity=str(key))
    one_error(done, "SSH login as deploy", "was refused", "ssh-copy-id")


def test_unknown_host_key(unchanged, checkout, laptop, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    done = flows.fab(unchanged, checkout, laptop, "deploy", known_hosts=empty)
    one_error(done, "is not in", "ssh-keyscan", "--accept-new-host-key")
    assert empty.read_text() == ""


def test_changed_host_key_is_refused_even_with_accept_new(deployed, checkout, laptop):
    server = deployed
    server.regenerate_host_keys()  # a man in the middle, as far as the laptop can tell
    try:
        before = snapshot(server)
        known = (laptop / ".ssh/known_hosts").read_text()
        for extra in ((), ("--accept-new-host-key",)):
            done = flows.fab(server, checkout, laptop, "deploy", *extra)
            one_error(done, "has CHANGED", "man-in-the-middle", "ssh-keygen -f")
        assert (laptop / ".ssh/known_hosts").read_text() == known  # never overwritten
        assert_unchanged(before, snapshot(server))
    finally:  # the "reinstalled server" is trusted again, as the error's fix says
        server.write_known_hosts()
        server.write_known_hosts(laptop / ".ssh/known_hosts")


@pytest.mark.parametrize(("user", "words"), [
    ("nosudo", ["nosudo@127.0.0.1 has no passwordless sudo", "visudo"]),
    ("pwsudo", ["pwsudo@127.0.0.1 has no passwordless sudo", "--prompt-for-sudo-password"]),
])
def test_bootstrap_without_usable_sudo(user, words, unchanged, checkout, laptop):
    one_error(flows.fab(unchanged, checkout, laptop, "bootstrap", user=user), *words)

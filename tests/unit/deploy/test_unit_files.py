"""The systemd unit and supervisor program carry any setting safely, read the way each program reads them.

supervisor's own parsers (a dev dependency) read the program; for systemd, whose parser is not a Python
library, `systemd_words` follows systemd.syntax(7) for Exec= lines. The commands then run for real in sh,
with a `docker` that only records its arguments.
"""

import configparser
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from supervisor.datatypes import dict_of_key_value_pairs
from supervisor.options import expand

from deploy import config
from deploy.commands import compose
from deploy.commands.services import supervisor_program, systemd_unit, systemd_word
from deploy.errors import DeployError
from deploy.names import Names

TAG = "20261124100509-bbbbbbb"
HOSTILE = {"app_path": "apps/my blog 50%$HOME 'q'", "compose_file": "stack;touch pwned.yml"}


def systemd_words(line: str) -> list[str]:
    """Split an Exec=/Environment= value as systemd does: %% and $$, then '...' and "..." with C escapes."""
    line = line.replace("%%", "%")
    words, word, i, quote = [], None, 0, None
    while i < len(line):
        ch = line[i]
        if quote == "'":
            word, quote = (word, None) if ch == "'" else (word + ch, quote)
        elif quote == '"':
            if ch == "\\":
                i += 1
                word += line[i]
            elif ch == '"':
                quote = None
            else:
                word += ch
        elif ch in "'\"":
            word, quote = word or "", ch
        elif ch.isspace():
            if word is not None:
                words.append(word)
            word = None
        else:
            word = (word or "") + ch
        i += 1
    if word is not None:
        words.append(word)
    return [w.replace("$$", "$") for w in words]


def names(**settings) -> Names:
    return Names.of(config.load(settings, {}), "/home/deploy")


def run_with_recording_docker(argv: list[str], tmp_path: Path, env: dict[str, str]) -> list[list[str]]:
    """Run ``argv`` in a release folder; every docker/docker-compose call is recorded, nothing else runs."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for program in ("docker", "docker-compose"):
        stub = bin_dir / program
        stub.write_text(f'#!/bin/sh\nprintf "%s\\0" {program} "$@" >> {shlex.quote(str(log))}; printf "\\n" >> '
                        f'{shlex.quote(str(log))}\n')
        stub.chmod(0o755)
    release = tmp_path / "releases" / TAG
    release.mkdir(parents=True)
    subprocess.run(argv, cwd=release, check=True, env={**env, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    return [line.rstrip("\0").split("\0") for line in log.read_text().splitlines() if line]


def test_systemd_word_is_bare_when_it_can_be_and_quoted_otherwise():
    assert systemd_word("HOME=/home/deploy") == "HOME=/home/deploy"
    assert systemd_word("A=b c") == "'A=b c'"
    assert systemd_word("it's 100% $HOME") == '"it\'s 100%% $$HOME"'


def test_systemd_unit_keeps_a_hostile_compose_file_and_app_path_whole(tmp_path):
    hostile = names(**HOSTILE)
    kind_command = compose.command("v2", [hostile.config.compose_file], project=hostile.project)
    text = systemd_unit(hostile, user="deploy", home="/home/deploy", compose=kind_command)
    parsed = configparser.ConfigParser(interpolation=None, strict=True)
    parsed.optionxform = str
    parsed.read_string(text)
    service = parsed["Service"]
    assert service["WorkingDirectory"].replace("%%", "%").replace("$$", "$") == hostile.current
    environment = dict(w.split("=", 1) for w in systemd_words(service["Environment"]))
    assert environment["MYSITE_ENV_FILE"] == hostile.env_file
    start = systemd_words(service["ExecStart"])
    assert start[:2] == ["/bin/sh", "-c"] and len(start) == 3
    calls = run_with_recording_docker(start, tmp_path, environment)
    assert calls == [["docker", "start", f"mysite-{TAG}"],
                     ["docker", "compose", "-p", "mysite", "-f", "stack;touch pwned.yml", "up", "-d", "--no-deps",
                      "nginx"]]
    assert not list(tmp_path.rglob("pwned*"))
    (tmp_path / "stop").mkdir()
    calls = run_with_recording_docker(systemd_words(service["ExecStop"]), tmp_path / "stop", environment)
    assert calls[0][-5:] == ["stack;touch pwned.yml", "stop", "-t", "30", "nginx"]
    assert calls[1] == ["docker", "stop", "-t", "30", f"mysite-{TAG}"]


def test_supervisor_program_keeps_a_hostile_compose_file_and_app_path_whole(tmp_path):
    hostile = names(**HOSTILE)
    kind_command = compose.command("v1", [hostile.config.compose_file], project=hostile.project)
    text = supervisor_program(hostile, user="deploy", home="/home/deploy", compose=kind_command,
                              log_dir="/home/deploy/etc/supervisor/var/log")
    parsed = configparser.RawConfigParser()
    parsed.read_string(text)
    program = parsed["program:mysite"]
    expansions = {"program_name": "mysite", "here": "/x"}
    environment = dict_of_key_value_pairs(expand(program["environment"], expansions, "environment"))
    assert environment["MYSITE_ENV_FILE"] == hostile.env_file
    assert expand(program["directory"], expansions, "directory") == hostile.current
    argv = shlex.split(expand(program["command"], expansions, "command"))
    calls = run_with_recording_docker(argv, tmp_path, environment)
    assert calls == [["docker", "start", f"mysite-{TAG}"],
                     ["docker-compose", "-p", "mysite", "-f", "stack;touch pwned.yml", "up", "--no-deps", "nginx"]]
    assert not list(tmp_path.rglob("pwned*"))


def test_a_value_supervisor_cannot_carry_is_refused():
    with pytest.raises(DeployError, match="cannot be passed in supervisor's environment="):
        supervisor_program(names(app_path="apps/\"it's\""), user="deploy", home="/home/deploy",
                           compose="docker-compose", log_dir="/l")


def test_a_newline_from_the_server_is_refused_too():
    with pytest.raises(DeployError, match="newline or control character"):
        systemd_unit(names(), user="deploy", home="/home/deploy\nExecStartPre=/bin/evil", compose="docker compose")


def test_app_path_with_a_newline_never_reaches_a_unit_file():
    with pytest.raises(DeployError, match=re.escape("app_path='apps/x\\nExecStartPre=/bin/evil'")):
        names(app_path="apps/x\nExecStartPre=/bin/evil")

"""The `fab` command line at its edges: a user's mistake is one `error:` line, exit 1, and nothing sent anywhere.

The real fabfile.py and fabric.yaml run in this process against a faked machine (the net's `Machine`).
"""

import os
import shutil

import pytest
from invoke.exceptions import Exit

from deploy.cli import guarded
from deploy.errors import DeployError
from tests.harness.machine import ROOT, SERVER, Machine, Run
from tests.harness.machine import refused as one_line


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


def refused(done: Run, *words: str) -> str:
    """The net's one refused line, in Fabric's words: `error: ...`."""
    line = one_line(done, *words)
    assert line.startswith("error: "), done
    return line


# --- -H: checked by deploy.cli.Executor (fabric.yaml: tasks.executor_class) before any Connection -------------


@pytest.mark.parametrize(("hosts", "words"), [
    ("host:abc", ["port 'abc'", "1 to 65535"]),
    ("host:0", ["port '0'"]),
    ("host:70000", ["port '70000'"]),
    ("host:", ["port ''"]),
    ("user@", ["no host"]),
    ("@", ["no host"]),
    (":22", ["no host"]),
    ("@host", ["no user before @"]),
    ("a b", ["'a b' is not a host name"]),
    ("-oProxyCommand=x", ["is not a host name"]),
    ("host;id", ["is not a host name"]),
    ("bad user@host", ["user 'bad user'"]),
    ("999.1.1.1", ["is not a host name"]),
    ("good.example,host:abc", ["port 'abc'"]),
    ("good.example,", ["empty host"]),
])
def test_a_malformed_host_is_one_line_before_any_connection(machine, hosts, words):
    done = machine.fab("-H", hosts, "deploy")
    refused(done, "-H", *words, "e.g. -H deploy@example.com")
    assert done.connected == []


@pytest.mark.parametrize("hosts", [SERVER, "srv.example", "deploy@10.0.0.1", "deploy@2001:db8::1", "my_alias",
                                   "deploy@srv.example:22"])
def test_a_good_host_reaches_the_task(machine, hosts):
    done = machine.fab("-H", hosts, "releases")
    assert done.code == 0, done
    assert len(done.connected) == 1


def test_the_menu_still_lists_every_task(machine):
    done = machine.fab("--list")
    assert done.code == 0, done
    for name in ("bootstrap", "deploy", "rollback", "https", "logs", "manage", "backup", "restore", "audit"):
        assert f"\n  {name} " in done.out, done
    assert machine.fab("--help", "logs").out.count("--lines=INT") == 1


# --- whole-number options: checked while the command line is parsed -------------------------------------------


@pytest.mark.parametrize(("argv", "words"), [
    (["logs", "--lines", "abc"], ["--lines 'abc' is not a whole number", "from 0 to"]),
    (["logs", "--lines=-5"], ["--lines '-5' is not a whole number"]),
    (["logs", "--lines", str(10**30)], ["--lines", "is too large", "at most 1000000"]),
    (["logs", "--lines", ""], ["--lines '' is not a whole number"]),
    (["audit", "--lines", "abc"], ["--lines 'abc' is not a whole number"]),
    (["audit", "--lines", "0"], ["--lines 0 is too small", "at least 1"]),
])
def test_a_bad_number_is_one_line(machine, argv, words):
    refused(machine.fab("-H", SERVER, *argv), *words)


def test_a_good_number_reaches_the_server(machine):
    done = machine.fab("-H", SERVER, "audit", "--lines", "7")
    assert done.code == 0, done
    assert any("tail -n 7 " in command for command in done.remote), done


# --- fab manage: the command line is split here, before anything connects ----------------------------------


@pytest.mark.parametrize(("command", "words"), [
    ("shell -c 'x", ["the manage.py command", "a quote that is never closed", "close it"]),
    ('shell -c "x', ["a quote that is never closed"]),
    ("shell \\", ["ends with a lone backslash"]),
    ("", ["the manage.py command is empty", "fab manage createsuperuser"]),
    ("   ", ["is empty"]),
])
def test_a_manage_command_that_cannot_be_split_is_one_line(machine, command, words):
    done = machine.fab("-H", SERVER, "manage", command)
    refused(done, *words)
    assert done.connected == []


# --- fab restore: the backup file and the question are settled before anything connects ----------------------


def test_restore_without_a_terminal_says_to_pass_yes(machine):
    done = machine.fab("-H", SERVER, "restore", str(machine.backup))
    refused(done, "no terminal to ask on", "pass --yes")
    assert done.connected == []


@pytest.mark.parametrize(("name", "words"), [
    ("missing.sqlite3", ["'missing.sqlite3': no such file", "fab backup"]),
    (".", ["'.' is a folder", "give the file a `fab backup` saved"]),
    ("x" * 10_000, ["characters)", "the name is too long"]),
    ("", ["the backup file is empty", "give the file"]),
    ("fabric-notes.txt", ["is not a SQLite database file", "fab backup"]),
])
def test_restore_refuses_what_is_not_a_backup_before_connecting(machine, name, words):
    (machine.project / "fabric-notes.txt").write_text("not a database")
    done = machine.fab("-H", SERVER, "restore", "--yes", name)
    refused(done, *words)
    assert done.connected == []


# --- fab backup: where the file goes is checked here, before the server takes a backup -------------------------


@pytest.mark.parametrize(("output", "words"), [
    ("missing/dir/x.sqlite3", ["the folder 'missing/dir' does not exist", "create it first"]),
    (".", ["--output '.' is a directory", "give a file name"]),
    ("home", ["--output 'home' is a directory", "give a file name, e.g. --output home/db.sqlite3"]),
    ("notes.txt/x.sqlite3", ["'notes.txt' is not a folder"]),
    ("", ["--output is empty", "give a file name"]),
    ("x" * 10_000, ["characters)", "the name is too long"]),
    ("a\nb.sqlite3", ["a control character", "give a plain file name"]),
    ("new/", ["the folder 'new' does not exist", "create it first"]),
])
def test_backup_checks_the_local_path_before_connecting(machine, output, words):
    (machine.project / "notes.txt").write_text("notes")
    done = machine.fab("-H", SERVER, "backup", "--output", output)
    refused(done, *words)
    assert done.connected == []


def test_backup_into_a_backups_file_is_refused_before_connecting(machine):
    (machine.project / "backups").write_text("not a folder")
    done = machine.fab("-H", SERVER, "backup")
    refused(done, "'backups' is a file", "--output")
    assert done.connected == []


def test_backup_saves_in_a_new_backups_folder_by_default(machine):
    done = machine.fab("-H", SERVER, "backup")
    assert done.code == 0, done
    assert (machine.project / "backups").is_dir()
    assert done.remote[-1].startswith("get: /home/deploy/apps/mysite/backups/") and " -> backups/srv.example-" in \
        done.remote[-1], done


def test_backup_to_a_file_in_an_existing_folder(machine):
    done = machine.fab("-H", SERVER, "backup", "--output", "home/db.sqlite3")
    assert done.code == 0, done
    assert done.remote[-1].endswith(" -> home/db.sqlite3"), done


# --- fabric.yaml that Fabric could not load: one line from fabfile.py's import, before Fabric reads it ----------


@pytest.mark.parametrize(("text", "words"), [
    (b"deploy: [1\n", ["fabric.yaml is not valid YAML", "line 2, column 1", "fix it there"]),
    (b"deploy:\n\tkeep_releases: 3\n", ["fabric.yaml is not valid YAML", "line 2, column 1"]),
    (b"\xff\xfe\x00\x80garbage", ["fabric.yaml is not UTF-8 text", "git checkout -- fabric.yaml"]),
    (b"\x7fELF\x02\x01\x01\x00\x00\xd0\x80", ["fabric.yaml is not UTF-8 text"]),
    (b"just some text\n", ["fabric.yaml holds a str, not settings", "key: value"]),
    (b"- a\n- b\n", ["fabric.yaml holds a list, not settings"]),
    (b"tasks: 5\n", ["fabric.yaml: tasks must be a section", "not 5"]),
    (b"run: [1, 2]\n", ["fabric.yaml: run must be a section"]),
])
@pytest.mark.parametrize("argv", [["--list"], ["-H", SERVER, "status"]])
def test_a_fabric_yaml_fabric_cannot_load_is_one_line(machine, tmp_path, text, words, argv):
    folder = tmp_path / "checkout"
    folder.mkdir()
    shutil.copy(ROOT / "fabfile.py", folder)
    (folder / "fabric.yaml").write_bytes(text)
    done = machine.fab(*argv, root=folder)
    refused(done, *words)
    assert done.connected == []


@pytest.mark.parametrize("text", [b"", b"# only a comment\n", b"deploy:\n  keep_releases: 3\n"])
def test_a_fabric_yaml_with_nothing_wrong_loads(machine, tmp_path, text):
    folder = tmp_path / "checkout"
    folder.mkdir()
    shutil.copy(ROOT / "fabfile.py", folder)
    (folder / "fabric.yaml").write_bytes(text)
    assert machine.fab("--list", root=folder).code == 0


# --- other values checked before anything connects -------------------------------------------------------------


@pytest.mark.parametrize(("argv", "words"), [
    (["logs", "--service", "db"], ["unknown service 'db'", "use app or nginx"]),
    (["rollback", "--to", "yesterday"], ["--to 'yesterday' is not a release name", "fab releases"]),
    (["rollback", "--to", ""], ["--to '' is not a release name"]),
    (["bootstrap", "--registry-mirror", "ftp://x"], ["--registry-mirror 'ftp://x' is not a usable mirror URL"]),
    (["bootstrap", "--registry-mirror", ""], ["--registry-mirror '' is not a usable mirror URL"]),
])
def test_a_bad_value_is_refused_before_connecting(machine, argv, words):
    done = machine.fab("-H", SERVER, *argv)
    refused(done, *words)
    assert done.connected == []


def test_guarded_turns_deploy_errors_into_exit_with_one_line():
    @guarded
    def body():
        raise DeployError("something is wrong:\n  do this")

    with pytest.raises(Exit) as info:
        body()
    assert info.value.message == "error: something is wrong: do this" and info.value.code == 1
    assert os.path.basename(__file__)  # the module imports cleanly without Django

"""The unit files of `fab systemd` and `fab supervisor` (deploy/templates), filled in for one server.

Every value is escaped for the file's own format: systemd expands ``%`` specifiers and ``$`` variables
and splits on quotes; supervisor expands ``%(name)s`` and splits its command and environment with
shell-like quoting. A value no format can carry (a newline, a control character) is refused.
"""

from shlex import quote

from deploy.errors import DeployError
from deploy.names import Names
from deploy.templates import TEMPLATES


def render(template: str, **values: object) -> str:
    return TEMPLATES[template].format(**values)


def one_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise DeployError(f"{value!r} holds a newline or control character, which a unit file cannot carry: "
                          "rename it")
    return value


def systemd_value(value: str) -> str:
    """A value as systemd reads it verbatim: specifiers (%) and variables ($) doubled."""
    return one_line(value).replace("%", "%%").replace("$", "$$")


def systemd_word(value: str) -> str:
    """One word of an Exec= or Environment= line: quoted when it has spaces or quotes."""
    text = systemd_value(value)
    if text and not any(ch.isspace() or ch in "'\"\\" for ch in text):
        return text
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def supervisor_value(value: str) -> str:
    """A value supervisor reads verbatim: its %(name)s expansion escaped."""
    return one_line(value).replace("%", "%%")


def supervisor_quoted(value: str) -> str:
    """A quoted value for supervisor's environment=, which shlex splits in non-POSIX mode (no escapes) and
    strips of quotes at both ends: a value can hold one kind of quote, never at an end."""
    text = supervisor_value(value)
    quote_char = "'" if '"' in text else '"'
    if quote_char in text or (text and (text[0] in "'\"" or text[-1] in "'\"")):
        raise DeployError(f"{value!r} cannot be passed in supervisor's environment= (quotes): rename it")
    return f"{quote_char}{text}{quote_char}"


def start_script(names: Names, compose: str, *, detach: bool) -> str:
    """Start the current release's app container (named after the folder `current` points at), then nginx."""
    prefix = names.container("")
    return (f'tag="$(basename "$(pwd -P)")"; docker start "{prefix}$tag" >/dev/null && '
            f'MYSITE_TAG="$tag" exec {compose} up{" -d" if detach else ""} --no-deps nginx')


def stop_script(names: Names, compose: str) -> str:
    prefix, seconds = names.container(""), names.config.stop_timeout
    return (f'tag="$(basename "$(pwd -P)")"; MYSITE_TAG="$tag" {compose} stop -t {seconds} nginx; '
            f'exec docker stop -t {seconds} "{prefix}$tag"')


def supervisor_program(names: Names, *, user: str, home: str, compose: str, log_dir: str) -> str:
    config = names.config
    env = {"HOME": home, "USER": user, **names.compose_env()}
    return render(
        "supervisor.ini", app_name=config.app_name, user=supervisor_value(user),
        command=supervisor_value(f"/bin/sh -c {quote(start_script(names, compose, detach=False))}"),
        directory=supervisor_value(names.current),
        environment=",".join(f"{key}={supervisor_quoted(value)}" for key, value in env.items()),
        stop_wait=config.stop_timeout + 10,
        stdout_log=supervisor_value(f"{log_dir}/{config.app_name}-stdout.log"),
        stderr_log=supervisor_value(f"{log_dir}/{config.app_name}-stderr.log"))


def systemd_unit(names: Names, *, user: str, home: str, compose: str) -> str:
    env = {"HOME": home, **names.compose_env()}
    return render(
        "systemd.service", app_name=names.config.app_name, current=systemd_value(names.current),
        user=systemd_value(user), directory=systemd_value(names.current),
        environment=" ".join(systemd_word(f"{key}={value}") for key, value in env.items()),
        exec_start=f"/bin/sh -c {systemd_word(start_script(names, compose, detach=True))}",
        exec_stop=f"/bin/sh -c {systemd_word(stop_script(names, compose))}")

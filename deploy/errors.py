"""The one exception a user's mistake becomes: a single line saying what is wrong and what to do."""


class DeployError(Exception):
    """A failure the user can fix. ``str(error)`` is the whole message: one line, with the fix."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))


class RemoteCommandFailed(DeployError):
    """A remote command exited non-zero. Keeps the command and the tail of its output for the log."""

    def __init__(self, command: str, exit_code: int, output: str, what: str | None = None):
        self.command = command
        self.returncode = exit_code
        self.output = output
        tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:] if line.strip())
        reason = what or f"remote command failed (exit {exit_code}): {command}"
        super().__init__(f"{reason}{': ' + tail if tail else ''}")

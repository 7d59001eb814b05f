"""deploy/commands/shell.py: the exact strings."""

from deploy.commands import shell


def test_sudo_never_prompts_and_quotes_the_whole_command():
    assert shell.sudo("apt-get install -y docker.io && echo 'x'") == (
        "sudo -n sh -c 'apt-get install -y docker.io && echo '\"'\"'x'\"'\"''")

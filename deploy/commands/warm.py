"""The warm container: the previous release's app container kept running, out of traffic, for a fast rollback.

A deploy stops and removes the container it replaces gracefully (that takes it out of the app's
alias without breaking a request), then starts a new container of that release under its private alias
only, with restart policy ``no`` (the mark of a warm container: every serving one has ``unless-stopped``).
A new container, not the stopped one started again: Docker's DNS could answer the shared alias with a
container that had carried it once, for a moment after it started again. A detached timer on the
server stops and removes it ``keep_warm`` seconds later, under the deploy lock, unless it serves by then.
docs/ARCHITECTURE.md ("Zero-downtime routing") has the rules.
"""

from shlex import quote

from deploy.commands import docker
from deploy.names import Names, label

WARM_POLICY = "no"
LOCK_TRIES, LOCK_PAUSE = 720, 5  # the timer waits up to an hour for a deploy or rollback to release the lock


def listing(project: str) -> str:
    """Running app containers of ours: 'name restart-policy started-at', one a line."""
    return (f"docker ps -q --filter label={label(project, 'project')}={project} --filter status=running | "
            "xargs -r docker inspect -f '{{.Name}} {{.HostConfig.RestartPolicy.Name}} {{.State.StartedAt}}'")


def parse(text: str) -> dict[str, str]:
    """name -> started-at of the warm ones (restart policy ``no``), from ``listing`` output."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[1] == WARM_POLICY:
            found[words[0].lstrip("/")] = words[2]
    return found


def keep(names: Names, release: str, dns_seconds: int) -> str:
    """A new container of the replaced ``release``, out of traffic: private alias only, restart policy no.

    It starts after ``dns_seconds``: nginx may still hold an answer for the shared alias from before the
    stop (it resolves every second), and a container on the same address would get requests.
    """
    return f"sleep {int(dns_seconds)} && {docker.run_app(names, release, restart=WARM_POLICY)} >/dev/null"


def claim(name: str) -> str:
    """Before a rollback routes to it: a serving container's policy again, so the timer leaves it alone."""
    return f"docker update --restart unless-stopped {name} >/dev/null"


def expire(names: Names, name: str, seconds: int) -> str:
    """A detached timer on the server: after ``seconds``, stop and remove ``name`` if it is still warm.

    It survives the SSH session (``setsid -f``, no terminal, no open file of the session). Still warm
    means: the same start (a later deploy that warmed it again started its own timer), restart policy
    ``no`` (a rollback claims it first) and not in the alias; checked and done under the deploy lock, so
    never in the middle of a deploy or rollback (it waits for the lock, up to an hour).
    """
    lock = quote(names.lock)
    stop = names.config.stop_timeout
    state = ('docker inspect -f "{{.Id}} {{.State.StartedAt}} {{.HostConfig.RestartPolicy.Name}}'
             '{{range .NetworkSettings.Networks}}{{range .Aliases}} {{.}}{{end}}{{end}}" "$c" 2>/dev/null')
    script = (
        f'c={name}; s="$(docker inspect -f "{{{{.Id}}}} {{{{.State.StartedAt}}}}" "$c")" || exit 0; '
        f"sleep {int(seconds)}; n=0; "
        f"until mkdir {lock} 2>/dev/null; do n=$((n+1)); [ $n -lt {LOCK_TRIES} ] || exit 0; sleep {LOCK_PAUSE}; done; "
        f'echo "keep-warm expiry of $c (a few seconds)" > {lock}/holder; '
        f'case "$({state}) " in *" {names.alias} "*) ;; '
        f'"$s {WARM_POLICY} "*) docker stop -t {stop} "$c" >/dev/null; docker rm "$c" >/dev/null ;; esac; '
        f"rm -rf {lock}"
    )
    return f"setsid -f sh -c {quote(script)} </dev/null >/dev/null 2>&1"

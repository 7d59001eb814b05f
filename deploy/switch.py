"""The zero-downtime switch (docs/ARCHITECTURE.md, "Zero-downtime routing").

The new app container starts beside the old one, with its own unix socket on the volume nginx shares,
and is health-checked directly. Routing it is one rename: nginx's link to the serving socket now points
at the new container's, so each new connection goes there and those open finish where they are; it
joins the shared alias too (the cluster's way, nginx's fallback for GETs). The old one is stopped
gracefully afterwards. nginx is never reloaded, and recreated only when its image changed. A deploy
keeps a new container of the old release warm (running, out of traffic) for a while; a rollback to it
only routes to it (``use_warm``).
"""

from collections.abc import Callable

from deploy import applog
from deploy.commands import compose, docker, health, warm
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step

LOG_LINES = 30  # of a failed container's log, shown
LOG_SEARCHED = 200  # read, for the exception the app raised (a crash's is often 30 lines above gunicorn's end)
# nginx's fallback by name keeps an answer for the alias up to 2 s (valid=1s, counted in whole seconds) after
# it arrived; the extra second covers an answer that arrived late on a busy server
DNS_SECONDS = 3
NO_SOCKET = 3  # serve_socket.py's exit status when the container made no socket


def nginx_name(host: Host, names: Names) -> str:
    """The running nginx container's name, '' when none runs."""
    return host.probe(docker.nginx_container(names.project)).stdout.strip().split("\n")[0]


def ensure_nginx(host: Host, names: Names, release: str, kind: str, domain: str) -> str:
    """nginx running the release's nginx image; replaced only when that image differs. Returns its name.

    The replacement is start-first (docs/ARCHITECTURE.md, "nginx updates"): a new nginx container binds the
    host's ports beside the running one (reuseport), serves the site through its own socket, then the old one
    stops gracefully. An nginx that still publishes its ports through Docker (before nginx moved to the host's
    network) is recreated stop-first, once.
    """
    name = nginx_name(host, names)
    if name:
        ids = host.probe(docker.image_ids(name, names.nginx_image(release))).stdout.split()
        if len(ids) == 2 and ids[0] == ids[1]:
            say(f"    nginx ({name}) already runs this image: left alone, no reload")
            return name
        if host.probe(docker.network_mode(name)).stdout.strip() == "host":
            return _replace_nginx(host, names, release, kind, domain, name)
    with step("start nginx" if not name else "recreate nginx on the host's network, stop-first (once: its ports "
              "move from Docker's proxy to nginx itself; requests fail for a few seconds)"):
        host.run(compose.stack(names, release, compose.START_NGINX, kind=kind), timeout=600)
    return nginx_name(host, names) or names.default_nginx


def _replace_nginx(host: Host, names: Names, release: str, kind: str, domain: str, old: str) -> str:
    """Start the release's nginx beside ``old``, check it serves the site, then stop ``old`` gracefully."""
    config = names.config
    timeout, app = config.health_timeout, config.app
    new = ""
    try:
        with step(f"nginx: its image changed: start the new nginx beside {old} (both bind the host's ports, "
                  "reuseport)"):
            host.run(compose.stack(names, release, compose.START_NGINX_BESIDE, kind=kind), timeout=600)
        started = [n for n in host.probe(docker.nginx_container(names.project)).stdout.split() if n != old]
        if not started:
            if host.dry_run:
                return old
            raise DeployError(f"compose started no second nginx beside {old}")
        new = started[0]
        with step(f"check that {new} serves the site through its own socket ({app.health_path} and / as "
                  f"{domain}, {timeout}s)"):
            _check(host, health.new_nginx_check(new, domain, timeout, app), f"the new nginx {new} does not serve")
    except BaseException as error:
        # what compose made beside the old nginx goes, started or not: a later `up --scale` would reuse it
        made = [n for n in host.probe(docker.nginx_containers_any_state(names.project)).stdout.split() if n != old]
        with step(f"roll back: remove {', '.join(made) or 'nothing'}, keep {old} serving"):
            for name in made:
                logs = host.run(docker.logs_tail(name, LOG_LINES), warn=True).stdout.rstrip()
                for line in logs.splitlines()[-LOG_LINES:]:
                    say(f"    | {line}")
                host.run(docker.discard(name), warn=True)
        if isinstance(error, DeployError):
            raise DeployError(f"{error}; rolled back: {', '.join(made) or 'nothing'} removed, {old} still serves "
                              "(the log is above)") from None
        raise
    with step(f"stop the old nginx {old} gracefully (it closes its listeners, its waiting connections move to "
              f"{new}, its requests in flight finish)"):
        host.run(docker.stop([old], config.stop_timeout), timeout=config.stop_timeout + 60)
    return new


def switch(host: Host, names: Names, release: str, domain: str, nginx: str,
           renamed: dict[str, str] | None = None, *, keep_warm: int = 0,
           on_routed: Callable[[], None] | None = None) -> None:
    """Start ``release`` beside the serving containers, health-check it, route to it, stop the old ones.

    Any failure (or Ctrl-C) before the old containers are stopped removes the new container and
    leaves the old ones serving; the error names the release and the last lines of its log are shown.
    ``renamed`` (old name -> new) names containers the caller has just renamed: a dry run only printed
    the rename, so the server still shows the old names. ``keep_warm`` (seconds; only `fab deploy` passes
    it: a restart with new settings must not keep the old settings warm) keeps the container that served
    until now running out of traffic for that long; any older warm container goes with the other old ones.
    ``on_routed``: for a caller whose new container must never be undone once it may have taken traffic
    (the move to PostgreSQL: what it accepted is where the old one cannot read). It is called just before
    the route command is sent; from then on a failure (or Ctrl-C) is raised as it is, with the new
    container kept, for the caller to finish forward.
    """
    config, name = names.config, names.container(release)
    routing: list[bool] = []

    def routed() -> None:
        routing.append(True)
        if on_routed:
            on_routed()

    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    existing = {(renamed or {}).get(n, n): up for n, up in found.items()}
    # which running one is warm matters only to a deploy that keeps one (the others stop every old container)
    warm_now = set(warm.parse(host.probe(warm.listing(names.project)).stdout)) if keep_warm else set()
    if existing.get(name) and name not in warm_now:
        raise DeployError(f"release {release} is already serving ({name}): nothing to switch")
    old = [n for n in existing if n != name]
    serving = [n for n in old if existing[n] and n not in warm_now]
    try:
        with step(f"start {name} beside {', '.join(serving) or 'nothing (first deploy)'}"):
            if name in existing:  # a stopped leftover of an earlier attempt, or a warm one (never routed)
                host.run(docker.discard(name) if name in warm_now else docker.remove(name))
            host.run(docker.run_app(names, release))
        _check_and_route(host, names, name, domain, nginx, "the new release", routed)
    except BaseException as error:
        if routing and on_routed:
            raise
        exception = _abort(host, name, serving)
        if isinstance(error, DeployError):
            kept = ", ".join(serving) or "nothing (this was the first deploy)"
            raise DeployError(f"{error}{_raised(exception)}; rolled back: {name} removed, still serving: {kept} "
                              "(its last log lines are above)") from None
        raise
    kept = tuple(sorted(serving)[-1:]) if keep_warm else ()
    if old:
        with step(f"stop the old container(s) gracefully: {', '.join(old)}"):
            host.run(docker.stop(old, config.stop_timeout), timeout=config.stop_timeout + 60)
    for container in kept:
        _keep_warm(host, names, container, keep_warm)


def use_warm(host: Host, names: Names, release: str, domain: str, nginx: str) -> bool:
    """Route to ``release``'s warm container if one runs (False when none: then switch as usual).

    It is booted already: claim it (restart policy back to unless-stopped, so its timer leaves it
    alone), health-check it directly, route, verify through nginx, then stop the serving ones
    gracefully. Any failure (or Ctrl-C) stops and removes the warm one and leaves the serving ones up.
    """
    config, name = names.config, names.container(release)
    warm_now = warm.parse(host.probe(warm.listing(names.project)).stdout)
    if name not in warm_now:
        return False
    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    old = [n for n in found if n != name]
    serving = [n for n in old if found[n] and n not in warm_now]
    say(f"    using the warm container {name} (running since the last deploy, out of traffic): no start, no boot")
    try:
        with step(f"claim {name}: restart policy unless-stopped, as a serving container"):
            host.run(warm.claim(name))
        _check_and_route(host, names, name, domain, nginx, "the warm release")
    except BaseException as error:
        exception = _abort(host, name, serving)
        if isinstance(error, DeployError):
            kept = ", ".join(serving) or "nothing"
            raise DeployError(f"{error}{_raised(exception)}; rolled back: the warm container {name} removed, still "
                              f"serving: {kept} (its last log lines are above); `fab rollback` again starts a fresh "
                              "one") from None
        raise
    if old:
        with step(f"stop the old container(s) gracefully: {', '.join(old)}"):
            host.run(docker.stop(old, config.stop_timeout), timeout=config.stop_timeout + 60)
    return True


def _keep_warm(host: Host, names: Names, name: str, seconds: int) -> None:
    """A new ``name`` of its release, out of traffic; the server removes it after ``seconds``. Never fails a deploy."""
    with step(f"keep {name} warm for {seconds}s (running, out of traffic) for a fast `fab rollback`"):
        release = names.release_of(name)
        for command in (warm.keep(names, release, DNS_SECONDS), warm.expire(names, name, seconds)):
            result = host.run(command, warn=True)
            if result.failed:
                last = ((result.stderr or result.stdout).strip().splitlines() or ["no output"])[-1]
                say(f"  ! could not keep {name} warm ({last}): removed it; `fab rollback` starts a fresh container")
                host.run(docker.discard(name), warn=True)
                return


def restart(host: Host, names: Names, release: str, domain: str, nginx: str, running: list[str], *,
            aside: str, on_routed: Callable[[], None] | None = None) -> None:
    """Start ``release`` again (to read new settings) with the same zero-downtime switch.

    The new container takes the release's name, so the serving one (among ``running``) steps aside as
    ``<name>-<aside>`` first, and gets its name back if the switch fails before routing (``on_routed``:
    as for ``switch``; after it, the stepped-aside one keeps its new name).
    """
    name = names.container(release)
    stepped_aside = f"{name}-{aside}"
    routing: list[bool] = []

    def routed() -> None:
        routing.append(True)
        if on_routed:
            on_routed()

    if name in running:
        host.run(docker.rename(name, stepped_aside))
    try:
        switch(host, names, release, domain, nginx, renamed={name: stepped_aside} if name in running else None,
               on_routed=routed if on_routed else None)
    except BaseException:
        if name in running and not routing:
            host.run(docker.rename(stepped_aside, name), warn=True)
        raise


def complete(host: Host, names: Names, release: str, domain: str, nginx: str) -> None:
    """Finish a switch to ``release`` that stopped after routing: its container in traffic, every other one stopped.

    Its container runs: health-checked directly, routed only when nginx does not resolve the alias to it
    yet (routing again would cut the requests it serves), verified through nginx, then the others stop.
    It does not run: a switch starts it anew. Never undone once routed: the caller keeps what it served.
    """
    config, name = names.config, names.container(release)
    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    if not found.get(name):
        switch(host, names, release, domain, nginx, on_routed=lambda: None)
        return
    timeout, app = config.health_timeout, config.app
    with step(f"health-check {name} directly ({app.health_path} and / as {domain}, {timeout}s)"):
        _check(host, health.direct_check(name, domain, timeout, app), f"{name} failed its health check")
    if host.run(health.serves(nginx, name), warn=True).failed:
        _route(host, names, name, nginx)
    with step(f"verify through nginx ({app.health_path} and / as {domain})"):
        _check(host, health.nginx_check(nginx, domain, timeout, app), f"nginx could not serve {name}")
    old = [n for n in found if n != name]
    if old:
        with step(f"stop the old container(s) gracefully: {', '.join(old)}"):
            host.run(docker.stop(old, config.stop_timeout), timeout=config.stop_timeout + 60)


def _check_and_route(host: Host, names: Names, name: str, domain: str, nginx: str, what: str,
                     routed: Callable[[], None] | None = None) -> None:
    """Health-check ``name`` directly, add it to the alias nginx resolves, then verify through nginx.

    ``routed`` is called just before the route command is sent: from then on traffic may reach ``name``.
    """
    timeout, app = names.config.health_timeout, names.config.app
    with step(f"health-check {name} directly ({app.health_path} and / as {domain}, {timeout}s)"):
        _check(host, health.direct_check(name, domain, timeout, app), f"{name} failed its health check")
    if routed:
        routed()
    _route(host, names, name, nginx)
    with step(f"verify through nginx ({app.health_path} and / as {domain})"):
        _check(host, health.nginx_check(nginx, domain, timeout, app), f"nginx could not serve {what}")


def _route(host: Host, names: Names, name: str, nginx: str) -> None:
    """Send nginx's new connections to ``name``: its socket behind nginx's link (one rename), and the alias."""
    with step(f"route traffic to {name}: nginx's link to its socket (one rename) and the alias {names.alias}"):
        host.run(docker.route(names, name))
        linked = host.run(docker.serve(name), warn=True)
        if linked.exited == NO_SOCKET:
            raise DeployError(f"{name} made no socket for nginx ({linked.stdout.strip()}): its image predates "
                              "routing through sockets; deploy that commit again with `fab deploy` instead")
        if linked.failed:
            raise DeployError(f"could not point nginx's link at {name}'s socket "
                              f"({(linked.stderr or linked.stdout).strip() or 'no output'})")
        _check(host, health.serves(nginx, name),
               f"nginx does not see {name}'s socket (its container lacks the sockets' volume: "
               "`fab deploy` recreates it with production.yml's)")


def _check(host: Host, command: str, what: str) -> None:
    result = host.run(command, warn=True)
    if result.failed:
        last = (result.stdout.strip().splitlines() or ["no answer"])[-1]
        again = f", {health.BROKEN_AFTER} times in a row" if result.exited == health.UP_BUT_BROKEN else ""
        raise DeployError(f"{what} ({last}{again})")


def _abort(host: Host, name: str, serving: list[str]) -> str:
    """Remove the new container (stopped gracefully: it may carry the alias) and keep the old ones up; returns
    what its log says the app raised (``applog.raised``: '' when nothing), for the one line of the error."""
    with step(f"roll back: remove {name}, keep {', '.join(serving) or 'nothing'} serving"):
        logs = host.run(docker.logs_tail(name, LOG_SEARCHED), warn=True).stdout.rstrip()
        if logs:
            say(f"    last lines of {name}'s log:")
            for line in logs.splitlines()[-LOG_LINES:]:
                say(f"    | {line}")
        host.run(docker.discard(name), warn=True)
        if serving:  # idempotent: they were never disconnected, this only revives one that died meanwhile
            host.run(docker.start(serving), warn=True)
    return applog.raised(logs)


def _raised(exception: str) -> str:
    return f"; the app raised {exception}" if exception else ""

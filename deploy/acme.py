"""One ACME order run by certbot, on one server or in the cluster's certbot task: a refusal is one line."""

from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host
from deploy.output import tail

LOG_LINES = 15  # of certbot's output, shown above the one line
ORDER_SECONDS = 900  # certbot's own retries against a slow CA fit well inside this


def order(host: Host, command: str, names: list[str], serving: str, check: str) -> None:
    """Run certbot's ``command``; when the CA refuses, its output's tail, then one line: nothing changed."""
    try:
        host.run(command, timeout=ORDER_SECONDS)
    except RemoteCommandFailed as error:
        tail("certbot output", error.output, LOG_LINES)
        raise DeployError(f"certbot could not get a certificate for {', '.join(names)} (output above): nothing "
                          f"was changed and {serving} keeps serving http; check that {check}") from None

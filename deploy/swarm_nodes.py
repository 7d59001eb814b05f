"""The cluster's nodes as Swarm knows them: their state and node IDs, their addresses, which node is which,
and the check that they form the swarm. The step modules (`swarm_cluster`, `swarm_release`,
`swarm_operations`) share these; no task is wired to this module."""

from deploy import checks
from deploy.commands import swarm
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host


def node_id(host: Host) -> tuple[str, str]:
    """(LocalNodeState, NodeID) of a node."""
    state, node, _ = swarm.parse_state(host.probe(swarm.state()).stdout)
    return state, node


def address(host: Host, configured: str = "") -> str:
    found = configured or host.probe(swarm.private_address()).stdout.strip()
    if not found and not host.dry_run:
        raise DeployError(f"{host.name} has no IPv4 route to tell the other nodes its address: set "
                          "`advertise_addr` under `swarm:` in fabric.yaml")
    return found or "ADVERTISE-ADDR"


def parse_nodes(text: str) -> dict[str, dict[str, str]]:
    """node ID -> hostname, state, availability, address, labels (from ``swarm.nodes()``)."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 5:
            found[words[0]] = {"hostname": words[1], "state": words[2], "availability": words[3],
                               "address": words[4], "labels": words[5] if len(words) > 5 else ""}
    return found


def host_by_name(hosts: list[Host], name: str) -> Host:
    """The connected node ``name`` names (as ``checks.node_named`` matched it before connecting)."""
    wanted = checks.host(name, "--nodes")
    for host in hosts:
        if any(wanted.names(given, host.conn.port) for given in (host.conn.original_host, host.conn.host)):
            return host
    raise DeployError(f"{name!r} is not one of the nodes ({', '.join(h.name for h in hosts)}): name one of them")


def distinct_node_ids(hosts: list[Host]) -> list[str]:
    """Each node's swarm node ID; two entries that reach one machine (an alias, another address) are refused."""
    found: dict[str, str] = {}
    ids = []
    for host in hosts:
        _, node = node_id(host)
        if node and node in found:
            raise DeployError(f"{found[node]} and {host.name} are one swarm node ({node}): list each node once")
        found[node] = host.name
        ids.append(node)
    return ids


def require_cluster(hosts: list[Host]) -> None:
    """Every node in the swarm, the first one its manager: else say to run swarm.bootstrap."""
    manager = hosts[0]
    state, _, control = swarm.parse_state(manager.probe(swarm.state()).stdout)
    if (state != "active" or not control) and not manager.dry_run:
        raise DeployError(f"{manager.name} is not a swarm manager: run `fab swarm.bootstrap` first")
    for host in hosts[1:]:
        if node_id(host)[0] != "active" and not host.dry_run:
            raise DeployError(f"{host.name} is not in the swarm: run `fab swarm.bootstrap` (it adds new nodes)")


def db_host(hosts: list[Host], config: DeployConfig) -> Host:
    return host_by_name(hosts, config.swarm.db_node) if config.swarm.db_node else hosts[0]

"""The cluster's nodes: Swarm's listings parsed."""

from deploy.commands import swarm
from deploy.swarm_nodes import parse_nodes


def test_node_states_and_listings_are_parsed():
    assert swarm.parse_state("active abc123 true\n") == ("active", "abc123", True)
    assert swarm.parse_state("inactive  false\n")[0] == "inactive"
    assert parse_nodes("id1 srv1 ready active 10.0.0.5 mysite.db=true,\nid2 srv2 down drain 10.0.0.6\n") == {
        "id1": {"hostname": "srv1", "state": "ready", "availability": "active", "address": "10.0.0.5",
                "labels": "mysite.db=true,"},
        "id2": {"hostname": "srv2", "state": "down", "availability": "drain", "address": "10.0.0.6", "labels": ""}}

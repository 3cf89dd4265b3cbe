"""The cassandra role's TLS: the cassandra.yaml of each level (rendered by Ansible from the role's
defaults, vars and template) read back to its level, and the rolling restarts that move a ring
between plaintext and TLS one level at a time (roles/cassandra/filter_plugins/cassandra_tls.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "cassandra_tls", ROOT / "roles" / "cassandra" / "filter_plugins" / "cassandra_tls.py"
)
tls = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tls)

PLAIN, ACCEPTS, SENDS, ONLY = 0, 1, 2, 3


def compatible(a: int, b: int) -> bool:
    """Two nodes talk both ways when each accepts what the other sends."""

    def accepts_plain(level: int) -> bool:
        return level <= SENDS

    def accepts_tls(level: int) -> bool:
        return level >= ACCEPTS

    def sends_tls(level: int) -> bool:
        return level >= SENDS

    def hears(receiver: int, sender: int) -> bool:
        return accepts_tls(receiver) if sends_tls(sender) else accepts_plain(receiver)

    return hears(a, b) and hears(b, a)


def roll(levels: list[int], target: int) -> list[list[int]]:
    """Every state of the ring while the role moves it: the steps, then the target, each a
    rolling restart in which one node after another takes its new level."""
    states = [list(levels)]
    current = list(levels)
    for step in [*tls.cassandra_tls_steps(levels, target), target]:
        for index, before in enumerate(current):
            current[index] = (
                target if step == target else tls.cassandra_tls_step_level(before, step, target)
            )
            states.append(list(current))
    return states


@pytest.mark.parametrize(
    ("levels", "target", "steps"),
    [
        ([PLAIN, PLAIN, PLAIN], ONLY, [ACCEPTS, SENDS]),
        ([ONLY, ONLY, ONLY], ONLY, []),
        ([SENDS, SENDS, SENDS], ONLY, []),
        ([ACCEPTS, SENDS, SENDS], ONLY, [SENDS]),
        ([ONLY, ONLY, ONLY], PLAIN, [SENDS, ACCEPTS]),
        ([ACCEPTS, ACCEPTS], PLAIN, []),
        ([PLAIN, PLAIN], PLAIN, []),
        ([-1, -1, -1], ONLY, []),  # a first install: no ring to keep together
        ([PLAIN, -1, PLAIN], ONLY, [ACCEPTS, SENDS]),  # a new node joins during the move
    ],
)
def test_steps_between_the_ring_and_the_target(levels, target, steps):
    assert tls.cassandra_tls_steps(levels, target) == steps


@pytest.mark.parametrize(
    ("levels", "target"),
    [
        ([PLAIN] * 3, ONLY),
        ([ONLY] * 3, PLAIN),
        ([ACCEPTS, PLAIN, ACCEPTS], ONLY),  # a move that stopped half way
        ([SENDS, ONLY, ONLY], PLAIN),
        ([ACCEPTS, SENDS, SENDS], ONLY),
    ],
)
def test_every_pair_of_nodes_keeps_talking_through_the_whole_move(levels, target):
    states = roll(levels, target)
    assert states[-1] == [target] * len(levels)
    for state in states:
        for a in state:
            for b in state:
                assert compatible(a, b), (state, states)


def test_a_direct_move_would_split_the_ring():
    """Why the steps: a node at TLS only and one still at plaintext do not hear each other."""
    assert not compatible(PLAIN, ONLY) and not compatible(PLAIN, SENDS)
    assert not compatible(ACCEPTS, ONLY)
    assert compatible(PLAIN, ACCEPTS) and compatible(ACCEPTS, SENDS) and compatible(SENDS, ONLY)


def test_a_node_further_along_stays_and_a_new_node_takes_the_step():
    assert tls.cassandra_tls_step_level(SENDS, ACCEPTS, ONLY) == SENDS
    assert tls.cassandra_tls_step_level(PLAIN, ACCEPTS, ONLY) == ACCEPTS
    assert tls.cassandra_tls_step_level(ACCEPTS, SENDS, PLAIN) == ACCEPTS
    assert tls.cassandra_tls_step_level(ONLY, SENDS, PLAIN) == SENDS
    assert tls.cassandra_tls_step_level(-1, SENDS, ONLY) == SENDS
    with pytest.raises(AnsibleFilterError):
        tls.cassandra_tls_step_level(4, 1, 3)


def test_plan_of_a_ring_from_the_hosts_facts():
    hostvars = {
        "node1": {"cassandra_tls_level_before": 0},
        "node2": {"cassandra_tls_level_before": "0"},
        "node3": {"cassandra_tls_level_before": 0},
    }
    plan = tls.cassandra_tls_plan(["node1", "node2", "node3"], hostvars, "3")
    assert plan == {
        "steps": [1, 2],
        "levels": {"node1": 0, "node2": 0, "node3": 0},
        "missing": [],
    }
    # A host left out of the run (--limit): its level is unknown, the role refuses the move.
    del hostvars["node3"]["cassandra_tls_level_before"]
    assert tls.cassandra_tls_plan(["node1", "node2", "node3"], hostvars, 3)["missing"] == ["node3"]
    assert tls.cassandra_tls_plan(["node1", "node2", "unknown"], hostvars, 3)["missing"] == [
        "unknown"
    ]
    # One node has no peer to lose: straight to the target.
    assert tls.cassandra_tls_plan("node1", hostvars, 3)["steps"] == []


def test_level_of_configurations_the_role_did_not_write():
    assert tls.cassandra_tls_level_of(None) == -1
    assert tls.cassandra_tls_level_of({}) == -1
    assert tls.cassandra_tls_level_of({"cluster_name": "x"}) == PLAIN
    internode_all = {"server_encryption_options": {"internode_encryption": "all"}}
    assert tls.cassandra_tls_level_of(internode_all) == ONLY
    both = {"server_encryption_options": {"internode_encryption": "dc", "optional": "true"}}
    assert tls.cassandra_tls_level_of(both) == SENDS


# The role's own cassandra.yaml at each level, rendered by Ansible.

PLAY = """
- hosts: all
  gather_facts: false
  vars_files:
    - {root}/roles/cassandra/defaults/main.yml
    - {root}/roles/cassandra/vars/main.yml
  tasks:
    - name: Render cassandra.yaml at each TLS level
      ansible.builtin.template:
        src: {root}/roles/cassandra/templates/cassandra.yaml.j2
        dest: "{out}/level{{{{ item }}}}.yaml"
        mode: "0600"
      loop: [0, 1, 2, 3]
      vars:
        cassandra_tls_level: "{{{{ item }}}}"
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[int, dict]:
    out = tmp_path_factory.mktemp("cassandra-yaml")
    inventory = {
        "all": {
            "hosts": {
                "node1": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "ansible_host": "10.0.0.11",
                }
            },
            "children": {"cassandra": {"hosts": {"node1": {}}}},
        }
    }
    play = PLAY.format(root=ROOT, out=out)
    extra = ("-e", "tls_keystore_password=unit-test-keystore")
    result = localplay.run(out, inventory, play, *extra, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return {level: yaml.safe_load((out / f"level{level}.yaml").read_text()) for level in range(4)}


def test_each_rendered_level_reads_back_as_itself(rendered):
    for level, config in rendered.items():
        assert config["listen_address"] == "10.0.0.11"
        assert tls.cassandra_tls_level_of(config) == level, config


def test_plaintext_writes_no_encryption_settings(rendered):
    assert "server_encryption_options" not in rendered[0]
    assert "client_encryption_options" not in rendered[0]


def test_tls_only_uses_the_tls_roles_pkcs12_stores_both_ways(rendered):
    server = rendered[ONLY]["server_encryption_options"]
    client = rendered[ONLY]["client_encryption_options"]
    assert server == {
        "internode_encryption": "all",
        "optional": False,
        "keystore": "/etc/lab-tls/keystore.p12",
        "keystore_password": "unit-test-keystore",
        "truststore": "/etc/lab-tls/truststore.p12",
        "truststore_password": "unit-test-keystore",
        "store_type": "PKCS12",
        "accepted_protocols": ["TLSv1.2", "TLSv1.3"],
        "require_client_auth": True,
        "require_endpoint_verification": True,
    }
    assert client == {
        "enabled": True,
        "optional": False,
        "keystore": "/etc/lab-tls/keystore.p12",
        "keystore_password": "unit-test-keystore",
        "store_type": "PKCS12",
        "accepted_protocols": ["TLSv1.2", "TLSv1.3"],
    }


def test_the_levels_in_between_accept_both_on_both_ports(rendered):
    for level, internode in ((ACCEPTS, "none"), (SENDS, "all")):
        server = rendered[level]["server_encryption_options"]
        assert (server["internode_encryption"], server["optional"]) == (internode, True)
        assert server["require_client_auth"] is True
        client = rendered[level]["client_encryption_options"]
        assert (client["enabled"], client["optional"]) == (True, True)


def test_the_roles_repeat_the_tls_roles_defaults():
    """The cassandra role and the clients' roles name the tls role's files and password."""
    tls_defaults = yaml.safe_load((ROOT / "roles/tls/defaults/main.yml").read_text())
    cassandra = yaml.safe_load((ROOT / "roles/cassandra/defaults/main.yml").read_text())
    tls_dir, password = tls_defaults["tls_dir"], tls_defaults["tls_keystore_password"]
    assert cassandra["cassandra_tls_dir"] == "{{ tls_dir | default('" + tls_dir + "') }}"
    assert cassandra["cassandra_tls_keystore_password"] == (
        "{{ tls_keystore_password | default('" + password + "') }}"
    )
    assert cassandra["cassandra_tls_group"] == (
        "{{ tls_group | default('" + tls_defaults["tls_group"] + "') }}"
    )
    assert cassandra["cassandra_tls"] is True
    for role, prefix in (("movielens", "movielens"), ("movielens_web", "movielens_web")):
        defaults = yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text())
        assert defaults[f"{prefix}_cassandra_tls"] == "{{ cassandra_tls | default(true) }}"
        assert defaults[f"{prefix}_cassandra_ca"] == (
            "{{ tls_dir | default('" + tls_dir + "') }}/ca.crt"
        )
    jupyter = yaml.safe_load((ROOT / "roles/jupyter/defaults/main.yml").read_text())
    assert jupyter["jupyter_cassandra_tls"] == "{{ cassandra_tls | default(true) }}"
    assert jupyter["jupyter_cassandra_truststore"] == (
        "{{ tls_dir | default('" + tls_dir + "') }}/truststore.p12"
    )
    assert jupyter["jupyter_cassandra_truststore_password"] == (
        "{{ tls_keystore_password | default('" + password + "') }}"
    )

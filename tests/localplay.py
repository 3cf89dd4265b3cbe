"""Run a play on this machine (ansible-playbook with a local connection), as the unit tests do
that run a role or render its templates into a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_host(groups, variables: dict | None = None, address: str = "10.0.0.11") -> dict:
    """An inventory of one host, node1 at `address`, reached locally, in each of `groups`."""
    host = {
        "ansible_host": address,
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
    }
    return {
        "all": {
            "hosts": {"node1": host},
            "children": {group: {"hosts": {"node1": {}}} for group in groups},
            "vars": variables or {},
        }
    }


def run(
    directory: Path,
    inventory: dict,
    play: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess:
    """Write the inventory (inventory.json) and the play (play.yml) into `directory` and run
    ansible-playbook from the project's root with the playbooks' filter plugins and `args`."""
    (directory / "inventory.json").write_text(json.dumps(inventory))
    (directory / "play.yml").write_text(play)
    command = [str(Path(sys.executable).parent / "ansible-playbook")]
    command += ["-i", str(directory / "inventory.json"), str(directory / "play.yml"), *args]
    filters = str(ROOT / "playbooks" / "filter_plugins")
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_FILTER_PLUGINS": filters, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def render(
    directory: Path, inventory: dict, vars_files, tasks: list, facts: str, *args: str
) -> dict:
    """Run ``tasks`` on node1 with ``vars_files``, then write ``facts`` (a template of JSON)
    to facts.json; returns what it rendered. ``args`` go to ansible-playbook (e.g. ``-e``).
    Fails the test when the play fails."""
    copy = {"content": facts, "dest": f"{directory}/facts.json", "mode": "0644"}
    play = {
        "hosts": "node1",
        "gather_facts": False,
        "vars_files": [str(path) for path in vars_files],
        "tasks": [*tasks, {"ansible.builtin.copy": copy}],
    }
    result = run(directory, inventory, json.dumps([play]), *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((directory / "facts.json").read_text())

"""ansible.cfg's strategy (playbooks/strategy_plugins/mitogen_linear.py): Mitogen's linear
strategy where Mitogen is installed, Ansible's own linear strategy with a warning where not."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import ansible_mitogen.affinity
import ansible_mitogen.strategy
import pytest
from ansible.plugins.strategy.linear import StrategyModule as Linear

from tests import localplay

PLUGIN = localplay.ROOT / "playbooks" / "strategy_plugins" / "mitogen_linear.py"


def load_plugin():
    spec = importlib.util.spec_from_file_location("lab_strategy_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_strategy_is_mitogens_where_mitogen_is_installed():
    strategy = load_plugin().StrategyModule
    assert issubclass(strategy, ansible_mitogen.strategy.StrategyMixin)
    assert issubclass(strategy, Linear)
    # Mitogen's CPU pinning is off: its no-op policy.
    assert type(ansible_mitogen.affinity.policy) is ansible_mitogen.affinity.Policy


def test_without_mitogen_it_is_ansibles_linear_strategy_with_a_warning(monkeypatch):
    for name in [name for name in sys.modules if name.startswith("ansible_mitogen")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ansible_mitogen", None)
    warnings = []
    module = load_plugin()
    monkeypatch.setattr(module.Display, "warning", lambda self, msg, **kw: warnings.append(msg))
    monkeypatch.setattr(Linear, "__init__", lambda self, tqm: None)

    strategy = module.StrategyModule(tqm=None)

    assert isinstance(strategy, Linear)
    assert [w for w in warnings if "Mitogen is not installed" in w]


@pytest.mark.parametrize("strategy", ["mitogen_linear", "linear"])
def test_a_play_runs_with_the_projects_strategy_and_with_ansibles(tmp_path, strategy):
    """The project's ansible.cfg runs a play's modules in Mitogen's interpreter (the task's
    parent process); ANSIBLE_STRATEGY=linear in one Ansible starts for the task."""
    parent = {
        "ansible.builtin.shell": "tr '\\0' ' ' < /proc/$PPID/cmdline",
        "register": "parent",
        "changed_when": False,
    }
    show = {"ansible.builtin.debug": {"msg": "parent: {{ parent.stdout }}"}}
    # What the play runs may use every CPU this test may (Mitogen pins none of its processes).
    cpus = {
        "ansible.builtin.shell": "grep Cpus_allowed_list /proc/self/status",
        "register": "cpus",
        "changed_when": False,
    }
    show_cpus = {"ansible.builtin.debug": {"msg": "cpus: {{ cpus.stdout.split()[-1] }}"}}
    play = [{"hosts": "node1", "gather_facts": False, "tasks": [parent, show, cpus, show_cpus]}]
    result = localplay.run(
        tmp_path, localplay.one_host([]), json.dumps(play), env={"ANSIBLE_STRATEGY": strategy}
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if "parent: " in line]
    assert ("mitogen" in line) == (strategy == "mitogen_linear"), line
    assert ("AnsiballZ" in line) == (strategy == "linear"), line
    assert "Mitogen is not installed" not in result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "cpus: " in line]
    mine = Path("/proc/self/status").read_text().split("Cpus_allowed_list:")[1].split()[0]
    assert line.split("cpus: ")[1].strip(" '\"") == mine, line

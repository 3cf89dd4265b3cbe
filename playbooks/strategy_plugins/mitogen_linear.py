"""Ansible's linear strategy through Mitogen (ansible.cfg: strategy = mitogen_linear).

Mitogen keeps one Python interpreter per host and user over the SSH connection and sends it the
modules, where Ansible starts a new one for every task: the same playbooks, two to three times
faster on this stack's hundreds of small tasks (docs/benchmarks.md). tools/bootstrap installs
it into .venv (requirements.txt). Where Ansible runs without it (an ansible-playbook on the
PATH), this is Ansible's own linear strategy, with a warning. ANSIBLE_STRATEGY=linear turns
Mitogen off for a run.
"""

from __future__ import annotations

from ansible.utils.display import Display

try:
    import ansible_mitogen.affinity
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError:
    from ansible.plugins.strategy.linear import StrategyModule as _Linear

    class StrategyModule(_Linear):
        def __init__(self, tqm):
            Display().warning(
                "Mitogen is not installed (tools/bootstrap installs it into .venv): "
                "running with Ansible's linear strategy"
            )
            super().__init__(tqm)

else:
    # Mitogen pins Ansible's processes to CPUs of its choosing, and every process they start
    # inherits the pin: on two cores, all of them (the commands a play runs on this machine, the
    # test hosts that systemd-nspawn boots from such a command, and their daemons) share one
    # core while Mitogen's multiplexer keeps the other. No pinning: the kernel places them.
    ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()
    _Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Base):
        pass

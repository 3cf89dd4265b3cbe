"""Benchmark: converging the whole stack and the pipeline on a fresh Debian 12 test host.

    .venv/bin/python -m tools.bench.stack          # the mirror served as `make up` does

Boots a fresh test host `bench` (SSH port 2240), converges playbooks/site.yml and then
playbooks/pipeline_setup.yml with the local inventory's settings (first converge), runs both
again (second converge: it must change nothing), reads the resident memory of every daemon,
destroys the host (unless --keep), and writes the figures to docs/benchmarks/stack.json.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import yaml

from tools.bench import common
from tools.testhost import machine

PLAYBOOKS = ["playbooks/site.yml", "playbooks/pipeline_setup.yml"]
# ansible-playbook of the virtual environment this runs in.
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# A benchmark host on this machine's network (by default: its figures compare with those of
# earlier runs): the servers on loopback, the mirror served there, and no Kerberos realm, whose
# names need an address of the host's own. A host with an address of its own takes the local
# inventory's settings as they are (tools.bench.security: what secure mode costs).
LOOPBACK = {
    "apache_archive_mirror_url": f"http://127.0.0.1:{os.environ.get('LAB_MIRROR_PORT', '8790')}",
    "jupyter_ip": "127.0.0.1",
    "hadoop_bind_host": "127.0.0.1",
    "spark_bind_host": "127.0.0.1",
    "movielens_web_bind_host": "127.0.0.1",
    "kerberos_realm": "",
    # On this machine's network the host may not change the firewall (no CAP_NET_ADMIN).
    "hadoop_shuffle_firewall": False,
}


def inventory(
    inst: machine.Instance,
    out: Path,
    host_vars: dict | None = None,
    empty_groups: tuple[str, ...] = (),
) -> Path:
    """The local inventory (inventories/local) pointed at the benchmark host (on loopback with
    LOOPBACK, unless it has an address of its own), with host_vars added to the host's
    variables and the groups of empty_groups left without a host."""
    hosts = yaml.safe_load((common.ROOT / "inventories/local/hosts.yml").read_text())
    loopback = not inst.network_address
    for group in (("kerberos_kdc",) if loopback else ()) + tuple(empty_groups):
        hosts["all"]["children"][group] = {}
    lab = hosts["all"]["children"]["lab"]["hosts"]["lab"]
    lab.update(
        ansible_host=inst.address,
        ansible_port=inst.port,
        ansible_user=inst.user,
        ansible_ssh_private_key_file=inst.identity_file,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "hosts.yml").write_text(yaml.safe_dump(hosts))
    # The settings that differ from the lab's go into host_vars/lab.yml: in hosts.yml they would
    # lose to group_vars/all.yml, the host `lab` sharing its name with the group `lab`.
    (out / "host_vars").mkdir(exist_ok=True)
    settings = {**(LOOPBACK if loopback else {}), **(host_vars or {})}
    (out / "host_vars" / "lab.yml").write_text(yaml.safe_dump(settings))
    group_vars = out / "group_vars"
    if group_vars.exists() or group_vars.is_symlink():
        group_vars.unlink()
    group_vars.symlink_to(common.ROOT / "inventories/local/group_vars")
    return out / "hosts.yml"


def converge(hosts: Path, label: str, extra_vars: tuple[str, ...] = ()) -> dict:
    """Run PLAYBOOKS on the inventory HOSTS (each "-e" of EXTRA_VARS added); seconds, changes."""
    seconds, changed = 0.0, 0
    for playbook in PLAYBOOKS:
        took, result = common.timed(
            [str(ANSIBLE_PLAYBOOK), "-i", str(hosts), *(f"-e{v}" for v in extra_vars), playbook],
            cwd=common.ROOT,
        )
        if result.returncode != 0:
            sys.exit(f"bench: {label} converge of {playbook} failed:\n{result.stdout[-3000:]}")
        seconds += took
        recap = result.stdout.split("PLAY RECAP")[-1]
        changed += sum(int(n) for n in re.findall(r"changed=(\d+)", recap))
        print(f"bench: {label} converge of {playbook}: {took:.0f}s", flush=True)
    return {"seconds": round(seconds), "changed_tasks": changed}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="bench")
    p.add_argument("--ssh-port", type=int, default=2240)
    p.add_argument("--keep", action="store_true", help="leave the host running afterwards")
    args = p.parse_args(argv)
    if not ANSIBLE_PLAYBOOK.exists():
        sys.exit("bench: run it with the project's .venv/bin/python (tools/bootstrap)")
    inst = machine.create(args.host, args.ssh_port)
    try:
        hosts = inventory(inst, common.ROOT / "build" / "bench" / "inventory")
        first = converge(hosts, "first")
        second = converge(hosts, "second")
        memory = common.stack_memory_mib(args.host)
    finally:
        if not args.keep:
            machine.destroy(args.host)
    figures = {
        "command": ".venv/bin/python -m tools.bench.stack",
        "playbooks": PLAYBOOKS,
        "first_converge_s": first["seconds"],
        "second_converge_s": second["seconds"],
        "second_converge_changed_tasks": second["changed_tasks"],
        "memory_mib_by_user": memory,
        "memory_mib_total": sum(memory.values()),
    }
    path = common.write("stack", figures)
    for key, value in figures.items():
        print(f"  {key:32} {value}")
    print(f"bench: written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line: python -m tools.testhost create|destroy|poweroff|boot|list|ssh NAME."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from . import machine, network


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.testhost", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="boot a Debian 12 test host and print how to reach it")
    create.add_argument("name")
    create.add_argument("--ssh-port", type=int, default=2222)
    create.add_argument(
        "--address",
        default="",
        help="give the host a network namespace with this address of LAB_NET (SSH on port 22)",
    )
    poweroff = sub.add_parser("poweroff", help="cut a host's power (SIGKILL); its disk stays")
    poweroff.add_argument("name")
    boot = sub.add_parser("boot", help="boot a powered-off host again")
    boot.add_argument("name")
    destroy = sub.add_parser("destroy", help="power a test host off and delete it")
    destroy.add_argument("name")
    destroy.add_argument(
        "--cut-power",
        action="store_true",
        help="kill its processes at once instead of a clean power-off (it is deleted anyway)",
    )
    sub.add_parser("list", help="list the test hosts and whether they run")
    ssh = sub.add_parser("ssh", help="open a shell (or run a command) on a test host")
    ssh.add_argument("name")
    ssh.add_argument("remote", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    try:
        if args.command == "create":
            inst = machine.create(args.name, args.ssh_port, args.address)
            print(json.dumps(asdict(inst)))
        elif args.command == "poweroff":
            machine.poweroff(args.name)
            print(f"testhost: {args.name} powered off")
        elif args.command == "boot":
            machine.boot_again(args.name)
        elif args.command == "destroy":
            existed = machine.destroy(args.name, clean=not args.cut_power)
            print(f"testhost: {args.name} {'destroyed' if existed else 'was not there'}")
        elif args.command == "list":
            base = machine.cache_dir() / "machines"
            for state in sorted(base.iterdir()) if base.exists() else []:
                inst = machine.load(state.name)
                alive = bool(inst and machine._alive(inst.pid))
                where = f"{inst.address}:{inst.port}" if inst else "-"
                print(f"{state.name}\t{'running' if alive else 'stopped'}\tssh {where}")
        elif args.command == "ssh":
            inst = machine.load(args.name)
            if inst is None:
                return _fail(f"no test host named {args.name}")
            cmd = machine.ssh_command(inst, *args.remote)
            os.execvp(cmd[0], cmd)
    except (machine.TestHostError, network.NetworkError) as exc:
        return _fail(str(exc))
    return 0


def _fail(message: str) -> int:
    print(f"testhost: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

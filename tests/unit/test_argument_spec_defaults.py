"""The defaults written in the roles' argument specs resolve on any inventory.

Ansible templates a role's whole argument spec when it validates the role's arguments, the
documented defaults included: a default that names a variable the role does not define itself
(another role's, or an inventory's optional one such as kerberos_realm) fails the validation,
and with it the role, on every inventory that leaves the variable out, unless the name goes
through `default(...)`.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted(ROOT.glob("roles/*/meta/argument_specs.yml"))
# Variables every play has (magic variables, facts), and those Ansible gives a role.
ALWAYS = {
    "role_path",
    "inventory_hostname",
    "groups",
    "hostvars",
    "ansible_facts",
    "ansible_managed",
    "playbook_dir",
}


def role_variables(role: Path) -> set[str]:
    """The names the role defines itself (defaults and vars)."""
    names: set[str] = set()
    for part in ("defaults", "vars"):
        path = role / part / "main.yml"
        if path.exists():
            names |= set(yaml.safe_load(path.read_text()) or {})
    return names


def guarded(tree: nodes.Template) -> set[str]:
    """Names used as `name | default(...)` (or an attribute of name, so used)."""
    names = set()
    for node in tree.find_all(nodes.Filter):
        if node.name != "default":
            continue
        target = node.node
        while isinstance(target, nodes.Getattr | nodes.Getitem):
            target = target.node
        if isinstance(target, nodes.Name):
            names.add(target.name)
    return names


def unresolved(default: str, defined: set[str]) -> set[str]:
    tree = jinja2.Environment().parse(default)
    used = {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}
    # Names bound inside the expression itself (loop variables) are not the inventory's.
    bound = {node.name for node in tree.find_all(nodes.Name) if node.ctx == "store"}
    return used - bound - defined - ALWAYS - guarded(tree)


def spec_defaults():
    for path in SPECS:
        specs = yaml.safe_load(path.read_text())["argument_specs"]
        for entry, spec in specs.items():
            for name, option in (spec.get("options") or {}).items():
                default = option.get("default")
                if isinstance(default, str) and "{{" in default:
                    role = path.parent.parent
                    # The entry point's other options are given by whoever includes it.
                    options = set(spec["options"])
                    yield pytest.param(
                        role, options, name, default, id=f"{role.name}.{entry}.{name}"
                    )


@pytest.mark.parametrize(("role", "options", "name", "default"), list(spec_defaults()))
def test_a_documented_default_names_only_variables_it_can_resolve(role, options, name, default):
    missing = unresolved(default, role_variables(role) | options)
    assert not missing, (
        f"{role.name}'s argument spec: the default of {name} ({default!r}) names "
        f"{sorted(missing)}, which the role does not define: `| default(...)` them"
    )


def test_the_check_catches_an_inventory_variable_without_a_default():
    assert unresolved("{{ user }}/host@{{ kerberos_realm }}", {"user"}) == {"kerberos_realm"}
    assert unresolved("{{ user }}/host@{{ kerberos_realm | default('') }}", {"user"}) == set()
    assert unresolved("{{ tls_dir | default('/etc') }}/ca.crt", set()) == set()

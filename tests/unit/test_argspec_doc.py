"""The role variables reference: rendering of hand-written specs, the --check mode, and the
repository's docs/variables.md being up to date with its argument specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import argspec_doc
from tools.argspec_doc import (
    NO_DEFAULT,
    code,
    describe,
    flatten,
    main,
    markup,
    render,
    render_default,
    render_entry_point,
    type_text,
)

SPEC = {
    "short_description": "A small service",
    "description": ["Installs it from the C(catalog).", "Restarts it when I(needed)."],
    "options": {
        "svc_port": {"type": "int", "default": 8080, "description": "Port it listens on."},
        "svc_token": {
            "type": "str",
            "required": True,
            "no_log": True,
            "description": "Token a | b.",
        },
        "svc_mode": {"default": "a", "choices": ["a", "b"], "description": "Mode."},
        "svc_flags": {
            "type": "str",
            "default": "--one=1 --two=2 --three=3 --four=4 --five=5 --six=6",
            "description": ["Flags of the", "JVM."],
        },
        "svc_users": {
            "type": "list",
            "elements": "dict",
            "description": "Users.",
            "options": {"name": {"required": True, "description": "Name."}},
        },
    },
}

EXPECTED_ENTRY_POINT = """\
### Entry point `main`

A small service

Installs it from the `catalog`.

Restarts it when *needed*.

| variable | type | default | required | description |
| --- | --- | --- | --- | --- |
| `svc_port` | int | `8080` | no | Port it listens on. |
| `svc_token` | str |  | yes | Token a \\| b. Secret (`no_log`). |
| `svc_mode` | str | `a` | no | Mode. Choices: `a`, `b`. |
| `svc_flags` | str | `--one=1 --two=2 --three=3 --four=4 …` (in full below) | no | Flags \
of the JVM. |
| `svc_users` | list of dict |  | no | Users. |
| `svc_users[].name` | str |  | yes | Name. |

Defaults shortened in the table, in full:

```yaml
svc_flags: --one=1 --two=2 --three=3 --four=4 --five=5 --six=6
```
"""


def test_type_text():
    assert type_text({}) == "str"
    assert type_text({"type": "path"}) == "path"
    assert type_text({"type": "list"}) == "list"
    assert type_text({"type": "list", "elements": "str"}) == "list of str"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (120, "`120`"),
        (True, "`true`"),
        ("", "`''`"),
        ("/opt", "`/opt`"),
        ("3.6", "`'3.6'`"),
        ("{{ role_path }}/x", "`'{{ role_path }}/x'`"),
        ([], "`[]`"),
        ({}, "`{}`"),
        (["a", "b"], "`[a, b]`"),
        ({"a": 1, "b": [2]}, "`{a: 1, b: [2]}`"),
        (None, "`null`"),
    ],
)
def test_short_defaults_are_one_line_of_yaml_in_code(value, shown):
    assert render_default(value) == (shown, False)


def test_no_default_is_an_empty_cell():
    assert render_default(NO_DEFAULT) == ("", False)


def test_long_and_multi_line_defaults_are_shortened():
    assert render_default("x" * 50) == (f"`{'x' * 50}`", False)
    assert render_default("x" * 51) == (f"`{'x' * 40} …` (in full below)", True)
    assert render_default("first line\nsecond line\n") == ("`'first line …` (in full below)", True)
    numbers = "`[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 …` (in full below)"
    assert render_default(list(range(30))) == (numbers, True)


def test_flatten_names_suboptions_after_their_parent():
    options = {
        "a": {"type": "dict", "options": {"b": {}, "c": {"type": "list", "options": {"d": {}}}}},
        "e": None,
    }
    assert [name for name, _ in flatten(options)] == ["a", "a.b", "a.c", "a.c[].d", "e"]


def test_markup_becomes_markdown_on_one_line():
    text = "Use C(foo) or I(bar),\n  B(baz), U(https://x.org), L(docs, https://y.org) and V(1)."
    assert markup(text) == (
        "Use `foo` or *bar*, **baz**, <https://x.org>, [docs](https://y.org) and `1`."
    )


def test_describe_adds_choices_aliases_and_secrecy():
    option = {
        "description": ["One.", "Two C(x)."],
        "choices": ["on", 1],
        "aliases": ["old_name"],
        "no_log": True,
    }
    assert describe(option) == (
        "One. Two `x`. Choices: `'on'`, `1`. Aliases: `old_name`. Secret (`no_log`)."
    )
    assert describe({}) == ""


def test_code_with_a_backtick():
    assert code("a`b") == "`` a`b ``"


def test_entry_point_exact():
    assert "\n".join(render_entry_point("main", SPEC)) == EXPECTED_ENTRY_POINT


def test_entry_point_without_options():
    assert render_entry_point("noop", {"short_description": "Nothing"}) == [
        "### Entry point `noop`",
        "",
        "Nothing",
        "",
        "No variables.",
        "",
    ]


def test_document_exact():
    specs = {
        "alpha": {"main": {"options": {"alpha_x": {"type": "bool", "default": False}}}},
        "beta": {"main": {"short_description": "Beta", "options": {}}},
    }
    assert render(specs) == argspec_doc.HEADER + (
        "\n"
        "Roles: [alpha](#alpha), [beta](#beta).\n"
        "\n"
        "## alpha\n"
        "\n"
        "### Entry point `main`\n"
        "\n"
        "| variable | type | default | required | description |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| `alpha_x` | bool | `false` | no |  |\n"
        "\n"
        "## beta\n"
        "\n"
        "### Entry point `main`\n"
        "\n"
        "Beta\n"
        "\n"
        "No variables.\n"
    )


def write_role(roles: Path, name: str, text: str) -> Path:
    path = roles / name / "meta" / "argument_specs.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_roles_are_read_in_name_order_and_output_is_deterministic(tmp_path):
    roles = tmp_path / "roles"
    write_role(roles, "zeta", "argument_specs:\n  main:\n    options: {z_a: {type: int}}\n")
    write_role(roles, "alpha", "argument_specs:\n  main:\n    options: {a_b: {}, a_a: {}}\n")
    (roles / "no_specs" / "meta").mkdir(parents=True)
    specs = argspec_doc.load_specs(roles)
    assert list(specs) == ["alpha", "zeta"]
    assert list(specs["alpha"]["main"]["options"]) == ["a_b", "a_a"]
    assert render(specs) == render(argspec_doc.load_specs(roles))


def test_a_broken_spec_is_named(tmp_path, capsys):
    roles = tmp_path / "roles"
    path = write_role(roles, "bad", "argument_specs: [unclosed\n")
    assert main(["--roles", str(roles), "--out", str(tmp_path / "v.md")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"argspec_doc: error: cannot read {path}")
    path.write_text("main:\n  options: {}\n")
    assert main(["--roles", str(roles), "--out", str(tmp_path / "v.md")]) == 1
    assert f"{path}: no argument_specs mapping" in capsys.readouterr().err


def test_check_names_the_stale_file(tmp_path, capsys):
    roles = tmp_path / "roles"
    spec = write_role(roles, "one", "argument_specs:\n  main:\n    options: {one_x: {}}\n")
    out = tmp_path / "docs" / "variables.md"
    args = ["--roles", str(roles), "--out", str(out)]
    assert main([*args, "--check"]) == 1
    assert f"{out} is missing; generate it with: {argspec_doc.COMMAND}" in capsys.readouterr().err
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    assert "is up to date" in capsys.readouterr().out
    spec.write_text("argument_specs:\n  main:\n    options: {one_y: {}}\n")
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"argspec_doc: {out} is stale")
    assert f"regenerate it with: {argspec_doc.COMMAND}" in err
    assert "-| `one_x` |" in err and "+| `one_y` |" in err


def test_the_repository_reference_is_up_to_date(capsys):
    """docs/variables.md matches roles/*/meta/argument_specs.yml; if this fails, run
    .venv/bin/python -m tools.argspec_doc and commit the result."""
    status = main(["--check"])
    assert status == 0, capsys.readouterr().err

"""python -m tools.argspec_doc [--check]: the role variables reference, docs/variables.md.

Reads every roles/*/meta/argument_specs.yml and writes, per role and entry point, a table of
its variables: type, default (as YAML), required, description. Defaults too long for a table
cell are shortened there and given in full in a YAML block below the table.

--check writes nothing and fails, naming the file, when it differs from what would be written
(the unit tests run it, so a changed argument spec needs this command run again).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python -m tools.argspec_doc"
# Defaults longer than this (as one line of YAML) are shortened in the table.
INLINE_LIMIT = 50
SHORTENED_TO = 40
NO_DEFAULT = object()

HEADER = f"""\
# Role variables

<!-- Generated from roles/*/meta/argument_specs.yml by tools/argspec_doc.py; do not edit. -->

Every variable the roles accept, as the role's `meta/argument_specs.yml` declares it (Ansible
checks a role's variables against it before the role runs). After changing an argument spec,
regenerate this file (the unit tests fail while it is out of date):

```bash
{COMMAND}
```

An empty default means the argument spec declares none; the description and the role's
`defaults/main.yml` say where the value comes from.
"""


class ArgspecError(Exception):
    """A problem with an argument spec file, naming the file."""


def load_specs(roles_dir: Path) -> dict[str, dict[str, Any]]:
    """Role name -> its entry points (name -> spec), for every roles/*/meta/argument_specs.yml."""
    specs: dict[str, dict[str, Any]] = {}
    for path in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ArgspecError(f"cannot read {path}: {exc}") from exc
        entry_points = data.get("argument_specs") if isinstance(data, dict) else None
        if not isinstance(entry_points, dict):
            raise ArgspecError(f"{path}: no argument_specs mapping at the top")
        for name, spec in entry_points.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("options") or {}, dict):
                raise ArgspecError(f"{path}: entry point {name}: options must be a mapping")
        specs[path.parents[1].name] = entry_points
    return specs


def render(specs: Mapping[str, Mapping[str, Any]]) -> str:
    """The whole reference document for role name -> entry points."""
    lines = [HEADER.rstrip("\n"), ""]
    if specs:
        lines += ["Roles: " + ", ".join(f"[{role}](#{role})" for role in specs) + ".", ""]
    for role, entry_points in specs.items():
        lines += [f"## {role}", ""]
        for name, spec in entry_points.items():
            lines += render_entry_point(name, spec)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_entry_point(name: str, spec: Mapping[str, Any]) -> list[str]:
    """Heading, descriptions, the variables table and the long defaults of one entry point."""
    lines = [f"### Entry point `{name}`", ""]
    for paragraph in [spec.get("short_description"), *as_list(spec.get("description"))]:
        if paragraph:
            lines += [markup(paragraph), ""]
    rows = list(flatten(spec.get("options") or {}))
    if not rows:
        return [*lines, "No variables.", ""]
    lines += [
        "| variable | type | default | required | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    long_defaults: dict[str, Any] = {}
    for variable, option in rows:
        default = option.get("default", NO_DEFAULT)
        shown, is_long = render_default(default)
        if is_long:
            long_defaults[variable] = default
        cells = [
            code(variable),
            type_text(option),
            shown,
            "yes" if option.get("required") else "no",
            describe(option),
        ]
        lines.append("| " + " | ".join(cell(text) for text in cells) + " |")
    lines.append("")
    if long_defaults:
        lines += ["Defaults shortened in the table, in full:", "", "```yaml"]
        lines += block_yaml(long_defaults).rstrip("\n").split("\n")
        lines += ["```", ""]
    return lines


def flatten(options: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(name, option) for each option, then its suboptions as parent.name or parent[].name."""
    for name, spec in options.items():
        option = spec or {}
        yield prefix + name, option
        if option.get("options"):
            separator = "[]." if option.get("type") == "list" else "."
            yield from flatten(option["options"], prefix + name + separator)


def type_text(option: Mapping[str, Any]) -> str:
    """The option's type as Ansible reads it (str when absent), with the list's elements."""
    kind = str(option.get("type", "str"))
    if kind == "list" and option.get("elements"):
        return f"list of {option['elements']}"
    return kind


def render_default(value: Any) -> tuple[str, bool]:
    """(table cell text, whether it was shortened) for a default; an empty cell for none.

    The default is shown as one line of YAML in code; a longer or multi-line one is cut short
    and marked, and belongs in the block below the table.
    """
    if value is NO_DEFAULT:
        return "", False
    text = flow_yaml(value)
    if "\n" not in text and len(text) <= INLINE_LIMIT:
        return code(text), False
    return code(shorten(text.split("\n", 1)[0])) + " (in full below)", True


def shorten(line: str) -> str:
    """The start of a line, cut after a word when one ends late enough, marked with an ellipsis."""
    if len(line) > SHORTENED_TO:
        line = line[:SHORTENED_TO]
        space = line.rfind(" ")
        if space > SHORTENED_TO // 2:
            line = line[:space]
    return line.rstrip(" ,") + " …"


def flow_yaml(value: Any) -> str:
    """A value as YAML in flow style, on one line unless it holds a multi-line string."""
    text = yaml.safe_dump(
        value, default_flow_style=True, width=float("inf"), allow_unicode=True, sort_keys=False
    )
    return text.removesuffix("\n...\n").removesuffix("\n")


class _BlockDumper(yaml.SafeDumper):
    """Block style as in the roles' defaults: indented sequences, multi-line strings as |."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def block_yaml(values: Mapping[str, Any]) -> str:
    """name: value lines in YAML block style, as one would write them in group_vars."""
    return yaml.dump(
        dict(values),
        Dumper=_BlockDumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        width=72,
    )


def describe(option: Mapping[str, Any]) -> str:
    """The description on one line, followed by choices, aliases and whether it is secret."""
    parts = [markup(text) for text in as_list(option.get("description")) if text]
    if option.get("choices"):
        parts.append("Choices: " + ", ".join(code(flow_yaml(c)) for c in option["choices"]) + ".")
    if option.get("aliases"):
        parts.append("Aliases: " + ", ".join(code(str(a)) for a in option["aliases"]) + ".")
    if option.get("no_log"):
        parts.append("Secret (`no_log`).")
    return " ".join(parts)


_MARKUP = [
    (re.compile(r"\bL\(([^,()]+),\s*([^()]+)\)"), lambda m: f"[{m[1]}]({m[2]})"),
    (re.compile(r"\bR\(([^,()]+),\s*([^()]+)\)"), lambda m: m[1]),
    (re.compile(r"\b[CMOVE]\(([^()]+)\)"), lambda m: code(m[1])),
    (re.compile(r"\bI\(([^()]+)\)"), lambda m: f"*{m[1]}*"),
    (re.compile(r"\bB\(([^()]+)\)"), lambda m: f"**{m[1]}**"),
    (re.compile(r"\bU\(([^()]+)\)"), lambda m: f"<{m[1]}>"),
]


def markup(text: Any) -> str:
    """Ansible's documentation markup (C(), I(), B(), U(), L(), ...) as Markdown, on one line."""
    text = " ".join(str(text).split())
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text


def code(text: str) -> str:
    """Inline code, with a longer fence when the text holds a backtick."""
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def check(out: Path, text: str) -> str | None:
    """None when out holds text, else a message naming the stale file and the fix."""
    try:
        current = out.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{display(out)} is missing; generate it with: {COMMAND}"
    if current == text:
        return None
    diff = difflib.unified_diff(
        current.splitlines(), text.splitlines(), display(out), "generated", lineterm="", n=1
    )
    excerpt = list(diff)[:40]
    return "\n".join(
        [
            f"{display(out)} is stale: it differs from what roles/*/meta/argument_specs.yml give;"
            f" regenerate it with: {COMMAND}",
            *excerpt,
        ]
    )


def display(path: Path) -> str:
    """The path relative to the project when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.argspec_doc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--roles", type=Path, default=ROOT / "roles", help="the roles directory")
    p.add_argument("--out", type=Path, default=ROOT / "docs/variables.md", help="the reference")
    p.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        text = render(load_specs(args.roles))
    except ArgspecError as exc:
        print(f"argspec_doc: error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        problem = check(args.out, text)
        if problem:
            print(f"argspec_doc: {problem}", file=sys.stderr)
            return 1
        print(f"argspec_doc: {display(args.out)} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"argspec_doc: wrote {display(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

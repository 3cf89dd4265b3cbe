#!/usr/bin/python
"""Ansible module: write or check the manifest of a backup directory (sizes and SHA-256)."""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: backup_manifest
short_description: Write or check the manifest of a backup directory
description:
  - With I(state=present), writes C(manifest.json) in I(path) listing every other file below
    it with its size, its SHA-256 and what it holds (I(contents), by file name), plus I(info).
  - With I(state=verified), checks every file of the manifest against its size and SHA-256
    and fails, naming each file that is missing or differs, when one does not match. Changes
    nothing.
options:
  path: {description: The backup directory., type: path, required: true}
  state: {description: present or verified., type: str, default: present}
  contents:
    description: What each file holds, by its path relative to I(path) (state=present).
    type: dict
    default: {}
  info: {description: Anything else the manifest records (state=present)., type: dict, default: {}}
"""

RETURN = r"""
manifest: {description: The manifest (as written or as read)., type: dict, returned: always}
"""

MANIFEST = "manifest.json"
CHUNK = 1 << 20


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_of(root: str) -> list[str]:
    """Every file below root but the manifest, as sorted relative paths."""
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            relative = os.path.relpath(os.path.join(directory, name), root)
            if relative != MANIFEST:
                found.append(relative)
    return sorted(found)


def build(root: str, contents: dict, info: dict) -> dict:
    files = {}
    for relative in files_of(root):
        path = os.path.join(root, relative)
        files[relative] = {
            "size": os.path.getsize(path),
            "sha256": sha256(path),
            "what": contents.get(relative, ""),
        }
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total_size": sum(entry["size"] for entry in files.values()),
        "files": files,
        **info,
    }


def problems(root: str, manifest: dict) -> list[str]:
    """What differs between the files below root and the manifest (nothing: an empty list)."""
    found = []
    for relative, entry in sorted(manifest.get("files", {}).items()):
        path = os.path.join(root, relative)
        if not os.path.isfile(path):
            found.append(f"{relative} is missing")
        elif os.path.getsize(path) != entry["size"]:
            found.append(f"{relative} has {os.path.getsize(path)} bytes, not {entry['size']}")
        elif sha256(path) != entry["sha256"]:
            found.append(f"{relative} does not match its SHA-256")
    if not manifest.get("files"):
        found.append("the manifest lists no file")
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "verified"]},
            "contents": {"type": "dict", "default": {}},
            "info": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    root = module.params["path"]
    manifest_path = os.path.join(root, MANIFEST)
    if module.params["state"] == "verified":
        try:
            with open(manifest_path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"{root} is not a backup: cannot read {MANIFEST} ({exc})")
        found = problems(root, manifest)
        if found:
            module.fail_json(
                msg=f"The backup {root} does not match its manifest, nothing was restored: "
                + "; ".join(found),
                problems=found,
            )
        module.exit_json(changed=False, manifest=manifest)
    manifest = build(root, module.params["contents"], module.params["info"])
    if not module.check_mode:
        with open(manifest_path, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
    module.exit_json(changed=True, manifest=manifest)


if __name__ == "__main__":
    main()

"""A keyspace's schema and grants, as read from Cassandra, turned into the CQL that makes them
again on a rebuilt cluster.

    {{ lookup('file', 'schema.cql') | backup_schema_statements }} -> CREATE ... IF NOT EXISTS ...
    {{ permission_rows | backup_grant_statements('reco') }} -> GRANT SELECT ON KEYSPACE reco TO ...
"""

from __future__ import annotations

import re

# What DESCRIBE KEYSPACE writes that takes IF NOT EXISTS (functions take OR REPLACE instead).
CREATE = re.compile(
    r"^\s*CREATE\s+(KEYSPACE|TABLE|TYPE|INDEX|CUSTOM\s+INDEX|MATERIALIZED\s+VIEW)\s+"
    r"(?!IF\s+NOT\s+EXISTS)",
    re.IGNORECASE,
)
RESOURCE = re.compile(r"^<(keyspace|table) ([^>]+)>$")


def split_cql(text: str) -> list:
    """The statements of a CQL file as backup.yml writes it: each ends with ";" and a blank line
    (statements have no blank line inside)."""
    parts = re.split(r";[ \t]*\n[ \t]*\n", text.strip() + "\n\n")
    return [part.strip() for part in parts if part.strip()]


def backup_schema_statements(statements) -> list:
    """The statements of a schema or grants file (or a list of them), the create statements of
    DESCRIBE KEYSPACE (server-side DESCRIBE, Cassandra 4.0 and later) made idempotent; comments
    and anything else left out."""
    if isinstance(statements, str):
        statements = split_cql(statements)
    result = []
    for statement in statements:
        text = str(statement).strip().rstrip(";").strip()
        if text.upper().startswith("CREATE"):
            text = CREATE.sub(lambda m: f"CREATE {m.group(1)} IF NOT EXISTS ", text, 1)
        elif not text.upper().startswith("GRANT"):
            continue
        result.append(text)
    return result


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def backup_grant_statements(rows: list, keyspace: str) -> list:
    """GRANT statements for the permissions of LIST ALL PERMISSIONS' rows (role, resource,
    permission) on the keyspace or one of its tables."""
    statements = []
    for row in rows:
        match = RESOURCE.match(str(row.get("resource", "")))
        if not match:
            continue
        kind, name = match.groups()
        if (name if kind == "keyspace" else name.split(".", 1)[0]) != keyspace:
            continue
        statement = f"GRANT {row['permission']} ON {kind.upper()} {name} TO {quote(row['role'])}"
        if statement not in statements:
            statements.append(statement)
    return statements


class FilterModule:
    def filters(self):
        return {
            "backup_schema_statements": backup_schema_statements,
            "backup_grant_statements": backup_grant_statements,
        }

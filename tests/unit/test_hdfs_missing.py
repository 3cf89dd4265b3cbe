"""hdfs-missing, which the roles' scripts ask which HDFS paths do not exist (the hadoop role
installs it), run against a stand-in `hdfs` that answers as Hadoop 3.4's FsShell does
(`hdfs dfs -stat '%n'`: a name a line on stdout, "stat: `/x': No such file or directory" on
stderr and exit 1 for a missing one, exit 255 when the connection or the login fails)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles/hadoop/files/hdfs-missing"

# The stand-in: /models and /user/jupyter are missing; the first FAILS calls fail as HDFS does
# when it cannot answer (each call is a line of `calls`).
FAKE_HDFS = r"""#!/bin/bash
here=$(dirname "$0")
echo "$*" >> "$here/calls"
if [ "$(wc -l < "$here/calls")" -le "$FAILS" ]; then
  echo "stat: Failed on local exception: javax.security.sasl.SaslException: GSS initiate failed" >&2
  exit 255
fi
shift 3  # dfs -stat %n
rc=0
for path in "$@"; do
  case "$path" in
    /models|/user/jupyter) echo "stat: \`$path': No such file or directory" >&2; rc=1 ;;
    *) basename "$path" ;;
  esac
done
exit $rc
"""


def run(tmp_path: Path, command: list[str], fails: int) -> tuple[subprocess.CompletedProcess, int]:
    """command with the stand-in `hdfs` and a `sleep` that does not wait; the calls of hdfs."""
    for name, text in (("hdfs", FAKE_HDFS), ("sleep", "#!/bin/sh\n")):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "calls").write_text("")
    done = subprocess.run(
        command,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "FAILS": str(fails)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, len((tmp_path / "calls").read_text().splitlines())


def missing(tmp_path: Path, *paths: str, fails: int = 0) -> tuple[subprocess.CompletedProcess, int]:
    return run(tmp_path, [str(SCRIPT), *paths], fails)


def test_names_the_missing_paths_only(tmp_path):
    done, calls = missing(tmp_path, "/input", "/models", "/tmps")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/models"]
    assert calls == 1


def test_names_nothing_when_every_path_exists(tmp_path):
    done, _ = missing(tmp_path, "/input", "/tmps")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_tells_apart_paths_of_the_same_name(tmp_path):
    done, _ = missing(tmp_path, "/user/jupyter", "/tmp/jupyter")
    assert done.stdout.split() == ["/user/jupyter"]


def test_an_error_is_asked_again_not_taken_for_a_missing_path(tmp_path):
    done, calls = missing(tmp_path, "/input", "/models", fails=2)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/models"]
    assert calls == 3


@pytest.mark.parametrize("paths", [("/input", "/models"), ("/input",)])
def test_an_error_that_lasts_fails_with_hdfs_message(tmp_path, paths):
    done, calls = missing(tmp_path, *paths, fails=99)
    assert done.returncode == 1
    assert calls == 5
    assert f"HDFS did not say whether {' '.join(paths)} exist" in done.stderr
    assert "GSS initiate failed" in done.stderr
    assert done.stdout == ""


def test_no_path_is_a_usage_error(tmp_path):
    done, calls = missing(tmp_path)
    assert done.returncode == 2
    assert "usage: hdfs-missing PATH..." in done.stderr
    assert calls == 0


def test_a_caller_under_set_e_stops_on_the_error(tmp_path):
    """As the roles' scripts call it: `missing=$(hdfs-missing ...)` ends the script."""
    script = f"set -euo pipefail\nmissing=$({SCRIPT} /input)\necho created $missing\n"
    done, _ = run(tmp_path, ["bash", "-c", script], fails=99)
    assert done.returncode == 1
    assert "created" not in done.stdout

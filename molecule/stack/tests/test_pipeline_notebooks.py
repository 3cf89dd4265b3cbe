"""The project's notebooks run top to bottom in the JupyterLab kernel against the stack, as a
person would run them, so they cannot rot: no cell may raise, and the plots are drawn.

Runs after test_page.py (file order), whose new user leaves recommendations in Cassandra."""

from __future__ import annotations

import json
import re

import pytest

from tests.pipelinehost import dataset

NOTEBOOKS = "/var/lib/jupyter/notebooks/project"
JUPYTER = "/opt/jupyter/venv/bin/jupyter"
# Plots each notebook draws on the stack (exploration: ratings, a user's history beside the
# recommendations; the tuning and benchmark plots need reports the stack may not have yet).
PLOTS = {"cluster_check": 0, "spark_kafka_demo": 0, "exploration": 2}


def execute(host, name: str) -> dict:
    out = f"/tmp/{name}.executed.ipynb"
    result = host.run(
        f"sudo -u jupyter bash -c 'cd /tmp && {JUPYTER} nbconvert --to notebook --execute "
        "--ExecutePreprocessor.kernel_name=pyspark --ExecutePreprocessor.timeout=600 "
        f"--output {out} {NOTEBOOKS}/{name}.ipynb'"
    )
    assert result.rc == 0, result.stderr[-3000:]
    return json.loads(host.file(out).content_string)


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_notebook_runs_against_the_stack(host, name):
    notebook = execute(host, name)
    outputs = [out for cell in notebook["cells"] for out in cell.get("outputs", [])]
    errors = [out for out in outputs if out["output_type"] == "error"]
    assert not errors, errors
    plots = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(plots) >= PLOTS[name]
    text = "".join(
        "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
        for out in outputs
    )
    assert "Traceback" not in text
    if name == "exploration":
        # The ingested ratings, read by the kernel's Spark session (on YARN with the kernel's
        # ticket in secure mode).
        read = re.search(rf"/processed/{dataset()}/ratings\.parquet: (\d+) ratings", text)
        assert read and int(read.group(1)) > 0, text[-3000:]

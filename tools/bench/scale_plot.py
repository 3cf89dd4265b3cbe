"""The plot of ``tools.bench.scale``: time of each step and memory against the ratings."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend)

TIMED = ("generate", "ingest", "train", "tune")
MEMORY = (("ingest", "java"), ("train", "java"), ("train", "python"), ("foldin", "python"))


def series(sizes: list[dict], pick) -> tuple[list, list, list, list]:
    """(x, y) of the steps that finished and (x, y) of those that broke, by ``pick(step)``."""
    ok_x, ok_y, bad_x, bad_y = [], [], [], []
    for size in sizes:
        for name, step in size["steps"].items():
            value = pick(name, step)
            if value is None:
                continue
            x = size.get("ratings", size["ratings_asked"])
            (ok_x if step["ok"] else bad_x).append(x)
            (ok_y if step["ok"] else bad_y).append(value)
    return ok_x, ok_y, bad_x, bad_y


def plot(sizes: list[dict], path: str) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in TIMED:
        ok_x, ok_y, bad_x, bad_y = series(
            sizes, lambda n, s, name=name: s["seconds"] if n == name else None
        )
        (line,) = left.plot(ok_x, ok_y, "o-", label=name)
        if bad_x:
            left.plot(bad_x, bad_y, "x", color=line.get_color(), markersize=10, mew=2)
    left.set(xscale="log", yscale="log", xlabel="ratings", ylabel="seconds")
    left.set_title("time per step (x: failed or stopped)")
    for name, kind in MEMORY:
        ok_x, ok_y, bad_x, bad_y = series(
            sizes, lambda n, s, name=name, kind=kind: s["peak_mib"][kind] if n == name else None
        )
        (line,) = right.plot(ok_x, ok_y, "o-", label=f"{name}: {kind}")
        if bad_x:
            right.plot(bad_x, bad_y, "x", color=line.get_color(), markersize=10, mew=2)
    model = [(s["ratings"], s["model_mib"]["total"]) for s in sizes if "model_mib" in s]
    if model:
        right.plot(*zip(*model, strict=True), "s--", color="grey", label="model on disk")
    right.set(xscale="log", yscale="log", xlabel="ratings", ylabel="MiB")
    right.set_title("peak resident memory, model size")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

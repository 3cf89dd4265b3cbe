"""tools.bench.stream's parts that need no stack: an earlier version's jobs and the table."""

from __future__ import annotations

from tools.bench import stream


def run(rate, p50, p99, served=100):
    return {"rate": rate, "messages": 100, "served": served, "p50_s": p50, "p99_s": p99}


def test_the_table_has_a_row_per_rate_and_a_column_per_variant():
    figures = {
        "rates": [200, 1000],
        "variants": {
            "now": {
                "runs": [run(200, 0.3, 0.9), run(1000, 0.8, 2.5)],
                "highest_sustained_rate": 1000,
            },
            "als-subset": {"runs": [run(200, 2.4, 6.8, 90)], "highest_sustained_rate": None},
        },
    }
    lines = stream.table(figures).splitlines()
    assert lines[0] == "| rate | now: p50 / p99, served | als-subset: p50 / p99, served |"
    assert lines[2] == "| 200/s | 0.3 / 0.9 s, 100 of 100 | 2.4 / 6.8 s, 90 of 100 |"
    assert lines[3] == "| 1000/s | 0.8 / 2.5 s, 100 of 100 |  |"
    assert lines[4] == "| highest sustained | 1000 | None |"


def test_rounds_combine_into_medians_sustained_only_when_every_round_was():
    def rounds_run(rate, p50, p99, sustained):
        return run(rate, p50, p99) | {"sustained": sustained}

    rounds = [
        {"options": "-t", "runs": [rounds_run(200, 0.5, 1.0, True), rounds_run(1000, 2, 9, False)]},
        {"options": "-t", "runs": [rounds_run(200, 0.7, 2.0, True), rounds_run(1000, 1, 2, True)]},
        {"options": "-t", "runs": [rounds_run(200, 0.6, 1.2, True), rounds_run(1000, 1, 3, True)]},
    ]
    combined = stream.combine(rounds)
    assert combined["runs"] == [
        {
            "rate": 200,
            "messages": 300,
            "served": 300,
            "p50_s": 0.6,
            "p99_s": 1.2,
            "sustained": True,
        },
        {"rate": 1000, "messages": 300, "served": 300, "p50_s": 1, "p99_s": 3, "sustained": False},
    ]
    assert combined["highest_sustained_rate"] == 200
    assert combined["rounds"] == rounds

"""The side-by-side benchmarks' own arithmetic: the inventory a mode gets, the table, the
memory monitoring adds."""

import yaml

from tests import inventory
from tools.bench import monitoring, security, sidebyside, stack
from tools.testhost import machine


def resolved(hosts) -> dict:
    """The host lab's variables as Ansible resolves them from the inventory written."""
    inventory.select(hosts)
    try:
        return inventory._hostvars()["lab"]
    finally:
        inventory._listing.cache_clear()


def bench_host(address: str = "") -> machine.Instance:
    """The benchmark host: on loopback (SSH on port 2240), or at an address of its own."""
    return machine.Instance(
        instance="bench",
        address=address or "127.0.0.1",
        port=22 if address else 2240,
        user="vagrant",
        identity_file="/k",
        root="/r",
        pid=1,
        network_address=address,
    )


def figures(total: int, by_user: dict, p50: float = 0.4) -> dict:
    return {
        "first_converge_s": 300,
        "memory_mib_total": total,
        "memory_mib_by_user": by_user,
        "latency": {"served": 4000, "messages": 4000, "p50_s": p50, "p99_s": 1.2},
        "producer": {"per_second": 25000},
    }


def test_a_mode_empties_its_groups_and_sets_its_variables(tmp_path):
    hosts = stack.inventory(
        bench_host(),
        tmp_path,
        {"movielens_stream_metrics_port": 0},
        empty_groups=("monitoring",),
    )
    groups = yaml.safe_load(hosts.read_text())["all"]["children"]
    assert groups["monitoring"] == {}
    assert groups["kafka"] == {"children": {"lab": {}}}
    lab = resolved(hosts)
    assert lab["movielens_stream_metrics_port"] == 0
    assert (lab["ansible_host"], lab["ansible_port"]) == ("127.0.0.1", 2240)
    assert (tmp_path / "group_vars").resolve() == (
        stack.common.ROOT / "inventories/local/group_vars"
    )


def test_a_host_on_loopback_has_no_realm_and_one_with_an_address_keeps_the_labs_settings(
    tmp_path,
):
    def lab(address: str) -> tuple[dict, dict]:
        hosts = stack.inventory(bench_host(address), tmp_path / (address or "loopback"))
        return yaml.safe_load(hosts.read_text())["all"]["children"], resolved(hosts)

    groups, host = lab("")
    assert groups["kerberos_kdc"] == {}
    assert host["kerberos_realm"] == "" and host["hadoop_bind_host"] == "127.0.0.1"
    assert host["apache_archive_mirror_url"].startswith("http://127.0.0.1:")
    groups, host = lab("10.77.0.30")
    assert groups["kerberos_kdc"] == {"children": {"lab": {}}}
    assert host["kerberos_realm"] == "MOVIELENS.LAB" and "hadoop_bind_host" not in host
    assert (host["ansible_host"], host["ansible_port"]) == ("10.77.0.30", 22)


def test_the_insecure_mode_turns_every_protection_off(tmp_path):
    """The mode's settings win over the lab's group_vars (the host shares the group's name)."""
    mode = security.MODES["insecure"]
    hosts = stack.inventory(bench_host("10.77.0.30"), tmp_path, mode.host_vars, mode.empty_groups)
    host = resolved(hosts)
    assert (host["kerberos_realm"], host["kafka_security"], host["cassandra_tls"]) == (
        "",
        "plaintext",
        False,
    )


def test_the_table_has_a_column_per_mode():
    text = sidebyside.table(
        {"monitored": figures(4000, {}), "unmonitored": figures(3700, {}, 0.39)},
        sidebyside.ROWS,
    )
    lines = text.splitlines()
    assert lines[0] == "| what | monitored | unmonitored |"
    assert lines[1] == "| --- | --- | --- |"
    assert "| memory of every daemon (resident) | 4000 MiB | 3700 MiB |" in lines
    assert "| latency p50 / p99 (median of the runs) | 0.4 / 1.2 s | 0.39 / 1.2 s |" in lines


def test_added_memory_is_the_difference_per_user():
    added = monitoring.added_memory(
        {
            "monitored": figures(0, {"kafka": 350.4, "prometheus": 160.2, "spark": 900}),
            "unmonitored": figures(0, {"kafka": 320.0, "spark": 905}),
        }
    )
    assert added == {"memory_mib_added_by_user": {"kafka": 30, "prometheus": 160, "spark": -5}}


def test_the_latency_is_the_median_run_after_a_warm_up(monkeypatch):
    p99s = iter([9.0, 1.5, 1.1, 2.4])  # the first run warms the stream up
    runs = []

    def latency_run(session, rate, seconds, settle, catalogue):
        run = {"rate": rate, "messages": 10, "served": 10, "p50_s": 0.3, "p99_s": next(p99s)}
        runs.append(run)
        return run

    monkeypatch.setattr(sidebyside.pipeline, "latency_run", latency_run)
    args = sidebyside.arguments("t").parse_args(["--repeats", "3"])
    figures = sidebyside.latency_runs(None, [1], args)
    assert figures["p99_s"] == 1.5
    assert [run["p99_s"] for run in figures["runs"]] == [1.5, 1.1, 2.4]
    assert len(runs) == 4

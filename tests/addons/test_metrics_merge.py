from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from addons.metrics import merge


def exposition(requests: int, depth: int, started: float, seconds: list[float]) -> str:
    reg = CollectorRegistry()
    c = Counter("schoolgate_requests", "Requests.", ["action"], registry=reg)
    c.labels("block").inc(requests)
    Gauge("schoolgate_incident_queue_depth", "Depth.", registry=reg).set(depth)
    Gauge("schoolgate_start_time_seconds", "Start.", registry=reg).set(started)
    Gauge("schoolgate_list_entries", "Entries.", registry=reg).set(100)
    h = Histogram("schoolgate_decision_seconds", "Decisions.", buckets=(0.001, 0.01), registry=reg)
    for s in seconds:
        h.observe(s)
    return generate_latest(reg).decode()


def samples(families):  # type: ignore[no-untyped-def]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_counters_and_histograms_add_up_gauges_follow_their_meaning() -> None:
    got = samples(merge([("1", exposition(3, 2, 200.0, [0.0005])), ("2", exposition(4, 5, 100.0, [0.005, 0.5]))]))
    assert got[("schoolgate_requests_total", (("action", "block"),))] == 7
    assert got[("schoolgate_incident_queue_depth", ())] == 7  # waiting in both
    assert got[("schoolgate_start_time_seconds", ())] == 100.0  # the earliest
    assert got[("schoolgate_list_entries", ())] == 100  # the same in every worker
    assert got[("schoolgate_decision_seconds_bucket", (("le", "0.001"),))] == 1
    assert got[("schoolgate_decision_seconds_bucket", (("le", "+Inf"),))] == 3
    assert got[("schoolgate_decision_seconds_count", ())] == 3
    assert got[("schoolgate_worker_requests_total", (("worker", "1"),))] == 3
    assert got[("schoolgate_worker_requests_total", (("worker", "2"),))] == 4


def test_one_worker_has_no_per_worker_series() -> None:
    got = samples(merge([("1", exposition(3, 0, 1.0, []))]))
    assert not [k for k in got if k[0].startswith("schoolgate_worker_")]

"""Adds up the metrics of several proxy worker processes into one exposition.

Counters and histograms are summed per label set. Gauges follow their meaning:
queue depths are summed; start times take the earliest; everything else
(timestamps, list entry counts, `up`, build info) takes the largest value,
because every worker reports the same figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

SUMMED_GAUGES = frozenset({"schoolgate_incident_queue_depth"})
EARLIEST_GAUGES = frozenset({"schoolgate_start_time_seconds"})


def _gauge_rule(name: str) -> str:
    if name in SUMMED_GAUGES:
        return "sum"
    if name in EARLIEST_GAUGES:
        return "min"
    return "max"


PER_WORKER = "schoolgate_requests"


def merge(texts: Iterable[tuple[str, str]]) -> list[Metric]:
    """The families of every (worker, text exposition), added up, in first-seen order;
    plus `schoolgate_worker_requests{worker}`, which shows how the kernel spreads the
    load over the workers."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    per_worker: dict[str, float] = {}
    for worker, text in texts:
        per_worker.setdefault(worker, 0.0)
        for fam in text_string_to_metric_families(text):
            if fam.name == PER_WORKER:
                per_worker[worker] += sum(s.value for s in fam.samples if s.name == PER_WORKER + "_total")
            known = families.get(fam.name)
            if known is None:
                known = families[fam.name] = Metric(fam.name, fam.documentation, fam.type, fam.unit)
                values[fam.name] = {}
            rule = _gauge_rule(fam.name) if fam.type == "gauge" else "sum"
            into = values[fam.name]
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                old = into.get(key)
                if old is None:
                    into[key] = s.value
                elif rule == "sum":
                    into[key] = old + s.value
                elif rule == "min":
                    into[key] = min(old, s.value)
                else:
                    into[key] = max(old, s.value)
    out = []
    for name, fam in families.items():
        fam.samples = [Sample(sname, dict(labels), value) for (sname, labels), value in values[name].items()]
        out.append(fam)
    if len(per_worker) > 1:
        fam = Metric("schoolgate_worker_requests", "Requests decided by each proxy worker process.", "counter")
        fam.samples = [Sample("schoolgate_worker_requests_total", {"worker": w}, v) for w, v in per_worker.items()]
        out.append(fam)
    return out


class Merged:
    """A prometheus_client collector over texts fetched at scrape time."""

    def __init__(self, fetch: Any):
        self.fetch = fetch  # () -> list[(worker, text)]

    def collect(self) -> Iterable[Metric]:
        return merge(self.fetch())

"""Metrics: Prometheus counters fed from verdicts, on schoolgate's own registry,
served on 127.0.0.1:9464/metrics by default.

Labels are bounded on purpose: action, reason, category (ids from
categories.yaml), level. Never a client, pseudonym, host or URL.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

from mitmproxy import http, tcp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from addons.core import __version__
from addons.core.hashes import KINDS, ImageCheck
from addons.core.inspection import REASONS as INSPECTION_REASONS
from addons.core.model import DECISION_SECONDS_KEY, IMAGE_KEY, SELFTEST_KEY, VERDICT_KEY, Verdict
from addons.core.settings import Settings
from addons.core.snapshot import Runtime

logger = logging.getLogger(__name__)

disable_created_metrics()  # no *_created series: they double the series count for no use here

COUNTED_KEY = "schoolgate.counted"
LEVELS = ("preschool", "primary", "lower-secondary", "upper-secondary")


def level_label(verdict: Verdict) -> str:
    return verdict.level if verdict.level in LEVELS else "none"


class _RuntimeCollector(Collector):
    """Figures read from the runtime at scrape time."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        stats = self.runtime.stats
        reloads = CounterMetricFamily("schoolgate_reload_failures", "Policy or list edits refused at reload.")
        reloads.add_metric([], stats.reload_failures)
        yield reloads
        refused = CounterMetricFamily("schoolgate_tls_refused",
                                      "HTTPS connections refused at the handshake (sni mode, passthrough hosts).")
        refused.add_metric([], stats.tls_refused)
        yield refused
        selective = CounterMetricFamily("schoolgate_tls_selective",
                                        "HTTPS connections of `tls: selective` groups: decrypted (by the reason the "
                                        "policy needs the content) or passed through unread.",
                                        labels=["decision"])
        for decision in ("passthrough", *INSPECTION_REASONS):
            selective.add_metric([decision], stats.tls_selective.get(decision, 0))
        yield selective
        limits = CounterMetricFamily("schoolgate_limits",
                                     "Bodies and work cut short: size (a body past its decoded-size cap: a page "
                                     "scanned at its start, an image left unhashed), time (a scan, "
                                     "personal-information check or image hash past scan_time_budget).",
                                     labels=["limit"])
        for name in ("size", "time"):
            limits.add_metric([name], stats.limits.get(name, 0))
        yield limits
        conns = CounterMetricFamily("schoolgate_connections_refused",
                                    "Connections of students and guests refused before any request: tunnel (another "
                                    "port, or bytes that are neither HTTP nor TLS), local (this gateway, loopback, "
                                    "link-local).", labels=["reason"])
        for name in ("tunnel", "local"):
            conns.add_metric([name], stats.connections_refused.get(name, 0))
        yield conns
        loaded = GaugeMetricFamily("schoolgate_policy_loaded_timestamp_seconds",
                                   "When the running policy was loaded.")
        loaded.add_metric([], stats.policy_loaded_at)
        yield loaded
        depth = stats.gauges.get("incident_queue_depth")
        g = GaugeMetricFamily("schoolgate_incident_queue_depth", "Incidents waiting to be written.")
        g.add_metric([], float(depth()) if depth else 0.0)
        yield g
        dropped = stats.gauges.get("incidents_dropped")
        c = CounterMetricFamily("schoolgate_incidents_dropped",
                                "Incidents not written because the writer fell behind (counted instead).")
        c.add_metric([], float(dropped()) if dropped else 0.0)
        yield c
        outbox = stats.gauges.get("export_outbox_depth")
        o = GaugeMetricFamily("schoolgate_export_outbox_depth", "Department reports waiting to be delivered.")
        o.add_metric([], float(outbox()) if outbox else 0.0)
        yield o
        delivered = stats.gauges.get("export_last_delivered")
        d = GaugeMetricFamily("schoolgate_export_last_delivery_timestamp_seconds",
                              "When the department last acknowledged an export or report (0: not yet).")
        d.add_metric([], float(delivered()) if delivered else 0.0)
        yield d
        snap = self.runtime.snapshot
        entries = GaugeMetricFamily("schoolgate_list_entries", "Entries per list source (configured files).",
                                    labels=["source", "category"])
        updated = GaugeMetricFamily("schoolgate_list_last_update_timestamp_seconds",
                                    "When each list source was last successfully updated.",
                                    labels=["source", "category"])
        if snap is not None:
            for source in getattr(snap.lists, "sources", ()):
                entries.add_metric([source.path, source.category], source.entries)
                updated.add_metric([source.path, source.category], source.updated)
        yield entries
        yield updated
        success = GaugeMetricFamily("schoolgate_list_source_last_success_timestamp_seconds",
                                    "When each list source last downloaded or confirmed its list.",
                                    labels=["source"])
        failing = GaugeMetricFamily("schoolgate_list_source_failing",
                                    "1 when the last update of a list source failed (the old copy stays).",
                                    labels=["source"])
        for name, st in sorted(stats.sources.items()):
            success.add_metric([name], float(st.get("last_success", 0.0)))
            failing.add_metric([name], 1.0 if st.get("last_error") else 0.0)
        yield success
        yield failing
        alive = stats.gauges.get("workers_alive")
        if alive is not None:
            w = GaugeMetricFamily("schoolgate_workers", "Proxy worker processes running (schoolgate run --workers).")
            w.add_metric([], float(alive()))
            yield w
        up = GaugeMetricFamily("schoolgate_start_time_seconds", "When this proxy process started.")
        up.add_metric([], stats.started_at)
        yield up


# -- `schoolgate run --workers N`: the leader's /metrics adds every worker up ------------
# Counters and histograms are summed per label set. Gauges follow their meaning:
# queue depths are summed; start times take the earliest; everything else
# (timestamps, list entry counts, `up`, build info) takes the largest value,
# because every worker reports the same figure.

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


class Metrics:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "schoolgate_requests", "Requests decided, by action, reason, category and school level.",
            ["action", "reason", "category", "level"], registry=self.registry)
        self.decision = Histogram(
            "schoolgate_decision_seconds", "Time to decide one request (policy and list lookups).",
            buckets=(0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.005, 0.01, 0.05),
            registry=self.registry)
        self.image_matches = Counter(
            "schoolgate_image_matches", "Images replaced because they matched an authority image-hash list, by "
            "how they matched (sha256, md5, pdq).", ["kind"], registry=self.registry)
        self.images_checked = Counter(
            "schoolgate_images_checked", "Images checked against the image-hash lists, by how: hashed, cached (PDQ "
            "known from an earlier identical image), exact_only, low_quality, unreadable, too_large.",
            ["result"], registry=self.registry)
        for kind in KINDS:
            self.image_matches.labels(kind)
        self.up = Gauge("schoolgate_up", "1 while the proxy is running.", registry=self.registry)
        Info("schoolgate_build", "schoolgate version.", registry=self.registry).info({"version": __version__})
        self.registry.register(_RuntimeCollector(runtime))
        self._server: Any = None
        self._thread: Any = None
        self.port: int | None = None

    def running(self) -> None:
        settings: Settings = self.runtime.settings
        self.runtime.stats.started_at = self.runtime.stats.started_at or time.time()
        self.up.set(1)
        if not settings.metrics_port:
            return
        host, port, registry = settings.metrics_host, settings.metrics_port, self.registry
        role = self.runtime.role
        if self.runtime.follower:  # private: the leader's endpoint adds this one in
            host, port = "127.0.0.1", 0
        elif role is not None and role.count > 1:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(Merged(self.all_workers))
        try:
            self._server, self._thread = start_http_server(port, host, registry=registry)
        except OSError as e:
            logger.error("Cannot serve metrics on %s:%s: %s. Fix: choose another metrics_port, or 0 to "
                         "turn metrics off.", host, port, e)
            return
        self.port = self.runtime.stats.metrics_port = self._server.server_port
        if not self.runtime.follower:
            logger.info("Prometheus metrics at http://%s:%s/metrics", host, self.port)

    def all_workers(self) -> list[tuple[str, str]]:
        """This process's metrics and every follower's, as text (read at scrape time)."""
        texts = [("1", generate_latest(self.registry).decode())]
        hub = self.runtime.worker_hub
        for index, port in sorted((hub.metrics_ports if hub else {}).items()):
            if not port:
                continue
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    texts.append((str(index + 1), r.read().decode()))
            except OSError as e:
                logger.warning("Metrics of proxy worker %d are missing from this scrape: %s", index, e)
        return texts

    def done(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def response(self, flow: http.HTTPFlow) -> None:
        self.observe(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.observe(flow)

    def http_connect_error(self, flow: http.HTTPFlow) -> None:
        self.observe(flow)

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        self.observe(flow)

    def observe(self, flow: http.HTTPFlow | tcp.TCPFlow) -> None:
        check: ImageCheck | None = flow.metadata.pop(IMAGE_KEY, None)
        if check is not None:
            self.images_checked.labels(check.result).inc()
            if check.match is not None:
                self.image_matches.labels(check.match.kind).inc()
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        if verdict is None or flow.metadata.get(COUNTED_KEY) is verdict or flow.metadata.get(SELFTEST_KEY):
            return
        flow.metadata[COUNTED_KEY] = verdict
        snap = self.runtime.snapshot
        category = verdict.category or "none"
        if snap is not None and category != "none" and category not in snap.categories.by_id:
            category = "other"  # never let an unexpected value grow the label set
        self.requests.labels(verdict.action.value, verdict.reason.value, category, level_label(verdict)).inc()
        seconds = flow.metadata.get(DECISION_SECONDS_KEY)
        if seconds is not None:
            self.decision.observe(seconds)

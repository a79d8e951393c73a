"""Prometheus metrics, in a registry of the app's own (no module globals: two
apps in one process, as in the tests, count apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OUTCOMES = ("applied", "late", "duplicate", "invalid", "unavailable", "rejected", "failed", "refused")


class Metrics:
    def __init__(self, runner_stats=None, store_forgotten=None):
        self.registry = CollectorRegistry()
        if store_forgotten is not None:
            self.registry.register(_Forgotten(store_forgotten))
        self.reports = Counter(
            "chat_recovery_reports",
            "Reports received, by what became of them: applied, late "
            "(applied after the window), duplicate, invalid, unavailable (store down), rejected "
            "(429), failed, refused (past a per-visitor limit)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.reports.labels(outcome)
        self.recoveries = Counter(
            "chat_recovery_recoveries_opened",
            "Visitor recoveries opened (first report of a visitor within its retention)",
            registry=self.registry,
        )
        self.conflicts = Counter(
            "chat_recovery_conflicts",
            "Conflicts in recoveries as reports were applied (each new conflict counted once per report that revealed it)",
            registry=self.registry,
        )
        self.latency = Histogram(
            "chat_recovery_submit_seconds",
            "Time to apply one report, store included",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.in_flight = Gauge("chat_recovery_reports_in_flight", "Reports being applied now", registry=self.registry)
        if runner_stats is not None:
            worker = Gauge(
                "chat_recovery_worker_events",
                "Replay worker events since start: steps, crashes, restarts, fallbacks",
                ["event"],
                registry=self.registry,
            )
            for name in ("steps", "crashes", "restarts", "fallbacks"):
                worker.labels(name).set_function(lambda name=name: runner_stats().get(name, 0))  # type: ignore[misc]  # the default binds the loop name

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Forgotten:
    """The embedded store's own counts (MemoryStore.forgotten), read at each scrape."""

    def __init__(self, counts):
        self.counts = counts

    def collect(self):
        family = CounterMetricFamily(
            "chat_recovery_store_documents_forgotten",
            "Visitor documents the embedded store let go, by why: purged (expired) or dropped (over --max-documents, "
            "the one expiring first)",
            labels=["why"],
        )
        for why in ("purged", "dropped"):
            family.add_metric([why], self.counts.get(why, 0))
        yield family

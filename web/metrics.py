"""Prometheus figures. Request latency is measured in each process; with several gunicorn workers
set PROMETHEUS_MULTIPROC_DIR (docs/deployment.md) so that a scrape sums every worker. Task, job and
outbox figures are read from the database at each scrape."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from engine.verification.gauges import Gauges


def registry_for_scrape() -> CollectorRegistry:
    """This process's metrics, or every worker's when several processes share a metrics folder."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    registry = CollectorRegistry()
    registry.register(_Process())
    return registry


class _Process(Collector):
    """The default registry's metrics (request latency, process figures) inside a fresh registry."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from REGISTRY.collect()


class DatabaseCollector(Collector):
    def __init__(self, figures: Gauges) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_tasks = GaugeMetricFamily("sijosku_open_tasks", "Tugas terbuka per tingkat", labels=["tingkat"])
        overdue = GaugeMetricFamily(
            "sijosku_overdue_tasks", "Tugas terbuka yang terlambat per tingkat", labels=["tingkat"]
        )
        for tier, count in sorted(self.figures.open_tasks.items()):
            open_tasks.add_metric([tier], count)
        for tier, count in sorted(self.figures.overdue_tasks.items()):
            overdue.add_metric([tier], count)
        runs = GaugeMetricFamily(
            "sijosku_job_runs", "Jalan tugas terjadwal menurut status (gagal = kegagalan)", labels=["job", "status"]
        )
        for (job, status), count in sorted(self.figures.job_runs.items()):
            runs.add_metric([job, status], count)
        backlog = GaugeMetricFamily("sijosku_outbox_backlog", "Peristiwa yang belum diantar ke pelanggannya")
        backlog.add_metric([], self.figures.outbox_backlog)
        failing = GaugeMetricFamily(
            "sijosku_email_failing", "Surel yang belum terkirim karena percobaan terakhirnya gagal"
        )
        failing.add_metric([], self.figures.email_failing)
        queued = GaugeMetricFamily("sijosku_email_queued", "Surel yang menunggu dikirim")
        queued.add_metric([], self.figures.email_queued)
        given_up = GaugeMetricFamily(
            "sijosku_email_given_up", "Surel yang tidak dicoba lagi: gagal sehari penuh, atau ditolak untuk selamanya"
        )
        given_up.add_metric([], self.figures.email_given_up)
        yield from (open_tasks, overdue, runs, backlog, failing, queued, given_up)

"""Shipped monitoring files: alert rules that Prometheus accepts, a Grafana
dashboard whose queries name metrics the proxy really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client import generate_latest

from addons.core.snapshot import Runtime
from addons.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def exported_metrics() -> set[str]:
    text = generate_latest(Metrics(Runtime()).registry).decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "counter":
                names.add(name + "_total")
            if kind == "histogram":
                names.update({name + "_bucket", name + "_count", name + "_sum"})
            if kind == "info":
                names.add(name + "_info")
    return names


def referenced(expr: str) -> set[str]:
    return set(re.findall(r"\b(schoolgate_[a-z_]+)", expr))


def test_alert_rules_are_valid_and_use_real_metrics() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is missing: run tests/system-deps.sh as root"
    out = subprocess.run([promtool, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    text = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    assert referenced(text) <= exported_metrics(), referenced(text) - exported_metrics()


def test_grafana_dashboard_uses_real_metrics() -> None:
    dash = json.loads((DEPLOY / "grafana" / "schoolgate-dashboard.json").read_text("utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = set().union(*(referenced(e) for e in exprs))
    assert used and used <= exported_metrics(), used - exported_metrics()


def test_systemd_units_are_hardened() -> None:
    for name in ("schoolgate-proxy.service", "schoolgate-dashboard.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        for directive in ("User=schoolgate", "ProtectSystem=strict", "Restart=on-failure", "NoNewPrivileges=yes",
                          "ProtectHome=yes", "PrivateTmp=yes"):
            assert directive in text, f"{name} lacks {directive}"


def test_nftables_example_is_valid() -> None:
    import os

    assert shutil.which("nft"), "nftables is missing: run tests/system-deps.sh as root"
    assert os.geteuid() == 0, "checking nftables rules needs root (CI runs as root)"
    ns = f"sgnft{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-c", "-f", str(DEPLOY / "nftables" / "schoolgate.nft")],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    finally:
        subprocess.run(["ip", "netns", "del", ns])

"""Shipped monitoring files: alert rules that Prometheus accepts, a Grafana
dashboard whose queries name metrics the proxy really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest

from addons.core.snapshot import Runtime
from addons.core.yamlsrc import parse
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
    for name in ("schoolgate-proxy.service", "schoolgate-dashboard.service", "schoolgate-department.service"):
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


# --- The department's Prometheus: remote write from schools, or federation ----------------------
PROMETHEUS = DEPLOY / "prometheus"
SCHOOL_REMOTE_WRITE = PROMETHEUS / "school-remote-write.yml"
DEPARTMENT_FEDERATION = PROMETHEUS / "department-federation.yml"
DEPARTMENT_ALERTS = PROMETHEUS / "department-alerts.yml"
DEPARTMENT_DASHBOARD = DEPLOY / "grafana" / "department-dashboard.json"
DEPARTMENT_FILES = (SCHOOL_REMOTE_WRITE, DEPARTMENT_FEDERATION, DEPARTMENT_ALERTS, DEPARTMENT_DASHBOARD)
SCHOOL_LABELS = {"school_id", "province", "district"}
# Label names that would point at a child, a device or a site visited. Matched as a part of a
# label name (split on "_"), and the longer ones anywhere in it ("hostname", "__address__").
FORBIDDEN_PARTS = {"client", "address", "addr", "host", "url", "path", "ip", "mac", "device",
                   "pseudonym", "child", "user", "pupil", "student"}
FORBIDDEN_ANYWHERE = {"client", "address", "host", "url", "path", "device", "pseudonym", "child"}
GRAFANA_VARS = {"$__range": "1d", "$__rate_interval": "5m", "$province": ".*", "$district": ".*",
                "$school_id": ".*"}


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool (Debian package prometheus) is missing: run tests/system-deps.sh as root"
    return path


def load_yaml(path: Path) -> Any:
    data, errors = parse(path.read_text("utf-8"), str(path))
    assert not errors, errors
    return data


def department_dashboard() -> dict[str, Any]:
    dash: dict[str, Any] = json.loads(DEPARTMENT_DASHBOARD.read_text("utf-8"))
    return dash


def files_named(data: Any) -> set[str]:
    """Values of every `*_file` key (password_file, ca_file, credentials_file, ...)."""
    if isinstance(data, dict):
        found = {v for k, v in data.items() if k.endswith("_file") and isinstance(v, str)}
        return found.union(*(files_named(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(files_named(v) for v in data))
    return set()


def installed_copy(config: Path, tmp_path: Path) -> Path:
    """The config as installed: /etc/prometheus/ is tmp_path, holding the rule files next to it
    (schoolgate-alerts.yml is the school's copy of alerts.yml) and placeholder secret files."""
    for f in PROMETHEUS.glob("*.yml"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "schoolgate-alerts.yml")
    text = config.read_text("utf-8").replace("/etc/prometheus/", f"{tmp_path}/")
    out = tmp_path / config.name
    out.write_text(text, "utf-8")
    for name in files_named(load_yaml(out)):
        path = Path(name) if Path(name).is_absolute() else tmp_path / name
        assert path.parent == tmp_path, f"{config.name}: {name} is not in /etc/prometheus"
        if not path.exists():
            path.write_text("placeholder\n")
    return out


def check_config(path: Path, *flags: str) -> str:
    out = subprocess.run([promtool(), "check", "config", *flags, str(path)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def rule_exprs(path: Path) -> list[str]:
    return [r["expr"] for g in load_yaml(path)["groups"] for r in g["rules"]]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in department_dashboard()["panels"] for t in p["targets"]]


def dashboard_queries() -> list[str]:
    variables = department_dashboard()["templating"]["list"]
    return [v["query"] for v in variables if v["type"] == "query"]


def label_names(expr: str) -> set[str]:
    """Label names a PromQL expression (or a Grafana label_values query) uses."""
    names = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", expr))
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)",
                            expr):
        names.update(n.strip() for n in group.split(",") if n.strip())
    names.update(re.findall(r"label_values\((?:.*,)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", expr))
    names.update(re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", expr))
    names.update(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", expr))
    return names


def forbidden(name: str) -> bool:
    lowered = name.lower()
    parts = set(filter(None, lowered.split("_")))
    return bool(parts & FORBIDDEN_PARTS) or any(word in lowered for word in FORBIDDEN_ANYWHERE)


def test_label_name_check_catches_identifying_labels() -> None:
    assert label_names('sum by (client_ip) (rate(x{host="a", school_id=~"$school_id"}[5m]))') == {
        "client_ip", "host", "school_id"}
    assert label_names('label_values(schoolgate_up{province=~"$province"}, district)') == {
        "province", "district"}
    assert all(forbidden(n) for n in ("client", "hostname", "__address__", "url_path", "src_ip",
                                      "device_id", "user"))
    assert not any(forbidden(n) for n in SCHOOL_LABELS | {"action", "reason", "category", "level",
                                                          "kind", "version", "le", "job"})


def test_department_configs_pass_promtool(tmp_path: Path) -> None:
    (tmp_path / "school").mkdir()
    (tmp_path / "department").mkdir()
    school = check_config(installed_copy(SCHOOL_REMOTE_WRITE, tmp_path / "school"))
    assert "schoolgate-alerts.yml" in school, school
    department = check_config(installed_copy(DEPARTMENT_FEDERATION, tmp_path / "department"))
    assert "department-alerts.yml" in department and "SUCCESS: 1 rule files found" in department, \
        department
    # The federation config loads the rules next to it, as shipped.
    assert load_yaml(DEPARTMENT_FEDERATION)["rule_files"] == ["department-alerts.yml"]


def test_school_config_also_runs_as_an_agent(tmp_path: Path) -> None:
    """The file's comments offer agent mode (buffers for days) after deleting rule_files."""
    config = load_yaml(installed_copy(SCHOOL_REMOTE_WRITE, tmp_path))
    del config["rule_files"]
    agent = tmp_path / "agent.yml"
    agent.write_text(yaml.safe_dump(json.loads(json.dumps(config))), "utf-8")
    check_config(agent, "--agent")


def test_department_alert_rules_pass_promtool() -> None:
    out = subprocess.run([promtool(), "check", "rules", str(DEPARTMENT_ALERTS)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_department_alerts_fire_for_the_right_school(tmp_path: Path) -> None:
    """The expressions (annotations left out) on made-up figures of three schools."""
    rules = json.loads(json.dumps(load_yaml(DEPARTMENT_ALERTS)))
    names = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            names.add(rule["alert"])
            assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
            del rule["annotations"]
    assert {"SchoolgateSchoolNotReporting", "SchoolgateSchoolListsStale",
            "SchoolgateSchoolKnownAbuseMaterial", "SchoolgateSchoolExportBacklog",
            "SchoolgateSchoolOldVersion"} <= names
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), "utf-8")

    def school(metric: str, sid: str, values: str, **labels: str) -> dict[str, str]:
        extra = "".join(f', {k}="{v}"' for k, v in labels.items())
        return {"series": f'{metric}{{school_id="{sid}", province="p", district="d"{extra}}}',
                "values": values}

    def alert(name: str, at: str, *sids: str, severity: str, **labels: str) -> dict[str, Any]:
        return {"eval_time": at, "alertname": name, "exp_alerts": [
            {"exp_labels": {"severity": severity, "school_id": s, "province": "p", "district": "d",
                            **labels}} for s in sids]}

    day = 86400
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            school("schoolgate_up", "a", "1x200"),
            school("schoolgate_up", "b", "1x30 _x170"),  # stops reporting after 30 minutes
            school("schoolgate_up", "c", "1x200"),
            school("schoolgate_requests_total", "a", "0x50 1x150", action="block", reason="illegal",
                   category="csam", level="primary"),
            school("schoolgate_requests_total", "c", "0+5x200", action="block", reason="category",
                   category="gambling", level="primary"),
            school("schoolgate_image_matches_total", "c", "0x100 2x100", kind="pdq"),
            # Test time starts at 0 (1970): a's list is 15 days old, c's is fresh.
            school("schoolgate_list_last_update_timestamp_seconds", "a", f"{-15 * day}x200",
                   source="x", category="adult"),
            school("schoolgate_list_last_update_timestamp_seconds", "c", "0x200", source="x",
                   category="adult"),
            school("schoolgate_export_outbox_depth", "a", "30x400"),
            school("schoolgate_export_outbox_depth", "c", "3x400"),
            school("schoolgate_up", "FILL-ME-IN", "1x200"),  # labels not filled in
        ],
        "alert_rule_test": [
            alert("SchoolgateSchoolNotReporting", "10m", severity="critical"),
            alert("SchoolgateSchoolNotReporting", "60m", "b", severity="critical"),
            alert("SchoolgateSchoolKnownAbuseMaterial", "40m", severity="critical"),
            alert("SchoolgateSchoolKnownAbuseMaterial", "60m", "a", severity="critical"),
            alert("SchoolgateSchoolKnownAbuseMaterial", "110m", "a", "c", severity="critical"),
            alert("SchoolgateSchoolListsStale", "190m", "a", severity="warning"),
            alert("SchoolgateSchoolExportBacklog", "190m", severity="warning"),
            alert("SchoolgateSchoolExportBacklog", "390m", "a", severity="warning"),
            alert("SchoolgateSchoolNotIdentified", "30m", severity="warning"),
            alert("SchoolgateSchoolNotIdentified", "90m", "FILL-ME-IN", severity="warning"),
        ],
    }, {
        "interval": "4m",  # a sample every 4 minutes (within the 5m look-back) for 8 days
        "input_series": [
            school("schoolgate_build_info", "a", "1x3000", version="2.0.0"),
            school("schoolgate_build_info", "b", "1x3000", version="2.0.0"),
            school("schoolgate_build_info", "c", "1x3000", version="1.9.0"),
        ],
        "alert_rule_test": [
            alert("SchoolgateSchoolOldVersion", "6d", severity="info"),
            alert("SchoolgateSchoolOldVersion", "8d", "c", severity="info", version="1.9.0"),
        ],
    }]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests), "utf-8")
    out = subprocess.run([promtool(), "test", "rules", str(tmp_path / "tests.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_department_files_use_real_metrics() -> None:
    exported = exported_metrics()
    for path in DEPARTMENT_FILES:
        # "schoolgate_" alone is the prefix of the keep/match regex schoolgate_.*, not a metric.
        used = referenced(path.read_text("utf-8")) - {"schoolgate_"}
        assert used <= exported, f"{path.name}: {sorted(used - exported)}"
    for expr in rule_exprs(DEPARTMENT_ALERTS) + dashboard_exprs():
        assert referenced(expr) and referenced(expr) <= exported, expr


def test_school_sends_only_schoolgate_series() -> None:
    config = load_yaml(SCHOOL_REMOTE_WRITE)
    assert set(config["global"]["external_labels"]) == SCHOOL_LABELS
    assert config["remote_write"], "no remote_write section"
    for target in config["remote_write"]:
        rules = target["write_relabel_configs"]
        first = rules[0]
        assert first["action"] == "keep" and first["source_labels"] == ["__name__"], first
        # Prometheus anchors relabel regexes: fullmatch is what it does.
        regex = re.compile(first["regex"])
        assert all(regex.fullmatch(name) for name in exported_metrics())
        for other in ("up", "scrape_duration_seconds", "node_cpu_seconds_total", "ALERTS",
                      "prometheus_tsdb_head_series", "go_goroutines", "process_start_time_seconds"):
            assert not regex.fullmatch(other), other
        # Later rules may only drop more, never add or rename labels.
        actions = {r.get("action", "replace") for r in rules}
        assert actions <= {"keep", "drop", "labeldrop"}, rules
        assert target["url"].startswith("https://"), "the figures cross the internet: use HTTPS"
        assert "ca_file" in target.get("tls_config", {})
        assert "basic_auth" in target or "authorization" in target


def test_department_federates_only_schoolgate_series() -> None:
    config = load_yaml(DEPARTMENT_FEDERATION)
    assert config["global"]["scrape_interval"] == "1m"
    (job,) = [j for j in config["scrape_configs"] if j.get("metrics_path") == "/federate"]
    assert job["params"]["match[]"] == ['{__name__=~"schoolgate_.*"}']
    assert job["honor_labels"] is True
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "1m"
    schools = job["static_configs"]
    assert len(schools) >= 2
    for entry in schools:
        assert len(entry["targets"]) == 1, "one school per entry, with its own labels"
        assert set(entry["labels"]) == SCHOOL_LABELS, entry
    ids = [entry["labels"]["school_id"] for entry in schools]
    assert len(set(ids)) == len(ids), "two schools share a school_id"


def test_department_labels_never_identify_a_child_device_or_site() -> None:
    exprs = (rule_exprs(DEPARTMENT_ALERTS) + rule_exprs(PROMETHEUS / "alerts.yml")
             + dashboard_exprs() + dashboard_queries()
             + [t["expr"] for p in json.loads((DEPLOY / "grafana" / "schoolgate-dashboard.json")
                                              .read_text("utf-8"))["panels"] for t in p["targets"]])
    for group in load_yaml(DEPARTMENT_ALERTS)["groups"]:
        for rule in group["rules"]:
            exprs += [str(v) for v in rule["annotations"].values()]
    exprs += [t.get("legendFormat", "") for p in department_dashboard()["panels"]
              for t in p["targets"]]
    used = set().union(*(label_names(e) for e in exprs))
    assert SCHOOL_LABELS <= used
    assert not {n for n in used if forbidden(n)}, sorted(n for n in used if forbidden(n))
    school = load_yaml(SCHOOL_REMOTE_WRITE)
    federation = load_yaml(DEPARTMENT_FEDERATION)
    added = set(school["global"]["external_labels"]).union(
        *(set(e.get("labels", {})) for j in federation["scrape_configs"]
          for e in j.get("static_configs", [])))
    assert added == SCHOOL_LABELS


def test_department_dashboard_is_complete(tmp_path: Path) -> None:
    dash = department_dashboard()
    existing = json.loads((DEPLOY / "grafana" / "schoolgate-dashboard.json").read_text("utf-8"))
    assert dash["schemaVersion"] == existing["schemaVersion"]
    assert dash["uid"] != existing["uid"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    for name in ("province", "district", "school_id"):
        assert variables[name]["type"] == "query"
        assert variables[name]["query"].startswith("label_values(")
        assert variables[name]["query"].rstrip(")").endswith(name)
    for panel in dash["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, \
            panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'school_id=~"$school_id"' in target["expr"], (panel["title"], target["expr"])
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for words in ("schools reporting", "category", "level", "per school", "lists age",
                  "child-abuse", "versions in use"):
        assert words in titles, words
    # Every query is valid PromQL once Grafana has filled in its variables.
    exprs = dashboard_exprs()
    for old, new in GRAFANA_VARS.items():
        exprs = [e.replace(old, new) for e in exprs]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "dashboard-rules.yml").write_text(yaml.safe_dump(rules), "utf-8")
    out = subprocess.run([promtool(), "check", "rules", str(tmp_path / "dashboard-rules.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_department_monitoring_is_documented() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text("utf-8")
    english = text.index("## Department Prometheus")
    vietnamese = text.index("## Giám sát, báo cáo")
    assert english < vietnamese < text.index("### Prometheus của Sở/Phòng")
    section = text[english:vietnamese]
    for path in DEPARTMENT_FILES:
        assert f"deploy/{path.parent.name}/{path.name}" in section, path.name
    for group in load_yaml(DEPARTMENT_ALERTS)["groups"]:
        for rule in group["rules"]:
            assert f"`{rule['alert']}`" in section, rule["alert"]

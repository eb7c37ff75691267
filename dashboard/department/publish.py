"""What the department publishes for schools to subscribe to, signed with the
department's key: the shared harmful-domain lists (domains that several schools
reported) and the baseline per school level.

Files are written to <data_dir>/publish/ (each list and its detached signature
`.sig`, written signature first so a reader never sees a list without its
signature) and served under /lists/ by the department server. Schools add them
to blocklists/sources.yaml with `signature: required` and the department's
public key.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from addons.core.baseline import Baseline, parse_baseline
from addons.core.categories import Categories
from addons.core.errors import Collector, ConfigErrors
from addons.core.settings import Settings
from addons.core.yamlsrc import parse as parse_yaml
from addons.infra import signing
from addons.infra.files import atomic_write
from dashboard.department.store import DepartmentStore

KEY_FILE = "department.key"
BASELINE_FILE = "baseline.yaml"
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def publish_dir(settings: Settings) -> Path:
    return settings.data_path / "publish"


def department_key(settings: Settings, create: bool = True) -> tuple[str, str]:
    """(private, public) base64 Ed25519 keys of the department (mode 0600), created on first use."""
    path = settings.data_path / KEY_FILE
    if path.exists():
        private = path.read_text("ascii").strip()
    elif create:
        private, _ = signing.generate()
        atomic_write(path, (private + "\n").encode(), mode=0o600)
    else:
        raise FileNotFoundError(path)
    return private, signing.public_key_of(private)


def _write_signed(settings: Settings, name: str, data: bytes, private: str) -> None:
    out = publish_dir(settings)
    atomic_write(out / f"{name}.sig", signing.sign(data, private).encode())
    atomic_write(out / name, data)


@dataclass
class Published:
    lists: dict[str, int]  # file name → domains
    baseline: str | None  # version published, if any


def read_baseline(settings: Settings, categories: Categories) -> tuple[str, Baseline]:
    """The department's baseline file, checked; raises ConfigErrors naming file and line."""
    path = settings.data_path / BASELINE_FILE
    text = path.read_text("utf-8")
    errors = Collector()
    data, errs = parse_yaml(text, str(path))
    errors.extend(errs)
    baseline = parse_baseline(data, str(path), categories, errors) if not errs else None
    if errors.errors or baseline is None:
        raise ConfigErrors(errors.errors)
    return text, baseline


def publish(store: DepartmentStore, settings: Settings, categories: Categories | None = None) -> Published:
    """Sign and publish the harmful-domain lists, and the baseline if the department wrote one."""
    private, _ = department_key(settings)
    lists: dict[str, int] = {}
    for category, domains in store.harmful_domains(settings.department_min_schools).items():
        if not NAME.match(category):
            continue
        name = f"harmful-{category}.txt"
        header = (f"# Domains reported as harmful by at least {settings.department_min_schools} schools "
                  f"(category {category}), published {time.strftime('%Y-%m-%d %H:%M')}\n")
        _write_signed(settings, name, (header + "\n".join(domains) + "\n").encode(), private)
        lists[name] = len(domains)
    version = None
    if categories is not None and (settings.data_path / BASELINE_FILE).exists():
        text, baseline = read_baseline(settings, categories)
        _write_signed(settings, BASELINE_FILE, text.encode(), private)
        version = baseline.version
    index = {"lists": lists, "baseline": version, "published": int(time.time())}
    atomic_write(publish_dir(settings) / "index.json", json.dumps(index, indent=1).encode())
    return Published(lists, version)

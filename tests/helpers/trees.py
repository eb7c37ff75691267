"""Small policy and list trees for tests (fast to build, easy to edit)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_POLICIES = ROOT / "policies"
SHIPPED_BLOCKLISTS = ROOT / "blocklists"

# A Saturday noon: outside the shipped `school-day` schedule (games and social
# networks open for grade 7), so that a decision does not depend on when the test runs.
WEEKEND_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))

# Loopback addresses the end-to-end tests send from (curl --interface 127.0.0.N).

CLIENTS_YAML = """\
clients:
  - {network: 127.0.0.3/32, group: grade-3, name: "Lớp 3A"}
  - {network: 127.0.0.7/32, group: grade-7, name: "Lớp 7A"}
  - {network: 127.0.0.11/32, group: grade-11}
  - {network: 127.0.0.20/32, group: staff, name: "Phòng giáo viên"}
  - {network: 127.0.0.30/32, group: guest}
"""

LISTS = {
    "adult/domains": "adult.test\nporn.example\n",
    "gambling/domains": "bet.test\n",
    "gambling.txt": "0.0.0.0 casino.test\n",
    "social_networks/domains": "social.test\n",
    "games/domains": "games.test\n",
    "chat/domains": "classchat.test\n",
    "violence/urls": "news.test/violent/\n",
    "csam/domains": "locked.test\n",
    "csam/urls": "share.test/album/7/\n",
    "proxy/domains": "someone.github.io\ngithub.io\n",
}


def make_tree(base: Path, lists: dict[str, str] | None = None, clients: str = CLIENTS_YAML) -> tuple[Path, Path]:
    """Copy the shipped policies (plus test clients) and the shipped categories with tiny lists."""
    policies = base / "policies"
    blocklists = base / "blocklists"
    shutil.copytree(SHIPPED_POLICIES, policies)
    (policies / "clients.yaml").write_text(clients, encoding="utf-8")
    blocklists.mkdir()
    shutil.copy(SHIPPED_BLOCKLISTS / "categories.yaml", blocklists / "categories.yaml")
    shutil.copy(SHIPPED_BLOCKLISTS / "safesearch.yaml", blocklists / "safesearch.yaml")
    shutil.copy(SHIPPED_BLOCKLISTS / "passthrough.txt", blocklists / "passthrough.txt")
    shutil.copy(SHIPPED_BLOCKLISTS / "services.yaml", blocklists / "services.yaml")
    shutil.copytree(SHIPPED_BLOCKLISTS / "phrases", blocklists / "phrases")
    for rel, text in (LISTS if lists is None else lists).items():
        p = blocklists / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return policies, blocklists

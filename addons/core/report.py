"""Period reports (the yearly report a school files before 10 December):
aggregates only, built from query rows, rendered as text, JSON or CSV here and as
printable HTML by infra.reports."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date

LEVEL_ORDER = ("preschool", "primary", "lower-secondary", "upper-secondary", "")
LEVEL_NAMES = {
    "preschool": ("Mầm non", "Preschool"),
    "primary": ("Tiểu học", "Primary"),
    "lower-secondary": ("Trung học cơ sở", "Lower secondary"),
    "upper-secondary": ("Trung học phổ thông", "Upper secondary"),
    "": ("Nhân viên, khách, khác", "Staff, guests, other"),
}


@dataclass
class Cell:
    level: str
    category: str
    blocked: int = 0
    allowed: int = 0


@dataclass
class SelftestRun:
    ts: int
    group_id: str
    checks: int
    failures: int


@dataclass
class Report:
    start: date
    end: date  # inclusive
    school_name: str
    school_id: str
    generated: str
    version: str
    cells: list[Cell] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)
    reports_received: int = 0
    list_entries: dict[str, int] = field(default_factory=dict)
    lists_built: str = ""
    uptime_ratio: float = 0.0
    dropped_incidents: int = 0
    selftests: list[SelftestRun] = field(default_factory=list)
    category_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (vi, en)

    @property
    def total_blocked(self) -> int:
        return sum(c.blocked for c in self.cells)

    @property
    def total_allowed(self) -> int:
        return sum(c.allowed for c in self.cells)

    def top_blocked(self, n: int = 10) -> list[tuple[str, int]]:
        per: dict[str, int] = {}
        for c in self.cells:
            if c.blocked:
                per[c.category] = per.get(c.category, 0) + c.blocked
        return sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def by_level(self) -> list[tuple[str, list[Cell]]]:
        out = []
        for level in LEVEL_ORDER:
            cells = sorted((c for c in self.cells if c.level == level), key=lambda c: (-c.blocked, c.category))
            if cells:
                out.append((level, cells))
        return out

    def category_name(self, cid: str, lang: str) -> str:
        if not cid:
            return "Chưa phân loại" if lang == "vi" else "Uncategorised"
        names = self.category_names.get(cid)
        return (names[0] if lang == "vi" else names[1]) if names else cid

    def level_name(self, level: str, lang: str) -> str:
        vi, en = LEVEL_NAMES.get(level, (level, level))
        return vi if lang == "vi" else en


def merge_cells(rows: list[tuple[str, str, str, int]]) -> list[Cell]:
    """(level, category, action, count) rows → one cell per level and category."""
    cells: dict[tuple[str, str], Cell] = {}
    for level, category, action, count in rows:
        cell = cells.setdefault((level, category), Cell(level, category))
        if action == "block":
            cell.blocked += count
        else:
            cell.allowed += count
    return list(cells.values())


_T = {
    "title": ("Báo cáo lọc nội dung Internet", "Internet filtering report"),
    "period": ("Kỳ báo cáo", "Period"),
    "school": ("Trường", "School"),
    "requests": ("Tổng số lượt truy cập", "Requests"),
    "blocked": ("Bị chặn", "Blocked"),
    "allowed": ("Được phép", "Allowed"),
    "top": ("Loại nội dung bị chặn nhiều nhất", "Most blocked categories"),
    "levels": ("Theo cấp học và loại nội dung", "By school level and category"),
    "alerts": ("Cảnh báo bảo vệ học sinh", "Safeguarding alerts"),
    "reviews": ("Đề nghị xem xét", "Review requests"),
    "reports": ("Phản ánh nội dung độc hại đã nhận", "Harmful-content reports received"),
    "lists": ("Danh sách chặn (số mục theo loại)", "Block lists (entries per category)"),
    "uptime": ("Thời gian bộ lọc hoạt động", "Filter uptime"),
    "selftests": ("Kiểm tra bộ lọc", "Filter self-tests"),
    "none": ("Không có", "None"),
    "dropped": ("Sự việc không ghi được (bộ ghi quá tải)", "Incidents not recorded (writer overloaded)"),
}


def t(key: str, lang: str) -> str:
    vi, en = _T[key]
    return vi if lang == "vi" else en


def render_text(r: Report, lang: str) -> str:
    lines = [
        f"{t('title', lang)} — {r.school_name or r.school_id or 'schoolgate'}",
        f"{t('period', lang)}: {r.start.isoformat()} .. {r.end.isoformat()}",
        f"{t('requests', lang)}: {r.total_blocked + r.total_allowed}   {t('blocked', lang)}: {r.total_blocked}"
        f"   {t('allowed', lang)}: {r.total_allowed}",
        f"{t('uptime', lang)}: {r.uptime_ratio:.1%}",
        "",
        f"{t('top', lang)}:",
    ]
    lines += [f"  {r.category_name(c, lang):<40} {n:>10}" for c, n in r.top_blocked()] or [f"  {t('none', lang)}"]
    lines += ["", f"{t('levels', lang)}:"]
    for level, cells in r.by_level():
        lines.append(f"  {r.level_name(level, lang)}")
        for c in cells:
            lines.append(f"    {r.category_name(c.category, lang):<38} {t('blocked', lang)} {c.blocked:>9}"
                         f"  {t('allowed', lang)} {c.allowed:>10}")
    lines += ["", f"{t('alerts', lang)}: " + (", ".join(f"{k} {v}" for k, v in sorted(r.alerts.items()))
                                               or t("none", lang))]
    lines += [f"{t('reviews', lang)}: " + (", ".join(f"{k} {v}" for k, v in sorted(r.reviews.items()))
                                          or t("none", lang))]
    lines += [f"{t('reports', lang)}: {r.reports_received}"]
    lines += [f"{t('dropped', lang)}: {r.dropped_incidents}"]
    lines += ["", f"{t('selftests', lang)}:"]
    lines += [f"  {s.group_id:<18} {s.checks - s.failures}/{s.checks}" for s in r.selftests] or [
        f"  {t('none', lang)}"]
    lines += ["", f"{t('lists', lang)} ({r.lists_built}):"]
    lines += [f"  {r.category_name(c, lang):<40} {n:>10}" for c, n in sorted(r.list_entries.items())]
    return "\n".join(lines) + "\n"


def render_json(r: Report) -> str:
    data = asdict(r)
    data["start"], data["end"] = r.start.isoformat(), r.end.isoformat()
    data["total_blocked"], data["total_allowed"] = r.total_blocked, r.total_allowed
    data["top_blocked"] = r.top_blocked()
    del data["category_names"]
    return json.dumps(data, ensure_ascii=False, indent=1)


def render_csv(r: Report, lang: str) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["level", "level_name", "category", "category_name", "blocked", "allowed"])
    for level, cells in r.by_level():
        for c in cells:
            w.writerow([level, r.level_name(level, lang), c.category, r.category_name(c.category, lang),
                        c.blocked, c.allowed])
    return out.getvalue()

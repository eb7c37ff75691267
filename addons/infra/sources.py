"""Updating list sources: fetch, verify, convert, keep the last good copy.

Each source lives in `<data_dir>/lists/<name>/`:
    current -> v<time>/        the last good copy (a symlink, swapped atomically)
    v<time>/<category>.domains  normalised domains (and `@@||x^` exceptions)
    v<time>/<category>.urls     normalised URL prefixes
    status.json                last attempt, last success, entries, ETag, last error

A failed update changes nothing but status.json: the previous copy stays, and
it is what the proxy loads at start-up.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import logging
import os
import shutil
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..core import lists as corelists
from ..core.baseline import parse_baseline
from ..core.categories import Categories
from ..core.errors import Collector
from ..core.hashes import parse_hashes
from ..core.settings import Settings
from ..core.sources import Source, SourceFormat, parse_sources
from ..core.yamlsrc import parse as parse_yaml
from . import download, signing
from .files import atomic_write, display_path

logger = logging.getLogger(__name__)

SOURCES_FILE = "sources.yaml"
_FORMATS = {
    SourceFormat.DOMAINS: corelists.ListFormat.DOMAINS,
    SourceFormat.HOSTS: corelists.ListFormat.HOSTS,
    SourceFormat.ADBLOCK: corelists.ListFormat.ADBLOCK,
    SourceFormat.URLS: corelists.ListFormat.URLS,
    SourceFormat.AUTO: corelists.ListFormat.AUTO,
}


class UpdateError(Exception):
    pass


@dataclass
class Status:
    name: str
    location: str = ""
    last_attempt: float = 0.0
    last_success: float = 0.0
    last_change: float = 0.0
    entries: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""
    last_error: str = ""
    recipe: str = ""  # how the installed copy was converted (see `_recipe`)

    @property
    def ok(self) -> bool:
        return not self.last_error


def lists_dir(settings: Settings) -> Path:
    return settings.data_path / "lists"


def source_dir(settings: Settings, name: str) -> Path:
    return lists_dir(settings) / name


def read_status(settings: Settings, name: str) -> Status:
    try:
        data = json.loads((source_dir(settings, name) / "status.json").read_text("utf-8"))
        known = {f.name for f in dataclasses.fields(Status)}
        return Status(**{k: v for k, v in data.items() if k in known})
    except (FileNotFoundError, ValueError, TypeError):
        return Status(name)


def write_status(settings: Settings, status: Status) -> None:
    atomic_write(source_dir(settings, status.name) / "status.json",
                 json.dumps(dataclasses.asdict(status), ensure_ascii=False, indent=1).encode())


def load_sources(settings: Settings, categories: Categories, errors: Collector) -> list[Source]:
    path = settings.blocklists_path / SOURCES_FILE
    if not path.exists():
        return []
    shown = display_path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        errors.error(shown, None, f"cannot read the file: {e}", "check the file")
        return []
    data, errs = parse_yaml(text, shown)
    errors.extend(errs)
    if errs:
        return []
    return parse_sources(data, shown, categories, errors)


# ----------------------------------------------------------------------------- converting


def _maybe_gunzip(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise UpdateError(f"the archive or gzip data is corrupt or truncated: {e}") from None
    return data


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def convert(src: Source, body: bytes, categories: Categories,
            max_errors: int) -> dict[str, tuple[list[str], ...]]:
    """Raw body → {category: (domain lines, url lines)}, each part parsed with an error budget."""
    texts: list[tuple[str, str, corelists.ListFormat, str]] = []  # (category, text, format, name)
    if src.format is SourceFormat.UT1:
        raw = _maybe_gunzip(body)  # the whole stream: a truncated archive fails here
        try:
            archive = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
            members = archive.getmembers()
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise UpdateError(f"the archive is corrupt or truncated: {e}") from None
        for m in members:
            parts = m.name.split("/")
            if not m.isfile() or len(parts) < 2 or parts[-1] not in ("domains", "urls"):
                continue
            theirs = parts[-2]
            ours = src.categories.get(theirs) if "auto" not in src.categories else categories.resolve(theirs)
            if ours is None:
                continue
            try:
                f = archive.extractfile(m)
                data = f.read() if f else b""
            except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
                raise UpdateError(f"the archive is corrupt or truncated at {m.name}: {e}") from None
            if len(data) != m.size:
                raise UpdateError(f"the archive is truncated at {m.name}")
            fmt = corelists.ListFormat.URLS if parts[-1] == "urls" else corelists.ListFormat.DOMAINS
            texts.append((ours, _decode(data), fmt, m.name))
        if not texts:
            raise UpdateError("the archive holds no <category>/domains or urls files for the mapped categories")
    elif src.format is SourceFormat.BASELINE:
        text = _decode(_maybe_gunzip(body))
        errors = Collector()
        data, problems = parse_yaml(text, src.name)
        errors.extend(problems)
        if data is not None:
            parse_baseline(data, src.name, categories, errors)
        if errors.errors:
            raise UpdateError("the baseline was refused: " + "; ".join(str(e) for e in errors.errors[:3]))
        return {"baseline": ([], [], [], text.splitlines())}
    elif src.format is SourceFormat.HASHES:
        parsed_hashes = parse_hashes(_decode(_maybe_gunzip(body)))
        if not parsed_hashes.entries:
            raise UpdateError("the hash list has no usable entries")
        if len(parsed_hashes.bad) > max_errors:
            raise UpdateError(f"{len(parsed_hashes.bad)} lines of the hash list could not be read "
                              f"(first at line {parsed_hashes.bad[0][0]}: {parsed_hashes.bad[0][1]})")
        lines = [f"{e.kind} {e.value} {e.entry_id}" for e in parsed_hashes.entries]
        return {src.categories["*"]: ([], [], lines)}  # type: ignore[dict-item]
    else:
        texts.append((src.categories["*"], _decode(_maybe_gunzip(body)), _FORMATS[src.format], src.name))
    out: dict[str, tuple[list[str], ...]] = {}
    for cat, text, fmt, name in texts:
        parsed = corelists.parse_list(text, fmt)
        if parsed.entries == 0 and fmt is corelists.ListFormat.URLS and src.format is SourceFormat.UT1:
            continue  # an empty urls file in an archive is normal
        problem = corelists.within_budget(parsed, max_errors)
        if problem:
            first = f" (first at line {parsed.bad[0][0]}: {parsed.bad[0][1]})" if parsed.bad else ""
            raise UpdateError(f"{name}: {problem}{first}")
        domains, urls = out.setdefault(cat, ([], []))[:2]
        domains.extend(d for _, d in parsed.domains)
        domains.extend(f"@@||{d}^" for _, d in parsed.exceptions)
        urls.extend(f"{h}{p}" for _, h, p in parsed.urls)
    if not any(any(parts) for parts in out.values()):
        raise UpdateError("the list has no usable entries")
    return out


# ----------------------------------------------------------------------------- updating


def _recipe(src: Source) -> str:
    """The settings that shape the installed copy: when they change, the list is
    fetched and converted again even if the server says it has not changed."""
    return json.dumps([src.format.value, sorted(src.categories.items())])


def due(src: Source, status: Status, now: float) -> bool:
    return now - status.last_attempt >= src.refresh or (not status.last_success and
                                                        now - status.last_attempt >= 300)


def update_source(src: Source, settings: Settings, categories: Categories, *, force: bool = False,
                  now: float | None = None) -> Status:
    """Bring one source up to date. Never raises for a bad list: the status says why."""
    now = time.time() if now is None else now
    status = read_status(settings, src.name)
    has_copy = (source_dir(settings, src.name) / "current").exists()
    if status.location != src.location:  # the source moved: forget its validators
        status = Status(src.name, src.location, entries=status.entries, categories=status.categories)
        status.location = src.location
    status.last_attempt = now
    workdir = source_dir(settings, src.name)
    reuse = not force and has_copy and status.recipe == _recipe(src)  # the installed copy may stay
    try:
        fetched = download.fetch(
            src.location, workdir,
            etag=status.etag if reuse else "",
            last_modified=status.last_modified if reuse else "",
            max_size=src.max_size, timeout=src.timeout, cafile=settings.department_ca)
        # A server without validators sends the same list again: the installed copy
        # stays (a new copy would only recompile the same index on every worker).
        unchanged = reuse and bool(status.sha256) and fetched.sha256 == status.sha256
        if fetched.not_modified or unchanged:
            if fetched.path is not None:
                fetched.path.unlink(missing_ok=True)
            status.etag, status.last_modified = fetched.etag or status.etag, fetched.last_modified or status.last_modified
            status.last_success, status.last_error = now, ""
            write_status(settings, status)
            return status
        assert fetched.path is not None
        try:
            body = fetched.path.read_bytes()
        finally:
            fetched.path.unlink(missing_ok=True)
        if src.signature:
            sig = download.fetch_small(f"{src.location}.sig", timeout=src.timeout, cafile=settings.department_ca)
            try:
                signing.verify(body, sig, src.public_key or settings.authority_public_key)
            except signing.SignatureError as e:
                raise UpdateError(f"signature check failed: {e}") from None
        parts = convert(src, body, categories, settings.max_list_errors)
        _install(settings, src.name, parts, now)
    except (download.DownloadError, UpdateError) as e:
        status.last_error = str(e)
        write_status(settings, status)
        logger.warning("List source %s not updated: %s. The previous copy stays in use.", src.name, e)
        return status
    status.etag, status.last_modified, status.sha256 = fetched.etag, fetched.last_modified, fetched.sha256
    status.recipe = _recipe(src)
    status.categories = {c: sum(len(x) for x in kinds) for c, kinds in parts.items()}
    status.entries = sum(status.categories.values())
    status.last_success = status.last_change = now
    status.last_error = ""
    write_status(settings, status)
    logger.info("List source %s updated: %d entries.", src.name, status.entries)
    return status


def _install(settings: Settings, name: str, parts: dict[str, tuple[list[str], ...]], now: float) -> None:
    base = source_dir(settings, name)
    version = base / f"v{int(now * 1000)}"
    staging = base / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for cat, kinds in parts.items():
        for suffix, lines in zip(("domains", "urls", "hashes", "yaml"), kinds, strict=False):
            if lines:
                (staging / f"{cat}.{suffix}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(staging, version)
    link = base / f".current-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    os.replace(link, base / "current")  # atomic: readers see the old or the new copy, never a mix
    for old in base.glob("v*"):
        if old != version:
            shutil.rmtree(old, ignore_errors=True)


def copies(settings: Settings, sources: list[Source]) -> list[tuple[Source, Path, str]]:
    """(source, file, category) of every installed last good copy of the enabled sources."""
    out = []
    for src in sources:
        if not src.enabled:
            continue
        current = source_dir(settings, src.name) / "current"
        if not current.is_dir():
            continue
        for f in sorted(current.iterdir()):
            cat, _, kind = f.name.rpartition(".")
            if kind in ("domains", "urls", "hashes") and ("auto" in src.categories or cat in src.targets):
                out.append((src, f, cat))
    return out


def baseline_copy(settings: Settings, sources: list[Source]) -> tuple[Source, Path] | None:
    """The installed last good copy of the (first enabled) baseline source, if any."""
    for src in sources:
        if src.enabled and src.format is SourceFormat.BASELINE:
            path = source_dir(settings, src.name) / "current" / "baseline.yaml"
            if path.exists():
                return src, path
    return None


def copies_signature(settings: Settings) -> str:
    """Changes when any source installs a new copy (not on mere checks)."""
    root = lists_dir(settings)
    if not root.is_dir():
        return ""
    parts = []
    for d in sorted(root.iterdir()):
        link = d / "current"
        if link.is_symlink():
            parts.append(f"{d.name}={os.readlink(link)}")
    return ";".join(parts)

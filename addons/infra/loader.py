"""Build a Snapshot from the settings: read policies/ and blocklists/, compile the
list index into the data directory (or reuse it), validate everything.

Raises ConfigErrors with every problem found; never returns a half-valid snapshot.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import mmap
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import lists as corelists
from ..core.baseline import Baseline, apply_baseline, parse_baseline
from ..core.categories import Categories, parse_categories
from ..core.errors import Collector, ConfigError, ConfigErrors
from ..core.hashes import EMPTY as HASHES_EMPTY
from ..core.hashes import HashIndex, parse_hashes
from ..core.phrases import EMPTY as PHRASES_EMPTY
from ..core.phrases import Phrase, PhraseIndex, parse_phrases
from ..core.policy import compile_policies
from ..core.safesearch import Engines, parse_engines
from ..core.services import EMPTY as SERVICES_EMPTY
from ..core.services import Services, parse_services
from ..core.settings import Settings
from ..core.snapshot import Snapshot
from ..core.sources import Source
from ..core.yamlsrc import parse as parse_yaml
from .files import atomic_write, display_path, read_capped, walk_files
from .sources import baseline_copy, load_sources
from .sources import copies as source_copies

logger = logging.getLogger(__name__)

POLICY_FILE_CAP = 4 * 1024 * 1024
LIST_FILE_CAP = 1024 * 1024 * 1024
INDEX_FORMAT = "8"
# Files in blocklists/ that are not category lists.
RESERVED = {"categories.yaml", "sources.yaml", "services.yaml", "safesearch.yaml", "passthrough.txt", "README.md",
            "LICENSE", "LICENSES.md", "SOURCES.md"}
RESERVED_DIRS = {"phrases"}
LIST_SUFFIXES = (".txt", ".hosts", ".list", ".domains")
EXAMPLE_POLICY = "example.yaml"


@dataclass(frozen=True)
class ListFile:
    path: Path
    shown: str  # e.g. "blocklists/gambling/domains"
    category: str
    fmt: corelists.ListFormat


@dataclass
class LoadResult:
    snapshot: Snapshot
    warnings: list[ConfigError]
    texts: tuple[tuple[str, str], ...] = ()  # the policy files as compiled: (shown name, text)
    index_key: str = ""  # which compiled list index it maps (data/index/local-<key>.idx)


@dataclass(frozen=True)
class IndexJob:
    """A list index to compile: the list files, and where the index goes."""

    files: list[ListFile]
    categories: Categories
    max_list_errors: int
    path: Path


class IndexNotBuilt(Exception):
    """`load_snapshot(defer_build=True)` found that the lists changed and their index
    is not compiled yet. The caller compiles it (`build_index`) in the background and
    meanwhile loads the policy with the index it has (`index_key=`)."""

    def __init__(self, job: IndexJob):
        super().__init__(f"the list index {job.path.name} is not built yet")
        self.job = job


def read_text(path: Path, cap: int, errors: Collector, shown: str) -> str | None:
    try:
        data = read_capped(path, cap)
    except FileNotFoundError:
        errors.error(shown, None, "file not found", "check the path in the settings")
        return None
    except PermissionError:
        errors.error(shown, None, "permission denied", f"let the schoolgate user read it (chmod o+r {path})")
        return None
    except OSError as e:
        errors.error(shown, None, f"cannot read the file: {e.strerror or e}", "check the file and the disk")
        return None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            errors.error(shown, None, f"not a valid gzip file: {e}", "download the list again")
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        text = data.decode("latin-1")
        line = data[: e.start].count(b"\n") + 1
        errors.warn(shown, line, "the file is not valid UTF-8; read as Latin-1", "save it as UTF-8")
        return text


def load_categories(settings: Settings, errors: Collector) -> tuple[Categories, str]:
    path = settings.blocklists_path / "categories.yaml"
    shown = display_path(path)
    if not settings.blocklists_path.is_dir():
        errors.error(display_path(settings.blocklists_path), None, "blocklists directory not found",
                     "set blocklists_dir to the directory holding categories.yaml")
        return Categories({}, {}), ""
    text = read_text(path, POLICY_FILE_CAP, errors, shown)
    if text is None:
        return Categories({}, {}), ""
    data, errs = parse_yaml(text, shown)
    errors.extend(errs)
    if errs:
        return Categories({}, {}), text
    return parse_categories(data, shown, errors), text


def discover_lists(settings: Settings, categories: Categories, errors: Collector) -> list[ListFile]:
    """UT1 layout (<category>/domains, <category>/urls) and <category>.txt files."""
    root = settings.blocklists_path
    top = root.name
    found: list[ListFile] = []
    if not root.is_dir():
        return found
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name in RESERVED or name in RESERVED_DIRS:
            continue
        if entry.is_dir():
            cat = categories.resolve(name)
            if cat is None:
                errors.warn(display_path(entry), None, f"directory '{name}' is not a known category; ignored",
                            "add it (or an alias) to blocklists/categories.yaml to use it")
                continue
            for f in walk_files(entry):
                rel = f.relative_to(entry)
                base = f.name.removesuffix(".gz")
                if base == "urls":
                    fmt = corelists.ListFormat.URLS
                elif base == "domains" or base.endswith(LIST_SUFFIXES):
                    fmt = corelists.ListFormat.AUTO
                else:
                    continue  # UT1 ships `usage` and other notes beside the lists
                found.append(ListFile(f, f"{top}/{name}/{rel}", cat, fmt))
        elif entry.is_file():
            base = name.removesuffix(".gz")
            stem, dot, suffix = base.rpartition(".")
            if not dot or f".{suffix}" not in LIST_SUFFIXES:
                if not name.endswith((".md", ".yaml", ".yml", ".pdf")):
                    errors.warn(display_path(entry), None, "not a list file; ignored",
                                "name category lists <category>.txt or <category>/domains")
                continue
            cat = categories.resolve(stem)
            if cat is None:
                errors.warn(display_path(entry), None, f"'{stem}' is not a known category; ignored",
                            "add it to blocklists/categories.yaml or rename the file")
                continue
            found.append(ListFile(entry, f"{top}/{name}", cat, corelists.ListFormat.AUTO))
    return found


def _index_key(files: list[ListFile], categories_text: str) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(INDEX_FORMAT.encode())
    h.update(categories_text.encode())
    for lf in files:
        h.update(f"{lf.path.resolve()}\0{lf.shown}\0{lf.category}\0{lf.fmt}\0{_stamp(lf.path)}\n".encode())
    return h.hexdigest()


def _stamp(path: Path) -> str:
    try:
        st = path.stat()
        return f"{st.st_size}\0{st.st_mtime_ns}"
    except OSError as e:
        return f"unreadable {e.errno}"  # loading reports it with the file name


def build_list_index(files: list[ListFile], categories: Categories, max_list_errors: int,
                     errors: Collector) -> bytes | None:
    cat_ids = list(categories.by_id)
    cat_index = {c: i for i, c in enumerate(cat_ids)}
    sources: list[corelists.SourceMeta] = []
    packed: list[int] = []  # compact entries: no tuple per domain for multi-million lists
    urls: list[tuple[str, str, int, int, int]] = []
    pack = corelists.pack
    before = len(errors.errors)
    for lf in files:
        text = read_text(lf.path, LIST_FILE_CAP, errors, lf.shown)
        if text is None:
            continue
        parsed = corelists.parse_list(text, lf.fmt)
        for line, why in parsed.bad[:5]:
            errors.warn(lf.shown, line, f"line ignored: {why}", "fix or remove the line")
        if len(parsed.bad) > 5:
            errors.warn(lf.shown, None, f"{len(parsed.bad) - 5} more lines ignored", "fix or remove them")
        if parsed.entries == 0 and parsed.lines == 0:
            continue  # an empty placeholder list (for example a locked list not yet delivered)
        problem = corelists.within_budget(parsed, max_list_errors)
        if problem:
            errors.error(lf.shown, parsed.bad[0][0] if parsed.bad else None, f"list refused: {problem}",
                         "check that the file is a domain list, hosts file or Adblock list")
            continue
        try:
            updated = lf.path.stat().st_mtime
        except OSError:
            updated = 0.0
        src = len(sources)
        c = cat_index[lf.category]
        sources.append(corelists.SourceMeta(lf.shown, lf.category, lf.fmt.value, parsed.entries, updated))
        packed.extend([pack(d, c, src, line) for line, d in parsed.domains])
        packed.extend([pack(d, c | corelists.EXCEPTION, src, line) for line, d in parsed.exceptions])
        urls.extend((h, p, c, src, line) for line, h, p in parsed.urls)
        del parsed, text
    if len(errors.errors) > before:
        return None
    return corelists.build_index(cat_ids, categories.locked, sources, (), urls, packed=packed)


def build_index_file(files: list[ListFile], categories: Categories, max_list_errors: int,
                     path: Path) -> list[ConfigError]:
    """Build and write an index (runs in a worker process for big reloads). Returns the problems."""
    errors = Collector()
    data = build_list_index(files, categories, max_list_errors, errors)
    if data is not None:
        try:
            atomic_write(path, data)
        except OSError as e:
            errors.error(display_path(path.parent), None, f"cannot write the list index: {e.strerror or e}",
                         "make the data directory writable by schoolgate, or set data_dir")
    return errors.items


Builder = Callable[[list[ListFile], Categories, int, Path], list[ConfigError]]


def open_index(path: Path) -> corelists.DomainIndex:
    """Map the index read-only and shared: every worker process shares the same pages.
    MAP_POPULATE reads it in at once, so no lookup waits for a page fault."""
    with open(path, "rb") as f:
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        mm = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
    return corelists.DomainIndex(mm)


def source_files(settings: Settings, sources: list[Source]) -> list[ListFile]:
    """The installed last good copies of the list sources, as list files (hash lists apart)."""
    out = []
    for src, f, cat in source_copies(settings, sources):
        if f.suffix == ".hashes":
            continue
        fmt = corelists.ListFormat.URLS if f.suffix == ".urls" else corelists.ListFormat.AUTO
        out.append(ListFile(f, f"sources/{src.name}/{f.name}", cat, fmt))
    return out


def index_path(settings: Settings, key: str) -> Path:
    return settings.data_path / "index" / f"local-{key}.idx"


def build_index(job: IndexJob, builder: Builder | None = None) -> list[ConfigError]:
    """Compile `job` unless another process did meanwhile; on success remove the older
    indexes. One process builds at a time; other proxy workers wait on the lock, then
    map what it built."""
    index_dir = job.path.parent
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if job.path.exists():
            try:
                open_index(job.path)
                return []
            except (corelists.IndexFormatError, OSError, ValueError):
                pass
        problems = (builder or build_index_file)(job.files, job.categories, job.max_list_errors, job.path)
        if any(not p.warning for p in problems):
            return problems
        for old in index_dir.glob("local-*.idx"):
            if old != job.path:
                try:
                    old.unlink()  # processes that still map it keep their copy until they swap
                except OSError:
                    pass
        return problems


def load_lists(settings: Settings, categories: Categories, categories_text: str, sources: list[Source],
               errors: Collector, builder: Builder | None = None, defer_build: bool = False,
               index_key: str | None = None) -> tuple[corelists.DomainIndex | None, str]:
    """The list index for the list files on disk, compiled if needed. `index_key` maps
    that index instead, while it exists (the one the policy runs with now)."""
    if index_key:
        try:
            return open_index(index_path(settings, index_key)), index_key
        except (corelists.IndexFormatError, OSError, ValueError):
            pass  # replaced meanwhile: the lists on disk
    files = discover_lists(settings, categories, errors) + source_files(settings, sources)
    if errors.errors:
        return None, ""
    key = _index_key(files, categories_text)
    path = index_path(settings, key)
    if path.exists():
        try:
            return open_index(path), key
        except (corelists.IndexFormatError, OSError, ValueError) as e:
            logger.warning("Rebuilding the list index: %s is unreadable (%s).", path, e)
    job = IndexJob(files, categories, settings.max_list_errors, path)
    if defer_build:
        raise IndexNotBuilt(job)
    problems = build_index(job, builder)
    errors.extend(problems)
    if any(not p.warning for p in problems):
        return None, key
    return open_index(path), key


def load_phrases(settings: Settings, categories: Categories, errors: Collector) -> PhraseIndex:
    """blocklists/phrases/<category>.<lang>.txt → one compiled index."""
    root = settings.blocklists_path / "phrases"
    found: list[Phrase] = []
    if not root.is_dir():
        return PHRASES_EMPTY
    for f in sorted(root.glob("*.txt")):
        shown = display_path(f)
        cat, _, lang = f.name.removesuffix(".txt").rpartition(".")
        if not cat or lang not in ("vi", "en"):
            errors.error(shown, None, "a phrase file is named <category>.<vi|en>.txt",
                         "rename it, for example gambling.vi.txt")
            continue
        if cat not in categories:
            errors.error(shown, None, f"unknown category '{cat}'", "use a category id from categories.yaml")
            continue
        text = read_text(f, POLICY_FILE_CAP, errors, shown)
        if text is None:
            continue
        parsed = parse_phrases(text, cat, shown)
        for line, why in parsed.bad:
            errors.error(shown, line, f"bad phrase line: {why}", "fix the line or start it with #")
        found.extend(parsed.phrases)
    return PhraseIndex(found)


def load_engines(settings: Settings, errors: Collector) -> Engines:
    path = settings.blocklists_path / "safesearch.yaml"
    if not path.exists():
        return Engines([])
    shown = display_path(path)
    text = read_text(path, POLICY_FILE_CAP, errors, shown)
    if text is None:
        return Engines([])
    data, errs = parse_yaml(text, shown)
    errors.extend(errs)
    return parse_engines(data, shown, errors) if not errs else Engines([])


def hash_files(settings: Settings, categories: Categories, sources: list[Source]) -> list[tuple[Path, str, str]]:
    """Image-hash lists: blocklists/<locked category>/hashes and the sources' copies."""
    files: list[tuple[Path, str, str]] = []
    root = settings.blocklists_path
    for cat in categories:
        for name in (cat.id, *cat.aliases):
            for f in (root / name / "hashes", root / f"{name}.hashes"):
                if f.exists():
                    files.append((f, f"{root.name}/{f.relative_to(root)}", cat.id))
    for src, f, cat in source_copies(settings, sources):
        if f.suffix == ".hashes":
            files.append((f, f"sources/{src.name}/{f.name}", cat))
    return files


def load_hashes(files: list[tuple[Path, str, str]], categories: Categories, errors: Collector) -> HashIndex:
    lists = []
    for path, shown, cat in files:
        if cat in categories and not categories.by_id[cat].locked:
            errors.error(shown, None, f"an image-hash list must feed a locked category, not '{cat}'",
                         "move it under a locked category such as csam")
            continue
        text = read_text(path, LIST_FILE_CAP, errors, shown)
        if text is None:
            continue
        parsed = parse_hashes(text)
        for line, why in parsed.bad[:5]:
            errors.warn(shown, line, f"line ignored: {why}", "fix or remove the line")
        lists.append((shown, cat, parsed.entries))
    return HashIndex(lists)


def load_baseline(settings: Settings, categories: Categories, sources: list[Source],
                  errors: Collector) -> Baseline | None:
    """The department's baseline from its source's last verified copy, if the school subscribes."""
    found = baseline_copy(settings, sources)
    if found is None:
        return None
    src, path = found
    shown = f"sources/{src.name}/baseline.yaml"
    text = read_text(path, POLICY_FILE_CAP, errors, shown)
    if text is None:
        return None
    data, errs = parse_yaml(text, shown)
    errors.extend(errs)
    return parse_baseline(data, shown, categories, errors) if not errs else None


def load_passthrough(settings: Settings, errors: Collector) -> frozenset[str]:
    """blocklists/passthrough.txt: hosts whose HTTPS is never decrypted (still filtered by name)."""
    path = settings.blocklists_path / "passthrough.txt"
    if not path.exists():
        return frozenset()
    shown = display_path(path)
    text = read_text(path, POLICY_FILE_CAP, errors, shown)
    parsed = corelists.parse_list(text or "", corelists.ListFormat.DOMAINS)
    for line, why in parsed.bad:
        errors.error(shown, line, f"not a host name: {why}", "write one domain per line")
    return frozenset(d for _, d in parsed.domains)


def load_services(settings: Settings, categories: Categories, errors: Collector) -> Services:
    """blocklists/services.yaml (optional: without it no named services exist)."""
    path = settings.blocklists_path / "services.yaml"
    if not path.exists():
        return SERVICES_EMPTY
    shown = display_path(path)
    text = read_text(path, POLICY_FILE_CAP, errors, shown)
    if text is None:
        return SERVICES_EMPTY
    data, errs = parse_yaml(text, shown)
    errors.extend(errs)
    return parse_services(data, shown, categories, errors) if not errs else SERVICES_EMPTY


def policy_files(settings: Settings) -> list[Path]:
    root = settings.policies_path
    return [p for p in walk_files(root)
            if p.suffix in (".yaml", ".yml") and not (p.parent == root and p.name == EXAMPLE_POLICY)]


def load_policy_texts(settings: Settings, errors: Collector, skip: frozenset[Path] = frozenset()
                      ) -> list[tuple[str, str]]:
    root = settings.policies_path
    if not root.is_dir():
        errors.error(display_path(root), None, "policies directory not found",
                     "set policies_dir to the directory holding the policy YAML files")
        return []
    out = []
    for p in policy_files(settings):
        if p.resolve() in skip:
            continue
        shown = display_path(p)
        text = read_text(p, POLICY_FILE_CAP, errors, shown)
        if text is not None:
            out.append((shown, text))
    if not out and not errors.errors:
        errors.error(display_path(root), None, "no policy files (*.yaml) found",
                     "copy the shipped policies/ directory there")
    return out


def load_snapshot(settings: Settings, extra_policies: list[tuple[str, str]] | None = None,
                  builder: Builder | None = None, skip: frozenset[Path] = frozenset(),
                  texts: Sequence[tuple[str, str]] | None = None, defer_build: bool = False,
                  index_key: str | None = None) -> LoadResult:
    """Everything or nothing: returns a complete snapshot or raises ConfigErrors.

    `texts` replaces the files of policies/ (the accepted policy, see `save_accepted`);
    the lists are read from blocklists/ and the data directory, or, with `index_key`,
    are the list index compiled under that key while it exists. `defer_build` raises
    IndexNotBuilt instead of compiling a changed list index here.
    """
    errors = Collector()
    categories, categories_text = load_categories(settings, errors)
    index, list_key = (None, "")
    sources: list[Source] = []
    if not errors.errors:
        sources = load_sources(settings, categories, errors)
    if not errors.errors:
        index, list_key = load_lists(settings, categories, categories_text, sources, errors, builder,
                                     defer_build, index_key)
    if texts is None:
        texts = load_policy_texts(settings, errors, skip) + list(extra_policies or [])
    parsed = []
    for shown, text in texts:
        data, errs = parse_yaml(text, shown)
        errors.extend(errs)
        if not errs:
            parsed.append((shown, data))
    services = load_services(settings, categories, errors) if categories.by_id else SERVICES_EMPTY
    policy = compile_policies(parsed, categories, errors, services) if categories.by_id else None
    phrases = load_phrases(settings, categories, errors) if categories.by_id else PHRASES_EMPTY
    engines = load_engines(settings, errors)
    passthrough = load_passthrough(settings, errors)
    hashed = hash_files(settings, categories, sources) if categories.by_id else []
    hashes = load_hashes(hashed, categories, errors) if hashed else HASHES_EMPTY
    baseline = load_baseline(settings, categories, sources, errors) if categories.by_id else None
    if policy is not None and baseline is not None:
        policy, conflicts = apply_baseline(policy, baseline)
        for c in conflicts:
            errors.warn(c.origin.source if c.origin else "policies", c.origin.line if c.origin else None, c.what,
                        "make the local policy at least as strict (or leave it: the baseline applies anyway)")
    if errors.errors or policy is None or index is None:
        raise ConfigErrors(errors.errors or [ConfigError("blocklists", None, "no categories loaded",
                                                         "check blocklists/categories.yaml")])
    h = hashlib.blake2b(digest_size=6)
    h.update(list_key.encode())
    h.update((baseline.version if baseline else "").encode() + b"\0")
    for path, _, _ in hashed:  # image-hash lists can be large: their size and time stand for them
        h.update(f"{path}\0{_stamp(path)}\n".encode())
    for shown, text in texts:
        h.update(shown.encode() + b"\0" + text.encode() + b"\0")
    for extra in sorted((settings.blocklists_path / "phrases").glob("*.txt")) + [
            settings.blocklists_path / "safesearch.yaml", settings.blocklists_path / "sources.yaml",
            settings.blocklists_path / "passthrough.txt", settings.blocklists_path / "services.yaml"]:
        try:
            h.update(extra.name.encode() + b"\0" + extra.read_bytes() + b"\0")
        except OSError:
            pass
    info = {
        "groups": len(policy.groups),
        "clients": len(policy.clients),
        "categories": len(categories.by_id),
        "domains": index.count,
        "urls": index.url_count,
        "list_files": len(index.sources),
        "policy_files": len(texts),
    }
    info["phrases"] = phrases.count
    info["image_hashes"] = hashes.count
    info["baseline_version"] = baseline.version if baseline else ""
    info["engines"] = len(engines.engines)
    info["services"] = len(services)
    snap = Snapshot(policy, categories, index, settings.zone, h.hexdigest(), info=info, sources=tuple(sources),
                    phrases=phrases, engines=engines, passthrough=passthrough, hashes=hashes, services=services)
    return LoadResult(snap, errors.warnings, tuple(texts), list_key)


ACCEPTED_FILE = "policy-accepted.json"


@dataclass(frozen=True)
class Accepted:
    """The policy the leader last loaded without errors: what the other proxy workers
    load, and what any worker starts with when a file on disk has an error since."""

    version: str
    loaded_at: float
    texts: tuple[tuple[str, str], ...]
    policies_dir: str  # where they were read from: another directory's files are never used instead
    index_key: str = ""  # the list index it ran with (see LoadResult.index_key)


def accepted_path(settings: Settings) -> Path:
    return settings.data_path / ACCEPTED_FILE


def save_accepted(settings: Settings, result: LoadResult, loaded_at: float) -> None:
    data = {"version": result.snapshot.version, "loaded_at": loaded_at, "texts": [list(t) for t in result.texts],
            "policies_dir": str(settings.policies_path.resolve()), "index_key": result.index_key}
    atomic_write(accepted_path(settings), json.dumps(data, ensure_ascii=False).encode(), mode=0o640)


def read_accepted(settings: Settings) -> Accepted | None:
    """None when there is none yet for this policies directory, or it is unreadable."""
    try:
        data = json.loads(accepted_path(settings).read_bytes())
        texts = tuple((str(shown), str(text)) for shown, text in data["texts"])
        accepted = Accepted(str(data["version"]), float(data["loaded_at"]), texts, str(data["policies_dir"]),
                            str(data.get("index_key", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        logger.warning("Ignoring %s: %s", accepted_path(settings), e)
        return None
    return accepted if accepted.policies_dir == str(settings.policies_path.resolve()) else None


def ensure_data_dir(settings: Settings) -> Path:
    path = settings.data_path
    path.mkdir(parents=True, exist_ok=True, mode=0o750)
    os.chmod(path, 0o750)
    return path


def load_settings(path: Path | None, overrides: dict[str, str]) -> tuple[Settings, list[ConfigError]]:
    """Settings from an optional YAML file, then `--set` overrides (by setting name).

    Raises ConfigErrors naming the file and line of every problem.
    """
    from ..core import settings as coresettings

    errors = Collector()
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    shown = "settings"
    if path is not None:
        shown = display_path(path)
        text = read_text(path, POLICY_FILE_CAP, errors, shown)
        if text is not None:
            data, errs = parse_yaml(text, shown)
            errors.extend(errs)
            if data is not None and not errs:
                from ..core.yamlsrc import LMap

                if not isinstance(data, LMap):
                    errors.error(shown, getattr(data, "line", 1),
                                 "the settings file must be a mapping of name: value",
                                 "write for example 'listen_port: 8080'")
                else:
                    values.update(data)
                    lines.update(data.lines)
    settings = coresettings.validate(values, shown, lines, errors)
    if overrides and not errors.errors:
        merged = {f: getattr(settings, f) for f in values} | dict(overrides)
        settings = coresettings.validate(merged, "--set", {}, errors)
    if errors.errors:
        raise ConfigErrors(errors.errors)
    return settings, errors.warnings

"""Category list files: parsing with positions and an error budget, and the
compiled domain index that every worker process memory-maps.

Formats understood line by line (`auto` detects each line):
- plain domains, one per line (UT1 `domains`, squidGuard), `*.` and leading dots ignored
- hosts files: `0.0.0.0 name [name...]`, `127.0.0.1 name`, `::` / `::1`
- Adblock-style domain rules: `||name^` and exceptions `@@||name^`
- URL lists (UT1 `urls`): `host/path` with or without a scheme
Comments start with `#` or `!`.

The index is a sorted array of 64-bit hashes of the listed domains with
parallel arrays of (category, source) and line numbers, plus a bucket table on
the top bits of the hash. A lookup hashes each parent suffix of the host and
binary-searches one small bucket: a few microseconds at millions of entries,
and the arrays are shared by every process that maps the same file.
"""

from __future__ import annotations

import bisect
import json
import re
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from xxhash import xxh3_64_intdigest

from .domains import HostError, candidates, domain_hash, is_public_suffix, normalise_host_uncached


class ListFormat(StrEnum):
    AUTO = "auto"
    DOMAINS = "domains"
    HOSTS = "hosts"
    ADBLOCK = "adblock"
    URLS = "urls"


_PLAIN = re.compile(r"^[a-z0-9_][a-z0-9._-]*$")
_HOSTS_SINKS = frozenset({"0.0.0.0", "127.0.0.1", "::", "::1", "0", "255.255.255.255"})
_HOSTS_IGNORED = frozenset(
    {"localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
     "ip6-loopback", "0.0.0.0", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
     "ip6-allrouters", "ip6-allhosts"}
)
_ADBLOCK = re.compile(r"^(@@)?\|\|([^/^$|*]+)\^?(\$.*)?$")


@dataclass
class ParsedList:
    domains: list[tuple[int, str]] = field(default_factory=list)  # (line, domain)
    exceptions: list[tuple[int, str]] = field(default_factory=list)  # (line, domain)
    urls: list[tuple[int, str, str]] = field(default_factory=list)  # (line, host, path)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    lines: int = 0  # non-blank, non-comment lines

    @property
    def entries(self) -> int:
        return len(self.domains) + len(self.urls)


def _clean_domain(token: str) -> str:
    d = token.strip().lower()
    if d.startswith("*."):
        d = d[2:]
    d = d.lstrip(".").rstrip(".")
    if _PLAIN.match(d) and ".." not in d:
        if len(d) > 253:
            raise HostError("host name longer than 253 characters")
        return d
    return normalise_host_uncached(d)


def parse_list(text: str, fmt: ListFormat = ListFormat.AUTO) -> ParsedList:
    """Parse a list's text. Bad lines are collected, never raised."""
    out = ParsedList()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!" or line.startswith("[Adblock"):
            continue
        out.lines += 1
        if "#" in line and fmt is not ListFormat.URLS:
            line = line.split("#", 1)[0].strip()
        try:
            if fmt is ListFormat.URLS:
                _parse_url_line(line, lineno, out)
            elif fmt is ListFormat.ADBLOCK or (fmt is ListFormat.AUTO and line.startswith(("||", "@@"))):
                _parse_adblock_line(line, lineno, out)
            else:
                parts = line.split()
                if len(parts) >= 2 or (fmt is ListFormat.HOSTS):
                    if parts[0] not in _HOSTS_SINKS or len(parts) < 2:
                        raise HostError(
                            "not a domain name, and not a hosts-file line "
                            "('0.0.0.0 name' or '127.0.0.1 name')"
                        )
                    for name in parts[1:]:
                        if name.lower() in _HOSTS_IGNORED:
                            continue
                        out.domains.append((lineno, _clean_domain(name)))
                elif fmt is ListFormat.AUTO and "/" in line:
                    _parse_url_line(line, lineno, out)
                else:
                    out.domains.append((lineno, _clean_domain(parts[0])))
        except HostError as e:
            out.bad.append((lineno, str(e)))
    return out


def _parse_adblock_line(line: str, lineno: int, out: ParsedList) -> None:
    m = _ADBLOCK.match(line)
    if not m:
        raise HostError("not a domain rule: only '||name^' and '@@||name^' are understood")
    if m.group(3) and m.group(3) not in ("$important", "$all", "$document"):
        raise HostError(f"rule options {m.group(3)} are not supported for domain blocking")
    domain = _clean_domain(m.group(2))
    (out.exceptions if m.group(1) else out.domains).append((lineno, domain))


def _parse_url_line(line: str, lineno: int, out: ParsedList) -> None:
    u = line.split("://", 1)[1] if "://" in line else line
    u = u.split("?", 1)[0].split("#", 1)[0]
    host, _, path = u.partition("/")
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    if ":" in host and not host.startswith("["):
        host = host.split(":", 1)[0]
    host = _clean_domain(host)
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]  # as squidGuard does: www.example.com/x also covers example.com/x
    if not path:
        out.domains.append((lineno, host))
    else:
        out.urls.append((lineno, host, "/" + path.lower()))


def within_budget(parsed: ParsedList, max_errors: int, max_ratio: float = 0.1) -> str | None:
    """None if a list is usable, else a plain-words reason why it is refused."""
    if parsed.entries == 0:
        return "the list has no usable entries"
    if len(parsed.bad) > max_errors and len(parsed.bad) > parsed.lines * max_ratio:
        return (
            f"{len(parsed.bad)} of {parsed.lines} lines could not be read "
            f"(more than {max_errors} and more than {max_ratio:.0%})"
        )
    return None


# --------------------------------------------------------------------------- index

MAGIC = b"SGIDX\x00\x06\x00"
EXCEPTION = 0x8000  # set in the category field of an exception entry (`@@||name^`)
EXACT = 0x4000  # set for an entry that is a public suffix: it matches that host only
CATEGORY_MASK = 0x3FFF
_HEADER = struct.Struct("<8sQII")  # magic, count, bucket_bits, meta_len


class Hit(NamedTuple):
    """One list entry that covers a request (a tuple: lookups create many)."""

    category: str
    source: str
    line: int
    matched: str  # the listed domain, or host/path for a URL entry
    locked: bool


@dataclass(frozen=True)
class SourceMeta:
    path: str  # as shown to people, e.g. "blocklists/gambling/domains"
    category: str
    kind: str  # "domains" or "urls"
    entries: int = 0
    updated: float = 0.0  # when this copy of the list was last changed (unix time)


def _bucket_bits(count: int) -> int:
    """About one entry per bucket: most misses end at an empty bucket, hits scan one or two."""
    bits = 0
    while (1 << bits) < count and bits < 24:
        bits += 1
    return bits


def pack(domain: str, cat: int, src: int, line: int) -> int:
    """One domain entry as a sortable integer: key, category (with flags), source, line."""
    if is_public_suffix(domain):
        cat |= EXACT
    return (domain_hash(domain) << 64) | (cat << 48) | (src << 32) | line


def build_index(
    categories: Sequence[str],
    locked: Iterable[str],
    sources: Sequence[SourceMeta],
    domains: Iterable[tuple[str, int, int, int]],
    urls: Iterable[tuple[str, str, int, int, int]] = (),
    info: dict[str, Any] | None = None,
    packed: list[int] | None = None,
) -> bytes:
    """Compile list entries into the index format.

    domains: (domain, category index, source index, line); an exception entry has
             EXCEPTION added to its category index
    packed:  entries already passed through `pack` (big lists: no per-entry tuples)
    urls:    (host, path prefix, category index, source index, line)
    """
    packed = packed if packed is not None else []
    packed.extend(pack(d, c, s, n) for d, c, s, n in domains)
    packed.sort()
    keys, vals, lines = array("Q"), array("I"), array("I")
    last_key = last_cat = -1
    for p in packed:
        key, cat = p >> 64, (p >> 48) & 0xFFFF
        if key == last_key and cat == last_cat:
            continue  # the same domain twice in one category: keep the first
        last_key, last_cat = key, cat
        keys.append(key)
        vals.append((cat << 16) | ((p >> 32) & 0xFFFF))
        lines.append(p & 0xFFFFFFFF)
    packed.clear()
    bits = _bucket_bits(len(keys))
    buckets = array("I", bytes(4 * ((1 << bits) + 1)))
    shift = 64 - bits
    for k in keys:
        buckets[(k >> shift) + 1 if bits else 1] += 1
    running = 0
    for i in range(len(buckets)):
        running += buckets[i]
        buckets[i] = running
    url_map: dict[str, list[list[Any]]] = {}
    for host, path, cat, src, line in urls:
        url_map.setdefault(host, []).append([path, cat, src, line, is_public_suffix(host)])
    meta = {
        "categories": list(categories),
        "locked": sorted(set(locked)),
        "sources": [s.__dict__ for s in sources],
        "urls": url_map,
        "info": info or {},
    }
    meta_bytes = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()
    meta_bytes += b" " * (-(len(meta_bytes)) % 8)
    if sys.byteorder != "little":  # the file format is little-endian
        for a in (keys, vals, lines, buckets):
            a.byteswap()
    return b"".join([_HEADER.pack(MAGIC, len(keys), bits, len(meta_bytes)), meta_bytes,
                     keys.tobytes(), vals.tobytes(), lines.tobytes(), buckets.tobytes()])


class IndexFormatError(ValueError):
    pass


class DomainIndex:
    """Read-only view over a compiled index held in any buffer (bytes or mmap)."""

    def __init__(self, buf: Any):
        view = memoryview(buf)
        if len(view) < _HEADER.size:
            raise IndexFormatError("index file is truncated")
        magic, count, bits, meta_len = _HEADER.unpack_from(view, 0)
        if magic != MAGIC:
            raise IndexFormatError("not a schoolgate index of this version")
        off = _HEADER.size
        try:
            meta = json.loads(bytes(view[off : off + meta_len]))
        except ValueError as e:
            raise IndexFormatError(f"index metadata is corrupt: {e}") from None
        off += meta_len
        need = off + count * 16 + ((1 << bits) + 1) * 4
        if len(view) < need:
            raise IndexFormatError("index file is truncated")
        self._view = view
        self.count = count
        self._keys = view[off : off + count * 8].cast("Q")
        off += count * 8
        self._vals = view[off : off + count * 4].cast("I")
        off += count * 4
        self._lines = view[off : off + count * 4].cast("I")
        off += count * 4
        self._buckets = view[off : off + ((1 << bits) + 1) * 4].cast("I")
        self._shift = 64 - bits
        self._bits = bits
        self.categories: list[str] = meta["categories"]
        self.locked = frozenset(meta["locked"])
        self.sources = [SourceMeta(**s) for s in meta["sources"]]
        self.info: dict[str, Any] = meta.get("info", {})
        self._urls: dict[str, list[list[Any]]] = meta["urls"]
        self._paths = [s.path for s in self.sources]
        self._locked_flags = [c in self.locked for c in self.categories]
        self.url_count = sum(len(v) for v in self._urls.values())

    def release(self) -> None:
        for v in (self._keys, self._vals, self._lines, self._buckets, self._view):
            v.release()

    def _entries(self, domain: str) -> list[tuple[int, int]]:
        """(packed value, line) of every entry for exactly `domain`."""
        key = xxh3_64_intdigest(domain.encode("ascii"))
        if self._bits:
            b = key >> self._shift
            lo, hi = self._buckets[b], self._buckets[b + 1]
        else:
            lo, hi = 0, self.count
        if lo == hi:
            return []
        keys = self._keys
        i = bisect.bisect_left(keys, key, lo, hi) if hi - lo > 4 else lo
        while i < hi and keys[i] < key:
            i += 1
        if i >= hi or keys[i] != key:
            return []
        out = []
        while i < hi and keys[i] == key:
            out.append((self._vals[i], self._lines[i]))
            i += 1
        return out

    def has_paths(self, host: str) -> bool:
        """Whether a URL list has an entry for `host` or a name above it (its pages
        are decided by path, so its HTTPS must be read)."""
        return bool(self._urls) and any(name in self._urls for name in candidates(host))

    def lookup(self, host: str, path: str | None = None) -> list[Hit]:
        """Every listed entry that covers `host` (and `path`), most specific first.

        An exception (`@@||name^`) for a category hides that category's entries
        for the same name and its parents, never those of locked categories.
        """
        hits: list[Hit] = []
        excepted: set[int] = set()
        cands = candidates(host)
        for depth, name in enumerate(cands):
            found = self._entries(name)
            if not found:
                continue
            for v, _ in found:
                if v >> 16 & EXCEPTION and (depth == 0 or not v >> 16 & EXACT):
                    excepted.add((v >> 16) & CATEGORY_MASK)
            for v, line in found:
                field = v >> 16
                if field & EXCEPTION or (depth and field & EXACT):
                    continue  # an exception, or a public suffix listed for itself only
                cat_index = field & CATEGORY_MASK
                locked = self._locked_flags[cat_index]
                if cat_index in excepted and not locked:
                    continue
                hits.append(Hit(self.categories[cat_index], self._paths[v & 0xFFFF], line, name, locked))
        if path is not None and self._urls:
            lpath = path.lower()
            for depth, name in enumerate(cands):
                for prefix, cat, src, line, exact in self._urls.get(name, ()):
                    if lpath.startswith(prefix) and not (depth and exact):
                        c = self.categories[cat]
                        hits.append(
                            Hit(c, self.sources[src].path, line, name + prefix, c in self.locked)
                        )
        return hits

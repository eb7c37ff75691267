"""Host names: normalisation, registrable domains and the parent-suffix walk.

Decisions made on purpose (see docs/policies.md, "How sites are matched"):
- A listed domain covers its subdomains: `example.com` blocks `www.example.com`.
- Except a listed public suffix, judged with the Public Suffix List *including
  its private section* (tldextract's bundled copy, never fetched): a listed
  `github.io`, `blogspot.com` or `co.uk` (where strangers own the subdomains)
  matches that exact host only, never every site below it; a listed
  `someone.github.io` blocks that site (and its subdomains) only.
- Hosts are compared lower-case, without a trailing dot, in punycode (IDNA 2008
  with UTS 46 mapping, falling back to the stdlib IDNA 2003 codec).
- IP literals are matched exactly (IPv6 in its compressed form).
"""

from __future__ import annotations

import functools
import ipaddress
import pkgutil
import urllib.parse

import idna
from tldextract.suffix_list import extract_tlds_from_suffix_list
from xxhash import xxh3_64_intdigest


def _load_suffixes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Rules, wildcard bases and exceptions of tldextract's bundled Public Suffix List
    (ICANN and private sections). Read from the installed package: never fetched."""
    data = pkgutil.get_data("tldextract", ".tld_set_snapshot")
    if data is None:  # pragma: no cover - tldextract always ships it
        raise RuntimeError("tldextract's bundled suffix list is missing")
    public, private = extract_tlds_from_suffix_list(data.decode("utf-8"))
    rules, wildcards, exceptions = set(), set(), set()
    for rule in (*public, *private):
        rule = idna_encode_rule(rule)
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcards.add(rule[2:])
        else:
            rules.add(rule)
    return frozenset(rules), frozenset(wildcards), frozenset(exceptions)


def idna_encode_rule(rule: str) -> str:
    if rule.isascii():
        return rule.lower()
    prefix = "!" if rule.startswith("!") else "*." if rule.startswith("*.") else ""
    body = rule[len(prefix):]
    try:
        return prefix + idna.encode(body, uts46=True).decode("ascii")
    except idna.IDNAError:
        return prefix + body.encode("idna").decode("ascii")


_RULES, _WILDCARDS, _EXCEPTIONS = _load_suffixes()
_MAX_DEPTH = max(r.count(".") for r in (*_RULES, *_EXCEPTIONS)) + 2
# Every proper tail of a rule ("co.uk" → "uk"): a longer rule can only match past one of these.
_TAILS = frozenset(r.split(".", i)[i] for r in (*_RULES, *_EXCEPTIONS, *_WILDCARDS)
                   for i in range(1, r.count(".") + 1))


class HostError(ValueError):
    pass


@functools.lru_cache(maxsize=65536)
def normalise_host(host: str) -> str:
    """Return the canonical form of a host name or IP literal (cached).

    Raises HostError for something that is not a host name.
    """
    return normalise_host_uncached(host)


def normalise_host_uncached(host: str) -> str:
    """`normalise_host` without the cache, for bulk list parsing.

    Spelled the way a browser reads a URL's host (the WHATWG URL standard):
    percent-escapes are decoded, and a name whose last label is a number is an
    IPv4 address in any of its forms (`2130706433`, `0x7f.1`, `0177.0.0.1`,
    `127.1` are all 127.0.0.1), or no host at all (`example.123`)."""
    h = host.strip()
    if "%" in h:
        h = _percent_decode(h)
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
        if not h or ip_literal(h) is None or "." in h and ":" not in h:
            raise HostError("not an IPv6 address between the brackets")
    h = h.rstrip(".").lower()
    if not h:
        raise HostError("empty host name")
    ip = ip_literal(h)
    if ip is not None:
        return ip
    if _ends_in_number(h):
        return _whatwg_ipv4(h)
    if not h.isascii():
        try:
            h = idna.encode(h, uts46=True).decode("ascii")
        except idna.IDNAError:
            try:
                h = h.encode("idna").decode("ascii")
            except UnicodeError as e:
                raise HostError(f"not a valid international domain name: {e}") from None
    if len(h) > 253:
        raise HostError("host name longer than 253 characters")
    for label in h.split("."):
        if not label:
            raise HostError("empty label (two dots in a row)")
        if len(label) > 63:
            raise HostError("label longer than 63 characters")
        if not all(c.isalnum() or c in "-_" for c in label):
            raise HostError(f"invalid character in '{label}'")
    return h


def _percent_decode(text: str) -> str:
    try:
        out = urllib.parse.unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise HostError("percent-escapes in the host name are not UTF-8") from None
    if "%" in out:
        raise HostError("a '%' in the host name")
    return out


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address as the WHATWG URL parser reads it (decimal,
    0x hex, leading-zero octal), or None if it is not a number."""
    if not part:
        return None
    base = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part, base = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, base = part[1:], 8
    if not part:
        return 0
    digits = "0123456789abcdef"[:base]
    if len(part) > 32 or any(c not in digits for c in part.lower()):
        return None
    return int(part, base)


def _ends_in_number(host: str) -> bool:
    last = host.rsplit(".", 1)[-1]
    return bool(last) and (last.isascii() and last.isdigit() or _ipv4_number(last) is not None)


def _whatwg_ipv4(host: str) -> str:
    parts = host.split(".")
    if len(parts) > 4:
        raise HostError("a host name ending in a number must be an IPv4 address")
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise HostError("a host name ending in a number must be an IPv4 address")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise HostError("an IPv4 address part out of range")
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(address))


def parse_authority(value: str) -> tuple[str, int | None]:
    """A Host header or `:authority` as a browser sends it: `host`, `host:port`,
    `[v6]` or `[v6]:port`, nothing else. Raises HostError for anything a server
    could read another way (an empty or non-numeric port, user info, spaces)."""
    text = value.strip()
    if not text or any(c in text for c in " \t@/\\?#"):
        raise HostError(f"not a host name with an optional port: {value!r}")
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HostError("an IPv6 address without its closing ']'")
        host, rest = text[: end + 1], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise HostError(f"unexpected text after the IPv6 address: {rest!r}")
            port = _port(rest[1:])
    else:
        host, sep, rest = text.rpartition(":")
        if not sep:
            host = text
        elif ":" in host:
            raise HostError("an IPv6 address must be written in brackets")
        else:
            port = _port(rest)
    return normalise_host(host), port


def _port(text: str) -> int:
    if not text or not text.isascii() or not text.isdigit() or len(text) > 5 or not 0 < int(text) < 65536:
        raise HostError(f"not a port number: {text!r}")
    return int(text)


def ip_literal(host: str) -> str | None:
    """The canonical text of an IP literal, or None if `host` is a name."""
    if not host or not (host[0].isdigit() or ":" in host):
        return None
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


def public_suffix_length(host: str) -> int:
    """How many trailing labels of `host` form its public suffix (PSL algorithm:
    the longest matching rule, exceptions first; an unknown TLD counts as one)."""
    best = 1
    end = len(host)
    k = 0
    parent = ""
    while k < _MAX_DEPTH:
        dot = host.rfind(".", 0, end)
        name = host[dot + 1:]
        k += 1
        if name in _EXCEPTIONS:
            return k - 1
        if name in _RULES or (parent and parent in _WILDCARDS):
            best = k
        if dot < 0 or (name not in _TAILS and name not in _WILDCARDS):
            break  # no longer rule ends with this name
        parent, end = name, dot
    return best


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain (eTLD+1, private suffixes included), '' if none.

    A name under a top-level domain the suffix list does not know (`.test`,
    `.internal`, a brand-new TLD) is treated as if that TLD were a suffix.
    """
    suffix = public_suffix_length(host)
    labels = host.count(".") + 1
    if suffix >= labels:
        return ""
    return host.split(".", labels - suffix - 1)[-1] if labels - suffix - 1 else host


@functools.lru_cache(maxsize=65536)
def candidates(host: str) -> tuple[str, ...]:
    """The host and each parent name with at least two labels, most specific first:
    `a.b.example.co.uk` → (a.b.example.co.uk, b.example.co.uk, example.co.uk, co.uk).

    No suffix-list work happens here (this is the hot path). The suffix rule is
    applied where entries are compiled: an entry that is itself a public suffix
    (`co.uk`, `github.io`, `blogspot.com`) is marked *exact* and matches only
    that very host, never the names below it — see `is_public_suffix`.
    """
    if (host[0].isdigit() or ":" in host) and ip_literal(host) is not None:
        return (host,)
    out = [host]
    rest = host
    while rest.count(".") > 1:
        rest = rest[rest.index(".") + 1:]
        out.append(rest)
    return tuple(out)


def is_public_suffix(name: str) -> bool:
    """True for names where strangers own the subdomains (`co.uk`, `github.io`,
    `blogspot.com`, a bare TLD): a listed one matches only itself."""
    if "." not in name:
        return ip_literal(name) is None
    if name in _EXCEPTIONS:
        return False
    if name in _RULES:
        return True
    return name.split(".", 1)[1] in _WILDCARDS


def domain_hash(domain: str) -> int:
    """A 64-bit key for the on-disk index (XXH3, stable across processes and runs)."""
    return xxh3_64_intdigest(domain.encode("ascii"))

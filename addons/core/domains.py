"""Host names: normalisation, registrable domains and the parent-suffix walk.

Decisions made on purpose (see docs/policies.md, "How sites are matched"):
- A listed domain covers its subdomains: `example.com` blocks `www.example.com`.
- The walk stops at the registrable domain, computed with the Public Suffix List
  *including its private section* (tldextract's bundled copy, never fetched).
  So a listed `someone.github.io` blocks that site only, and a listed
  `github.io` or `blogspot.com` (a suffix where strangers own the subdomains)
  matches that exact host only, never every site below it.
- Hosts are compared lower-case, without a trailing dot, in punycode (IDNA 2008
  with UTS 46 mapping, falling back to the stdlib IDNA 2003 codec).
- IP literals are matched exactly (IPv6 in its compressed form).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress

import idna
import tldextract

_extractor = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


class HostError(ValueError):
    pass


@functools.lru_cache(maxsize=65536)
def normalise_host(host: str) -> str:
    """Return the canonical form of a host name or IP literal (cached).

    Raises HostError for something that is not a host name.
    """
    return normalise_host_uncached(host)


def normalise_host_uncached(host: str) -> str:
    """`normalise_host` without the cache, for bulk list parsing."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.rstrip(".").lower()
    if not h:
        raise HostError("empty host name")
    ip = ip_literal(h)
    if ip is not None:
        return ip
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


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain (eTLD+1, private suffixes included), '' if none.

    A name under a top-level domain the suffix list does not know (`.test`,
    `.internal`, a brand-new TLD) is treated as if that TLD were a suffix.
    """
    parts = _extractor.extract_str(host)
    if parts.suffix:
        return parts.top_domain_under_public_suffix
    labels = host.rsplit(".", 2)
    return ".".join(labels[-2:]) if len(labels) >= 2 else ""


@functools.lru_cache(maxsize=65536)
def candidates(host: str) -> tuple[str, ...]:
    """The names a list entry may have to match `host`, most specific first.

    `a.b.example.com` → (a.b.example.com, b.example.com, example.com).
    A host that is itself a public suffix, an IP literal or a single label
    matches only itself.
    """
    if ip_literal(host) is not None:
        return (host,)
    base = registrable_domain(host)
    if not base or base == host:
        return (host,)
    out = [host]
    rest = host
    while rest != base:
        rest = rest.split(".", 1)[1]
        out.append(rest)
    return tuple(out)


def domain_hash(domain: str) -> int:
    """A 64-bit key for the on-disk index (stable across processes and runs)."""
    return int.from_bytes(hashlib.blake2b(domain.encode("ascii"), digest_size=8).digest(), "little")

"""Which group a device belongs to: address ranges, most specific prefix first."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Collector, suggest
from .model import Origin
from .yamlsrc import LList, LMap, check_keys

CLIENT_KEYS = ("network", "networks", "group", "name")


@dataclass(frozen=True)
class ClientRange:
    network: str  # canonical CIDR text
    group: str
    name: str | None
    origin: Origin


@dataclass(frozen=True, slots=True)
class ClientMatch:
    group: str
    range: ClientRange | None  # None: no range matched, the default group applies


def _canonical(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """IPv4-mapped IPv6 ranges (::ffff:10.0.0.0/120) become plain IPv4 ranges."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}")
    return net


def compile_clients(entries: Iterable[tuple[Any, str, int]], groups: Mapping[str, object],
                    errors: Collector) -> tuple[ClientRange, ...]:
    out: list[ClientRange] = []
    seen: dict[str, ClientRange] = {}
    for entry, source, line in entries:
        if not isinstance(entry, LMap):
            errors.error(source, line, "a client entry must be a mapping",
                         "write - {network: 10.0.7.0/24, group: grade-7, name: \"Lớp 7A\"}")
            continue
        check_keys(entry, CLIENT_KEYS, "a client entry", source, errors)
        group = entry.get("group")
        if group is None:
            errors.error(source, line, "client entry has no group", "add group: <group id>")
            continue
        if str(group) not in groups:
            errors.error(source, entry.line_of("group"), f"unknown group '{group}'",
                         suggest(str(group), groups))
            continue
        nets: list[tuple[Any, int]] = []
        if "network" in entry:
            nets.append((entry["network"], entry.line_of("network")))
        if "networks" in entry:
            items = entry["networks"]
            if isinstance(items, LList):
                nets.extend((n, items.line_of(i)) for i, n in enumerate(items))
            else:
                errors.error(source, entry.line_of("networks"), "'networks' must be a list",
                             "write networks: [10.0.7.0/24, 10.0.8.0/24]")
        if not nets and "networks" not in entry:
            errors.error(source, line, "client entry has no network",
                         "add network: 10.0.7.0/24 (or a single address)")
        name = entry.get("name")
        for net, nline in nets:
            try:
                parsed = _canonical(ipaddress.ip_network(str(net).strip(), strict=False))
            except ValueError:
                errors.error(source, nline, f"'{net}' is not an IP address or CIDR range",
                             "write an address such as 10.0.7.15 or a range such as 10.0.7.0/24")
                continue
            key = str(parsed)
            origin = Origin(source, nline)
            if key in seen:
                prev = seen[key]
                what = "conflicts with" if prev.group != str(group) else "duplicates"
                errors.error(source, nline,
                             f"{key} {what} the entry at {prev.origin} (group '{prev.group}')",
                             "list each address range once; use a more specific range for exceptions")
                continue
            cr = ClientRange(key, str(group), None if name is None else str(name), origin)
            seen[key] = cr
            out.append(cr)
    return tuple(out)


class ClientIndex:
    """Longest-prefix match over the client ranges, built once per policy version."""

    def __init__(self, ranges: Iterable[ClientRange], default_group: str):
        self.default_group = default_group
        self._v4: dict[int, dict[int, ClientRange]] = {}
        self._v6: dict[int, dict[int, ClientRange]] = {}
        for r in ranges:
            net = ipaddress.ip_network(r.network)
            table = self._v4 if net.version == 4 else self._v6
            table.setdefault(net.prefixlen, {})[int(net.network_address)] = r
        self._v4_lens = sorted(self._v4, reverse=True)
        self._v6_lens = sorted(self._v6, reverse=True)

    def match(self, address: str) -> ClientMatch:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return ClientMatch(self.default_group, None)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        value = int(ip)
        if ip.version == 4:
            table, lens, width = self._v4, self._v4_lens, 32
        else:
            table, lens, width = self._v6, self._v6_lens, 128
        for plen in lens:
            key = (value >> (width - plen)) << (width - plen) if plen else 0
            hit = table[plen].get(key)
            if hit is not None:
                return ClientMatch(hit.group, hit)
        return ClientMatch(self.default_group, None)

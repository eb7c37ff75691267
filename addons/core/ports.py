"""Ports beyond the web that a group may use: the policy key `open_ports`.

Students and guests reach the internet on TCP 80 and 443 only, through the
proxy; everything else is closed at the gateway and refused by the proxy (a
CONNECT to another port, a tunnel that is neither HTTP nor TLS). An IT admin
opens a port for one group where a lesson or a club needs it:

    open_ports: [25565/tcp, 19132/udp, "27015-27030/udp"]

A bare number means TCP. A group's own list replaces the one it inherits
(`open_ports: []` closes them again). `schoolgate gateway` turns the lists into
nftables rules and prints which group has which port open. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import Collector
from .model import Origin
from .yamlsrc import LList

WEB_PORTS = frozenset({80, 443})
PROTOCOLS = ("tcp", "udp")
MAX_RANGE = 1024  # ports in one range, so that a typo cannot open everything
_SPEC = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?(?:/(tcp|udp))?$")


@dataclass(frozen=True, slots=True)
class PortRange:
    protocol: str
    first: int
    last: int

    def __str__(self) -> str:
        ports = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return f"{ports}/{self.protocol}"

    def covers(self, protocol: str, port: int) -> bool:
        return protocol == self.protocol and self.first <= port <= self.last


@dataclass(frozen=True)
class OpenPorts:
    ranges: tuple[PortRange, ...] = ()
    origin: Origin | None = None

    def allows(self, protocol: str, port: int) -> bool:
        return any(r.covers(protocol, port) for r in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.ranges) or "none"


NO_PORTS = OpenPorts()


def parse_open_ports(value: Any, source: str, line: int | None, gid: str, errors: Collector) -> OpenPorts:
    """`open_ports` of one group; every bad entry is an error with its line."""
    origin = Origin(source, line)
    if value is None:
        return OpenPorts((), origin)
    if not isinstance(value, LList):
        errors.error(source, line, f"open_ports of group '{gid}' must be a list",
                     "write open_ports: [25565/tcp, 19132/udp]")
        return OpenPorts((), origin)
    ranges: list[PortRange] = []
    for i, item in enumerate(value):
        where = value.line_of(i)
        text = str(item).strip().lower()
        m = _SPEC.match(text)
        if m is None:
            errors.error(source, where, f"'{item}' in open_ports is not a port",
                         "write a port and a protocol, such as 25565/tcp, 19132/udp or 27015-27030/udp")
            continue
        first = int(m.group(1))
        last = int(m.group(2) or first)
        protocol = m.group(3) or "tcp"
        if not 1 <= first <= last <= 65535:
            errors.error(source, where, f"'{item}' in open_ports is out of range",
                         "ports go from 1 to 65535, the smaller one first")
            continue
        if last - first + 1 > MAX_RANGE:
            errors.error(source, where, f"'{item}' in open_ports opens {last - first + 1} ports",
                         f"open at most {MAX_RANGE} ports per entry; list the ports the service needs")
            continue
        if protocol == "tcp" and first == last and first in WEB_PORTS:
            errors.error(source, where, f"'{item}' is always open through the proxy",
                         "remove it: web traffic on 80 and 443 is filtered by schoolgate, not opened")
            continue
        ranges.append(PortRange(protocol, first, last))
    return OpenPorts(tuple(ranges), origin)

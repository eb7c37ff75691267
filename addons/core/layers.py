"""Every name a connection carries is decided, and the strictest decision wins.

A connection may name its site several times, and a student who wants around
the filter makes them disagree: `CONNECT blocked.example:443` with a TLS server
name of an allowed bank, `GET http://<listed address>/` with `Host:
wikipedia.org`, an HTTP/2 `:authority` that is not the server name. Each name
(`Name`) is decided with the group's policy (core.decide.CHECKS) and
`strictest` combines them: any block wins; a locked (illegal) list wins over
every other block; a block of a name that is not the connection's first one
has reason `mismatch`, whose rule says which names disagreed.

The connection's own facts are checks here too: a port other than the web's
(`port_verdict`), bytes that are neither HTTP nor TLS (`tunnel_verdict`), and
addresses of the gateway itself, loopback or link-local (`local_verdict`), all
with reason `tunnel` or `local`, for students and guests. Staff keep every
port and protocol. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace

from .model import Action, Kind, Origin, Reason, Verdict
from .policy import Group
from .ports import WEB_PORTS

LAYERS = {
    "connect": "the CONNECT target",
    "sni": "the TLS server name",
    "url": "the request's address",
    "host": "the Host header",
    "destination": "the destination address",
}


@dataclass(frozen=True, slots=True)
class Name:
    """One name of a connection: where it was read (a key of LAYERS) and the host."""

    layer: str
    host: str

    def __str__(self) -> str:
        return f"{LAYERS[self.layer]} {self.host}"


def distinct(names: Iterable[Name]) -> list[Name]:
    """The names in order, each host once (the first layer that carried it)."""
    seen: set[str] = set()
    out = []
    for n in names:
        if n.host not in seen:
            seen.add(n.host)
            out.append(n)
    return out


def strictest(decided: Sequence[tuple[Name, Verdict]]) -> Verdict:
    """One verdict for a connection from the verdicts of its names (first: where it goes)."""
    if not decided:
        raise ValueError("a connection with no name to decide")
    first_name, first = decided[0]
    blocks = [(n, v) for n, v in decided if v.action is Action.BLOCK]
    if not blocks:
        return first
    name, verdict = next(((n, v) for n, v in blocks if v.reason is Reason.ILLEGAL), blocks[0])
    if name.host == first_name.host or verdict.reason is Reason.ILLEGAL:
        return verdict
    return replace(verdict, reason=Reason.MISMATCH,
                   rule=f"{name} is not {first_name}, and it is blocked ({verdict.reason.value}: {verdict.rule})")


def _block(group: Group, reason: Reason, rule: str, origin: Origin | None, matched: str) -> Verdict:
    return Verdict(Action.BLOCK, reason, group.id, group.grade, group.level, rule=rule, origin=origin,
                   matched=matched)


def restricted(group: Group) -> bool:
    """Students and guests: only the web, through the filter. Staff are not restricted."""
    return group.kind is not Kind.STAFF


def port_verdict(group: Group, port: int, protocol: str = "tcp") -> Verdict | None:
    """A connection to `port`: the web's ports, or one the group's `open_ports` opens."""
    if not restricted(group) or (protocol == "tcp" and port in WEB_PORTS) or group.open_ports.allows(protocol, port):
        return None
    return _block(group, Reason.TUNNEL, f"port {port}/{protocol} is not open for this group "
                  f"(web ports 80 and 443; open_ports: {group.open_ports})", group.open_ports.origin,
                  f"{port}/{protocol}")


def tunnel_verdict(group: Group, port: int) -> Verdict | None:
    """A tunnel whose bytes are neither HTTP nor TLS (SSH, a VPN, SOCKS): only to a port
    the group opened; nothing else can be read or decided inside it."""
    if not restricted(group) or group.open_ports.allows("tcp", port):
        return None
    return _block(group, Reason.TUNNEL, f"a tunnel to port {port} that is neither HTTP nor TLS",
                  group.open_ports.origin, f"{port}/tcp")


_NEVER = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "fe80::/10", "ff00::/8"))


def local_address(address: str, own: Container[str] = frozenset()) -> bool:
    """Loopback, link-local, unspecified or multicast, or one of the gateway's own
    addresses (`own`): nothing a child's browsing should reach through the filter."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) in own or any(ip in net for net in _NEVER if net.version == ip.version)


def local_name(host: str) -> bool:
    """Names that mean this machine wherever they are looked up."""
    return host == "localhost" or host.endswith(".localhost") or host in ("localhost.localdomain", "ip6-localhost",
                                                                         "ip6-loopback")


def local_verdict(group: Group, host: str, addresses: Iterable[str], own: Container[str] = frozenset()
                  ) -> Verdict | None:
    """A name or address that leads to the gateway itself, loopback or link-local."""
    if not restricted(group):
        return None
    hit = next((a for a in addresses if local_address(a, own)), None)
    if hit is None and not local_name(host):
        return None
    where = f"{host} is {hit}" if hit and hit != host else host
    return _block(group, Reason.LOCAL, f"{where}: the gateway itself, loopback or link-local",
                  Origin("(built-in: the gateway's own addresses)"), host)

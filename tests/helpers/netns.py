"""Real network namespaces for the gateway tests: a client, a gateway running
schoolgate in transparent mode with the nftables rules, and a server. Created
per test and always removed (also on failure); the host's own interfaces and
rules are never touched."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Names the gateway resolves (its /etc/hosts inside the namespace, which `ip netns exec`
# reads from /etc/netns/<name>/hosts): the proxy connects to a name's own address.
GATEWAY_HOSTS = ("school.test", "www.school.test", "bet.test", "social.test", "games.test", "news.test")


def sh(*args: str, ns: str | None = None, check: bool = True, timeout: float = 30,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return out


@dataclass
class Topology:
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    client_ip: str = "10.77.1.2"  # grade 7 (intercepted)
    client_ip2: str = "10.77.1.3"  # guests in SNI mode
    gateway_lan: str = "10.77.1.1"
    gateway_wan: str = "10.77.2.1"
    server_ip: str = "10.77.2.2"

    @property
    def client(self) -> str:
        return f"sgc-{self.tag}"

    @property
    def gateway(self) -> str:
        return f"sgg-{self.tag}"

    @property
    def server(self) -> str:
        return f"sgs-{self.tag}"

    @property
    def lan_if(self) -> str:
        return f"g0{self.tag}"[:15]

    @property
    def etc(self) -> Path:
        return Path("/etc/netns") / self.gateway

    def create(self) -> None:
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / "hosts").write_text("127.0.0.1 localhost\n" + "".join(
            f"{self.server_ip} {name}\n" for name in GATEWAY_HOSTS), encoding="utf-8")
        for ns in (self.client, self.gateway, self.server):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        c0, g0, g1, s0 = f"c0{self.tag}", self.lan_if, f"g1{self.tag}", f"s0{self.tag}"
        sh("ip", "link", "add", c0, "netns", self.client, "type", "veth", "peer", "name", g0, "netns", self.gateway)
        sh("ip", "link", "add", g1, "netns", self.gateway, "type", "veth", "peer", "name", s0, "netns", self.server)
        sh("ip", "addr", "add", f"{self.client_ip}/24", "dev", c0, ns=self.client)
        sh("ip", "addr", "add", f"{self.client_ip2}/24", "dev", c0, ns=self.client)
        sh("ip", "addr", "add", f"{self.gateway_lan}/24", "dev", g0, ns=self.gateway)
        sh("ip", "addr", "add", f"{self.gateway_wan}/24", "dev", g1, ns=self.gateway)
        sh("ip", "addr", "add", f"{self.server_ip}/24", "dev", s0, ns=self.server)
        for ns, dev in ((self.client, c0), (self.gateway, g0), (self.gateway, g1), (self.server, s0)):
            sh("ip", "link", "set", dev, "up", ns=ns)
        sh("ip", "route", "add", "default", "via", self.gateway_lan, ns=self.client)
        sh("ip", "route", "add", "default", "via", self.gateway_wan, ns=self.server)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=self.gateway)

    def destroy(self) -> None:
        shutil.rmtree(self.etc, ignore_errors=True)
        for ns in (self.client, self.gateway, self.server):
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

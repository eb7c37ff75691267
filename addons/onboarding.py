"""Onboarding: the proxy itself answers the reserved host (setting
`schoolgate_host`, default schoolgate.local), as mitmproxy's own onboarding app
answers mitm.it: the school's CA certificate to download, how to install it on
Windows, macOS, ChromeOS, Android and iOS (Vietnamese and English), and a
sign-in page that gives a shared computer the staff policy for a few hours."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from pathlib import Path
from urllib.parse import parse_qsl

import jinja2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from mitmproxy import ctx, http

from addons.core.domains import HostError, normalise_host
from addons.core.i18n import Catalog
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra import accounts, signins

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
STAFF_GROUP = "staff"
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"


class Onboarding:
    name = "schoolgate-onboarding"  # mitmproxy has its own addon called "onboarding" (mitm.it)

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.catalog = Catalog({lang: json.loads((HERE / "locales" / f"{lang}.json").read_text("utf-8"))
                                for lang in ("vi", "en")})
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
        self.page = env.get_template("onboarding.html")
        self.signin_page = env.get_template("signin.html")

    def _host(self) -> str:
        settings: Settings = self.runtime.settings
        try:
            return normalise_host(settings.schoolgate_host)
        except HostError:
            return settings.schoolgate_host

    def _cert(self) -> x509.Certificate:
        confdir = Path(ctx.options.confdir).expanduser()
        return x509.load_pem_x509_certificate((confdir / "mitmproxy-ca-cert.pem").read_bytes())

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        try:
            host = normalise_host(flow.request.pretty_host)
        except HostError:
            return
        if host != self._host():
            return
        path = flow.request.path.split("?", 1)[0]
        address = flow.client_conn.peername[0] if flow.client_conn.peername else ""
        if path in ("/ca.pem", "/ca.crt", "/ca.cer"):
            cert = self._cert()
            data = cert.public_bytes(Encoding.PEM if path == "/ca.pem" else Encoding.DER)
            ctype = "application/x-x509-ca-cert" if path != "/ca.pem" else "application/x-pem-file"
            flow.response = http.Response.make(200, data, {
                "Content-Type": ctype, "Content-Disposition": f'attachment; filename="schoolgate-ca{path[3:]}"'})
            return
        if path in ("/setup", "/family") and self.runtime.settings.profile == "home":
            flow.response = http.Response.make(302, b"", {"Location": self._family_url(flow)})
            return
        if path == "/signin" and flow.request.method == "POST":
            await self._signin(flow, address)
            return
        if path == "/signout" and flow.request.method == "POST":
            self.runtime.signins.pop(address, None)
            await asyncio.to_thread(signins.remove, self.runtime.settings.db_path, address)
            flow.response = self._html(self.signin_page, 200, message="signin_signed_out", signed=None)
            return
        if path == "/signin":
            signed = self.runtime.signins.get(address)
            flow.response = self._html(self.signin_page, 200, message=None,
                                       signed=signed if signed and signed[1] > time.time() else None)
            return
        if path == "/":
            cert = self._cert()
            fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()
            flow.response = self._html(self.page, 200, fingerprint=":".join(
                fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)),
                name=cert.subject.rfc4514_string(), report_url=self._report_url())
            return
        flow.response = http.Response.make(404, b"Not found\n", {"Content-Type": "text/plain"})

    def _family_url(self, flow: http.HTTPFlow) -> str:
        """The parents' pages on the dashboard, at the address this device reached the gateway on."""
        settings: Settings = self.runtime.settings
        if settings.dashboard_url:
            return settings.dashboard_url.rstrip("/") + "/family/setup"
        local = flow.client_conn.sockname[0] if flow.client_conn.sockname else settings.listen_host
        host = f"[{local}]" if ":" in local else local
        return f"http://{host}:{settings.dashboard_port}/family/setup"

    def _report_url(self) -> str:
        settings: Settings = self.runtime.settings
        return settings.review_base + "/report" if settings.review_base else ""

    def _html(self, template: jinja2.Template, status: int, **context: object) -> http.Response:
        settings: Settings = self.runtime.settings
        langs = [settings.language, "en" if settings.language == "vi" else "vi"]
        html = template.render(t=self.catalog.t, langs=langs, school=settings.school_name,
                               host=settings.schoolgate_host, hours=settings.signin_hours, **context)
        return http.Response.make(status, html.encode(), {"Content-Type": "text/html; charset=utf-8",
                                                          "Content-Security-Policy": CSP, "Cache-Control": "no-store"})

    async def _signin(self, flow: http.HTTPFlow, address: str) -> None:
        settings: Settings = self.runtime.settings
        fields = dict(parse_qsl(flow.request.get_text(strict=False) or ""))
        now = time.time()
        if await asyncio.to_thread(signins.too_many_failures, settings.db_path, address, now):
            logger.warning("Sign-in on the reserved host refused: too many failures from one device.")
            flow.response = self._html(self.signin_page, 429, message="signin_too_many", signed=None)
            return
        user = await asyncio.to_thread(accounts.authenticate, settings.db_path, fields.get("name", ""),
                                       fields.get("password", ""))
        if user is None:
            await asyncio.to_thread(signins.record_failure, settings.db_path, address, now)
            logger.warning("Failed sign-in on the reserved host for %r.", fields.get("name", ""))
            flow.response = self._html(self.signin_page, 401, message="signin_failed", signed=None)
            return
        await asyncio.to_thread(signins.clear_failures, settings.db_path, address)
        expires = now + settings.signin_hours * 3600
        # In the store first, so that every proxy worker (and a restart) knows the device.
        await asyncio.to_thread(signins.add, settings.db_path, address, STAFF_GROUP, expires)
        self.runtime.signins[address] = (STAFF_GROUP, expires)
        logger.info("A staff account signed in on a device for %d hours.", settings.signin_hours)
        flow.response = self._html(self.signin_page, 200, message="signin_ok",
                                   signed=self.runtime.signins[address])

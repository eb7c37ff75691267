"""BlockPage: turns the short 403 of a blocked page request into a kind, bilingual
page (Vietnamese and English) with the reason, the 111 hotline and how to ask
for a review. Images, scripts and API calls keep the short 403."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import escape
from mitmproxy import http

from addons.core.i18n import Catalog
from addons.core.model import BLOCKED_KEY, PII_CONFIRM, PII_KEY, VERDICT_KEY, Reason, Verdict
from addons.core.settings import Settings
from addons.core.snapshot import Runtime, Snapshot

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_DESTS = {"document", "iframe", "frame", "embed", "object"}
RENDERED_KEY = "schoolgate.rendered"



def load_catalog() -> Catalog:
    return Catalog({lang: json.loads((HERE / "locales" / f"{lang}.json").read_text("utf-8"))
                    for lang in ("vi", "en")})


def wants_page(req: http.Request) -> bool:
    """A browser navigating to a page (not an image, script, XHR or API call)."""
    if req.method not in ("GET", "HEAD", "POST"):
        return False
    dest = req.headers.get("sec-fetch-dest")
    if dest is not None:
        return dest in PAGE_DESTS
    return "text/html" in req.headers.get("accept", "")


class BlockPage:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.catalog = load_catalog()
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.template = env.get_template("blockpage.html")
        self.care = env.get_template("care.html")
        self.pii = env.get_template("personal_info.html")
        self.home = env.get_template("home_limit.html")

    def request(self, flow: http.HTTPFlow) -> None:
        self.page(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        self.page(flow)  # blocks found in the response (phrase scanning, file types)

    def page(self, flow: http.HTTPFlow) -> None:
        if not flow.metadata.get(BLOCKED_KEY) or flow.error or not flow.live or flow.metadata.get(RENDERED_KEY):
            return
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        if verdict is None or flow.response is None or flow.response.stream:
            return  # a streamed response has already sent its headers
        pii = flow.metadata.get(PII_KEY)
        if not wants_page(flow.request) and pii is None:
            return
        flow.metadata[RENDERED_KEY] = True
        try:
            html = self.render(verdict, flow.request.pretty_host, self.runtime.snapshot, self.runtime.settings,
                               pii=pii)
        except Exception:
            logger.exception("Could not render the block page; the short 403 stays.")
            return
        flow.response.headers["Content-Type"] = "text/html; charset=utf-8"
        flow.response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action *; base-uri 'none'"
        )
        flow.response.content = b"" if flow.request.method == "HEAD" else html.encode("utf-8")

    def render_home(self, verdict: Verdict, langs: list[str], snapshot: Snapshot | None, now: Any = None) -> str:
        """A parent's limit (core.home): kind words, and when access comes back."""
        service = snapshot.services.by_id.get(verdict.matched or "") if snapshot else None
        names = {lang: service.name(lang) if service else self.catalog.t(lang, "home_footer") for lang in langs}
        back_time = ""
        if verdict.until is not None and snapshot is not None:
            when = datetime.fromtimestamp(verdict.until, snapshot.tz)
            today = (now or snapshot.now()).date()
            back_time = when.strftime("%H:%M") if when.date() <= today + timedelta(days=1) \
                else when.strftime("%H:%M %d/%m")
        return self.home.render(t=self.catalog.t, langs=langs, reason=verdict.reason.value, service_names=names,
                                back_time=back_time, back_midnight=verdict.reason is Reason.BUDGET,
                                icon=str(escape(service.icon)) if service else "&#127769;" if verdict.reason is Reason.BEDTIME
                                else "&#9208;", school="")

    def render(self, verdict: Verdict, host: str, snapshot: Snapshot | None,
               settings: Settings | None, now: Any = None, pii: dict[str, Any] | None = None) -> str:
        settings = settings or Settings()
        first = settings.language
        langs = [first, "en" if first == "vi" else "vi"]
        if verdict.reason is Reason.SAFEGUARDING:
            return self.care.render(t=self.catalog.t, langs=langs, school=settings.school_name,
                                    counsellor=settings.counsellor_contact)
        if verdict.reason is Reason.PERSONAL_INFO and pii is not None:
            names = {lang: ", ".join(self.catalog.t(lang, f"pii_kind_{k}") for k in pii["kinds"]) for lang in langs}
            sep = "&" if "?" in pii["url"] else "?"
            return self.pii.render(t=self.catalog.t, langs=langs, host=host, kind_names=names, form=pii["form"],
                                   url=pii["url"], confirm_url=f"{pii['url'].split('#')[0]}{sep}"
                                   f"{urlencode({PII_CONFIRM: pii['token']})}")
        if "home" in verdict.notes:
            return self.render_home(verdict, langs, snapshot, now)
        category_names = {lang: "" for lang in langs}
        group_names = {lang: verdict.group for lang in langs}
        if snapshot is not None:
            cat = snapshot.categories.by_id.get(verdict.category or "")
            if cat is not None:
                category_names = {lang: cat.name(lang) for lang in langs}
            group = snapshot.policy.groups.get(verdict.group)
            if group is not None:
                group_names = {lang: group.name(lang) for lang in langs}
        when = now or (snapshot.now() if snapshot else None)
        time_text = when.strftime("%H:%M %d/%m/%Y") if when else ""
        reference = "-".join(x for x in (verdict.reason.value, verdict.category or "", verdict.group,
                                         when.strftime("%Y%m%d%H%M") if when else "") if x)
        review_url = report_url = ""
        if settings.review_base:
            query = urlencode({"host": host, "reason": verdict.reason.value,
                               "category": verdict.category or "", "group": verdict.group})
            review_url = settings.review_base + "/review?" + query
            report_url = settings.review_base + "/report?" + urlencode({"url": host, "group": verdict.group})
        return self.template.render(
            t=self.catalog.t, langs=langs, host=host, reason=verdict.reason.value,
            category_names=category_names, group_names=group_names, time=time_text,
            reference=reference, review_url=review_url, report_url=report_url, school=settings.school_name,
            counsellor=settings.counsellor_contact, other=verdict.matched or "",
        )

"""FileTypes: blocks downloads of the group's `block_files` by the response's
MIME type or the file name it carries (Content-Disposition). Blocking by the
URL's extension happens earlier, in the core's decision."""

from __future__ import annotations

import re
from dataclasses import replace

from mitmproxy import http

from addons.core.model import (
    BLOCKED_KEY,
    CLIENT_KEY,
    SELFTEST_KEY,
    VERDICT_KEY,
    Action,
    ClientInfo,
    Reason,
    Verdict,
)
from addons.core.snapshot import Runtime
from addons.flowutil import block_at_headers

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)


class FileTypes:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or flow.error or flow.metadata.get(BLOCKED_KEY) or flow.metadata.get(SELFTEST_KEY):
            return
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        snap = self.runtime.snapshot
        if verdict is None or verdict.action is not Action.ALLOW or client is None or snap is None:
            return
        group = snap.policy.groups.get(client.group)
        if group is None or not (group.content.block_mime or group.content.block_extensions):
            return
        mime = flow.response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        what = None
        if mime in group.content.block_mime or f"{mime.split('/', 1)[0]}/*" in group.content.block_mime:
            what = mime
        else:
            m = _FILENAME.search(flow.response.headers.get("content-disposition", ""))
            if m and "." in m.group(1):
                ext = m.group(1).rsplit(".", 1)[1].strip().lower()
                if ext in group.content.block_extensions:
                    what = ext
        if what is None:
            return
        block_at_headers(flow, replace(verdict, action=Action.BLOCK, reason=Reason.FILETYPE, rule=f"block_files: {what}",
                            origin=group.content.origin("block_files"), matched=what))

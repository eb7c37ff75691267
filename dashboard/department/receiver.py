"""The department's receiver: schools POST signed exports and authority reports.

Every report is checked before anything is stored, in this order: size, the
school (registered, not disabled), the Ed25519 signature of the exact bytes
received, the JSON, the content (aggregates only, the right school). A refused
report gets a clear JSON error and leaves nothing behind; a report already
received gets 409 and is not stored twice (the school then stops re-sending it).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from addons.core.export import ExportError, check_export, valid_school_id
from addons.core.outbox import AUTHORITY_FIELDS
from addons.infra import signing
from dashboard.department.store import DepartmentStore, School
from dashboard.web import state

logger = logging.getLogger("department.receiver")


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _store(request: Request) -> DepartmentStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the report is {declared} bytes; at most {limit} are accepted")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the report is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "the connection closed before the report was complete") from None
    return b"".join(chunks)


async def _verified(request: Request) -> tuple[School, bytes, Any]:
    """The sending school, the raw body and its JSON, once every check passed."""
    settings = request.app.state.sg.settings
    body = await _body(request, settings.department_max_body)
    school_id = request.headers.get("x-schoolgate-school", "")
    if not valid_school_id(school_id):
        raise Refused(400, "the X-Schoolgate-School header is missing or not a school id")
    school = await run_in_threadpool(_store(request).school, school_id)
    if school is None:
        raise Refused(403, f"unknown school '{school_id}': the department registers it first "
                           "(schoolgate department register)")
    if school.disabled:
        raise Refused(403, f"school '{school_id}' is disabled at the department")
    try:
        signing.verify(body, request.headers.get("x-schoolgate-signature", ""), school.public_key)
    except signing.SignatureError as e:
        raise Refused(401, f"signature check failed for school '{school_id}': {e}. The report was altered, "
                           "or signed with a key the department does not have for this school") from None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"the report is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("school_id") != school_id:
        raise Refused(400, "the report's school_id does not match the sending school")
    return school, body, data


def _refusal(request: Request, e: Refused) -> JSONResponse:
    logger.warning("Refused a report from %s (%s): %s", request.client.host if request.client else "?",
                   request.headers.get("x-schoolgate-school", "-"), e.message)
    return JSONResponse({"ok": False, "error": e.message, "status": e.status}, status_code=e.status)


async def receive_export(request: Request) -> JSONResponse:
    try:
        school, _, data = await _verified(request)
        try:
            check_export(data)
        except ExportError as e:
            raise Refused(400, f"the export was refused: {e}") from None
        stored = await run_in_threadpool(_store(request).ingest, school, data, int(state(request).clock()))
    except Refused as e:
        return _refusal(request, e)
    if not stored:
        return JSONResponse({"ok": False, "status": 409, "id": data["id"],
                             "error": f"export {data['id']} was already received; nothing stored again"},
                            status_code=409)
    return JSONResponse({"ok": True, "id": data["id"], "stored": True}, status_code=201)


async def receive_authority(request: Request) -> JSONResponse:
    try:
        school, body, data = await _verified(request)
        if set(data) != set(AUTHORITY_FIELDS) or data.get("type") != "known_abuse_material":
            raise Refused(400, "not an authority report: expected the fields " + ", ".join(AUTHORITY_FIELDS))
        rid = data.get("id")
        if not isinstance(rid, str) or not 8 <= len(rid) <= 64:
            raise Refused(400, "the authority report has no valid id")
        stored = await run_in_threadpool(_store(request).ingest_authority, school, rid, body.decode(),
                                         int(state(request).clock()))
    except Refused as e:
        return _refusal(request, e)
    if not stored:
        return JSONResponse({"ok": False, "status": 409, "id": rid,
                             "error": f"authority report {rid} was already received; nothing stored again"},
                            status_code=409)
    logger.warning("Authority report %s from school %s: %s entry %s on %s", rid, school.id, data.get("list"),
                   data.get("entry"), data.get("host"))
    return JSONResponse({"ok": True, "id": rid, "stored": True}, status_code=201)

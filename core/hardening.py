"""Guards every request passes before a view sees it, and the headers every answer carries.

* **NUL characters.** PostgreSQL refuses ``\\x00`` in text, so a NUL that reached a
  query would be a 500. No request needs one: a NUL in the path, the query
  string, a header, a form field or an uploaded text file is refused before any
  view runs: 400 on pages, 422 ``invalid`` naming the input in the API. An upload
  that is not UTF-8 text is left to the view to refuse in its own words.
* **JSON bodies.** Every JSON body is parsed here, once (views and flask-openapi3
  read the cached result): malformed JSON, JSON nested deeper than
  ``MAX_JSON_DEPTH`` (Python's parser would otherwise run out of stack) and
  strings holding NUL are refused with 422 ``invalid``, the answer a body the
  schema refuses gets. An empty body is no body (optional bodies take their
  defaults). Any other body on an API route is 415, unless it is a CSV upload
  (text, multipart): a form-encoded body used to pass for "no body".
* **Headers.** A Content-Security-Policy that the pages satisfy: scripts only
  from this site or inline with the request's nonce (``csp_nonce()`` in
  templates); styles from this site and inline (templates use ``style``
  attributes; CSS cannot run script); no plugins, no framing, forms post
  only here. The API documentation page (Swagger UI) runs its own inline script
  and gets ``'unsafe-inline'`` for scripts; JSON answers get ``default-src
  'none'`` (PDFs only ``frame-ancestors 'none'``: the browser's PDF viewer is a
  plugin). Plus ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  same-origin`` and ``X-Frame-Options: DENY`` for browsers without
  ``frame-ancestors``.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from core.errors import FieldProblem, Invalid
from core.i18n import gettext

MAX_JSON_DEPTH = 32  # the deepest body the API takes is 3 levels; 32 leaves room
NUL = "\x00"
# Bodies the API takes besides JSON: CSV imports, as text or as a multipart upload.
UPLOAD_TYPES = ("text/", "multipart/form-data", "application/csv", "application/vnd.ms-excel")
DOC_PREFIXES = ("/api/v1/swagger", "/api/v1/oauth2-redirect")

PAGE_POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self'; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_POLICY = PAGE_POLICY.replace("'nonce-{nonce}'", "'unsafe-inline'")
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
FRAMING_POLICY = "frame-ancestors 'none'"


def csp_nonce() -> str:
    """This request's script nonce: ``<script nonce="{{ csp_nonce() }}">``."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def _is_text(content: bytes) -> bool:
    """True for UTF-8 text: an upload that is not (a spreadsheet, an image) is the
    view's to refuse in its own words, and PostgreSQL never sees its bytes as text."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _where_nul() -> str | None:
    """Where the request holds a NUL: ``path``, or the name of the query argument,
    header, form field or upload; None when nowhere."""
    if NUL in request.path:
        return "path"
    pairs = [*request.args.items(multi=True), *request.headers.items()]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # Cache the raw body before the form parser reads the stream: the parser then
        # works from the copy, and answer_once can still fingerprint the body.
        request.get_data(cache=True)
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            pairs += request.form.items(multi=True)
            for name, upload in request.files.items(multi=True):
                pairs.append((name, upload.filename or ""))
                content = upload.stream.read()
                upload.stream.seek(0)
                if b"\x00" in content and _is_text(content):
                    return name
        elif request.mimetype.startswith("text/"):  # a CSV import sent as the raw body
            content = request.get_data(cache=True)
            if b"\x00" in content and _is_text(content):
                return "body"
    for name, value in pairs:
        if NUL in name or NUL in value:
            return name.replace(NUL, "\\0")
    return None


def _refuse_nul() -> None:
    where = _where_nul()
    if where is None:
        return
    if request.path.startswith("/api/"):
        # For programs, the one 422 shape naming the input at fault.
        problem = FieldProblem(where, "must not contain NUL characters")
        raise Invalid(str(problem), fields=[problem])
    raise BadRequest(gettext("The request contains a NUL character, which nothing here accepts."))


def _json_problem(value: Any) -> tuple[str, str] | None:
    """(where, what) of the first thing a JSON body may not hold, walking it without
    recursion: nesting deeper than ``MAX_JSON_DEPTH``, or a NUL in a key or string."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return where, "must not contain NUL characters"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return where, f"nested deeper than {MAX_JSON_DEPTH} levels"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            if isinstance(key, str) and NUL in key:
                return where, "must not contain NUL characters in a key"
            stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
    return None


def _check_json_body() -> None:
    if not request.get_data(cache=True):
        return
    if not request.is_json:
        # A form-encoded body (curl -d) would be read as no body at all, and an
        # optional body would act on its defaults: the API takes JSON, and CSV
        # imports as text or multipart uploads.
        if request.path.startswith("/api/") and not request.mimetype.startswith(UPLOAD_TYPES):
            raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
        return
    try:
        body = request.get_json()  # cached: flask-openapi3 and views read this result
    except (BadRequest, RecursionError) as error:
        reason = (
            f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(error, RecursionError)
            else "not valid JSON"
        )
        raise Invalid(f"body: {reason}", fields=[FieldProblem("body", reason)]) from None
    problem = _json_problem(body)
    if problem is not None:
        where, what = problem
        name = where or "body"
        raise Invalid(f"{name}: {what}", fields=[FieldProblem(name, what)])


def _security_headers(response: Response) -> Response:
    headers = response.headers
    if request.path.startswith(DOC_PREFIXES):
        policy = DOCS_POLICY
    elif response.mimetype == "text/html":
        policy = PAGE_POLICY.format(nonce=csp_nonce())
    elif response.mimetype == "application/pdf":
        # The browser's own PDF viewer is a plugin that default-src 'none' would block.
        policy = FRAMING_POLICY
    else:
        policy = DATA_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_hardening(app: Flask) -> None:
    """Install the request guards (before every other ``before_request``, so nothing
    reads a request they refuse) and the security headers."""
    app.before_request_funcs.setdefault(None, []).insert(0, _check_json_body)
    app.before_request_funcs[None].insert(0, _refuse_nul)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

"""``/graphql/``: POST runs queries and mutations, a browser's GET gets GraphiQL.

Authentication is REST's (a Bearer JWT, or the session with CSRF on POST); the errors
leave in GraphQL's shape with the contract's statuses: 200 once executed, 400 refused
before execution, 401 without credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from csp.decorators import csp_update
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView
from strawberry.http.ides import get_graphql_ide_html

from dashboard.graphql import result_cache
from dashboard.graphql.context import Context
from dashboard.graphql.errors import (
    BAD_USER_INPUT,
    FORBIDDEN,
    UNAUTHENTICATED,
    error_body,
)
from dashboard.graphql.execution import Prepared, RequestError, prepare, run

_GRAPHIQL = get_graphql_ide_html(graphql_ide="graphiql")


def _inline_script_hashes(html: str) -> list[str]:
    """Return the CSP hashes of the page's inline scripts (the page is a fixed file)."""
    bodies = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in bodies
    ]


# GraphiQL is strawberry's page: React and GraphiQL from unpkg (with SRI), one inline
# script (allowed by its hash), inline styles. Only this page widens the CSP for them.
_GRAPHIQL_CSP = csp_update(
    {
        "script-src": ["https://unpkg.com", *_inline_script_hashes(_GRAPHIQL)],
        "style-src": ["https://unpkg.com", "'unsafe-inline'"],
        "font-src": ["https://unpkg.com", "data:"],
    }
)


def _refused(code: str, message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    for name, value in headers.items():
        response[name] = value
    return response


class _AnyAccept(BaseContentNegotiation):
    """Answer in JSON (or GraphiQL's HTML) whatever ``Accept`` says: the view picks."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class GraphQLView(APIView):
    content_negotiation_class = _AnyAccept
    permission_classes = [AllowAny]  # the view answers 401 itself, in GraphQL's shape
    throttle_classes: list[Any] = []  # mutations count against the write throttle

    # Not REST: its contract is the GraphQL schema (schema.graphql), not OpenAPI.
    @extend_schema(exclude=True)
    @method_decorator(_GRAPHIQL_CSP)
    def get(self, request: Request) -> HttpResponse:
        if "text/html" in request.headers.get("Accept", ""):
            get_token(request)  # GraphiQL sends the CSRF cookie back as X-CSRFToken
            return HttpResponse(_GRAPHIQL)
        return _refused(
            BAD_USER_INPUT, "Send operations by POST (application/json).", 405, Allow="GET, POST"
        )

    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        user = request.user
        body = request.data
        if not isinstance(body, dict):
            return _refused(BAD_USER_INPUT, "The body must be a JSON object.", 400)
        try:
            prepared = prepare(body.get("query"), body.get("variables"), body.get("operationName"))
        except RequestError as refused:
            if not user.is_authenticated:
                return self._unauthenticated()
            return JsonResponse({"errors": refused.errors}, status=400)
        if not user.is_authenticated and not prepared.introspection_only:
            return self._unauthenticated()
        if prepared.kind == "subscription":
            return _refused(BAD_USER_INPUT, "Subscriptions are served over WebSocket.", 400)
        return self._execute(prepared, body["query"], Context(user=user, request=request))

    def _execute(self, prepared: Prepared, query: str, context: Context) -> HttpResponse:
        """Run the operation; a cohort query's answer comes from ``result_cache`` when the
        same document, variables, audience and snapshot content were answered before."""
        key = None
        if prepared.kind == "query" and result_cache.enabled():
            key = result_cache.key_for(
                query=query,
                operation_name=prepared.operation_name,
                variables=prepared.variables,
                root=prepared.root_field(),
                context=context,
            )
        if key is not None:
            cached = result_cache.results.get(key)
            if cached is not None:
                return HttpResponse(cached, content_type="application/json")
        result = run(prepared, context)
        encoded = json.dumps(result, cls=DjangoJSONEncoder).encode()
        if key is not None and context.snapshot_only and "errors" not in result:
            result_cache.results.put(key, encoded)
        return HttpResponse(encoded, content_type="application/json")

    def _unauthenticated(self) -> JsonResponse:
        return _refused(
            UNAUTHENTICATED,
            "Authentication credentials were not provided.",
            401,
            **{"WWW-Authenticate": 'Bearer realm="api"'},
        )

    def handle_exception(self, exc: Exception) -> Any:
        """Answer DRF's refusals (a bad token, CSRF, a body that is not JSON) as GraphQL."""
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            return _refused(UNAUTHENTICATED, str(exc.detail), 401)
        if isinstance(exc, drf.PermissionDenied):
            return _refused(FORBIDDEN, str(exc.detail), 403)
        if isinstance(exc, drf.APIException):
            return _refused(BAD_USER_INPUT, str(exc.detail), exc.status_code)
        if isinstance(exc, RequestDataTooBig):
            return _refused(BAD_USER_INPUT, "The request body is too large.", 413)
        return super().handle_exception(exc)

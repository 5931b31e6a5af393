"""JSON answers are gzipped when the client accepts it; HTML pages never are (BREACH)."""

from __future__ import annotations

import gzip
import json

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from dashboard.compression import JsonGzipMiddleware

BIG = {"learners": [{"id": i, "name": f"Learner {i}", "status": "in_progress"} for i in range(200)]}


def run(response: HttpResponse, accept: str | None = "gzip, deflate, br") -> HttpResponse:
    headers = {} if accept is None else {"HTTP_ACCEPT_ENCODING": accept}
    request = RequestFactory().get("/api/x/", **headers)
    return JsonGzipMiddleware(lambda _request: response)(request)


def test_json_is_gzipped_when_the_client_accepts_gzip() -> None:
    response = run(JsonResponse(BIG))
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert json.loads(gzip.decompress(response.content)) == BIG
    assert int(response["Content-Length"]) == len(response.content)


@pytest.mark.parametrize("accept", [None, "identity", "br"])
def test_json_is_sent_as_is_without_gzip_but_still_varies(accept: str | None) -> None:
    response = run(JsonResponse(BIG), accept)
    assert not response.has_header("Content-Encoding")
    assert json.loads(response.content) == BIG
    assert "Accept-Encoding" in response["Vary"]


def test_html_pages_are_never_compressed() -> None:
    page = HttpResponse("<form><input name=csrfmiddlewaretoken value=secret></form>" * 50)
    response = run(page)
    assert not response.has_header("Content-Encoding")
    assert response.content.startswith(b"<form>")


def test_small_json_is_left_alone() -> None:
    response = run(JsonResponse({"ok": True}))
    assert not response.has_header("Content-Encoding")


@pytest.mark.django_db
def test_the_api_answers_gzipped_through_the_real_stack(client, django_user_model) -> None:
    user = django_user_model.objects.create_user("gz", password="gz")
    client.force_login(user)
    response = client.get("/api/cohorts/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "Accept-Encoding" in response["Vary"]
    login = client.get("/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert not login.has_header("Content-Encoding")

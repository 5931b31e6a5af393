"""What the compose nginx tells Django about the client, and how much Django believes
(docs/security.md)."""

from __future__ import annotations

import re

import yaml

from tests.deploy.helpers import ROOT


def test_nginx_sets_the_forwarded_for_address_instead_of_appending_the_clients():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in text
    setters = re.findall(r"proxy_set_header X-Forwarded-For (\S+);", text)
    assert setters and set(setters) == {"$remote_addr"}
    # The port the browser used reaches Django, for the WebSocket Origin check.
    assert set(re.findall(r"proxy_set_header Host (\S+);", text)) == {"$http_host"}


def test_the_web_replicas_behind_nginx_trust_exactly_one_proxy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["NUM_PROXIES"] == "1"

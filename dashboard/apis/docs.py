"""Swagger UI, served from the app under the page's Content-Security-Policy."""

from __future__ import annotations

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularSwaggerSplitView

# Swagger UI's page carries an inline <style> and the UI styles elements as it renders:
# this view alone widens the CSP for styles. Its scripts are files from the app
# (drf-spectacular-sidecar) and the split view's init script, so script-src stays 'self'.
swagger_ui = csp_update({"style-src": ["'unsafe-inline'"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)

"""The API's documentation page: the OpenAPI document, rendered on the server (no script, no CDN: the app's
CSP allows neither, and it reads on a phone and in French like the other pages)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/v1/docs")
def reference():
    document = current_app.extensions["entraide_api"].spec.to_dict()
    operations = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((path, method.upper(), operation))
    return render_template("api/docs.html", document=document, operations=operations)

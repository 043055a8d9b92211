"""API endpoints that belong to no feature: the health check (also the benchmarks' baseline)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from spectree import Response as SpecResponse

from companion.extensions import api_spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class Health(BaseModel):
    status: str


@bp.get("/health")
@api_spec.validate(resp=SpecResponse(HTTP_200=Health), tags=["meta"])
def health() -> dict[str, str]:
    """Liveness: answers without touching the database (load balancers, and the benchmarks' baseline)."""
    return {"status": "ok"}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 document of this API, generated from the views' pydantic models."""
    return jsonify(api_spec.spec)

"""The AWS ``query`` protocol (IAM, STS), server side: one parser and one serializer driven by
botocore's service models. This module only re-exports the public API of ``query_parse`` (request
→ params) and ``query_serialize`` (result / error → XML response).

Must not: hold protocol logic of its own; know any service.
"""

from __future__ import annotations

from .query_parse import MAX_BODY_BYTES, operation_name, parse_request
from .query_serialize import serialize_error, serialize_response

__all__ = ["MAX_BODY_BYTES", "operation_name", "parse_request", "serialize_error",
           "serialize_response"]

"""The AWS ``rest-xml`` protocol (S3, Route 53, CloudFront) server side: one parser and one
serializer driven by botocore's service models. This module only re-exports the public API of
``restxml_parse`` (request → params) and ``restxml_serialize`` (result / error → response);
the HTTP bindings shared with rest-json live in ``rest_common``.

Must not: hold protocol logic of its own; know any service.
"""

from __future__ import annotations

from .rest_common import match_request_uri
from .restxml_parse import MAX_BODY_BYTES, parse_request
from .restxml_serialize import host_id, is_s3, serialize_error, serialize_response

__all__ = ["MAX_BODY_BYTES", "host_id", "is_s3", "match_request_uri", "parse_request",
           "serialize_error", "serialize_response"]

"""Request validation with one JSON-Schema subset, shared with the OpenAPI document.

Schemas are plain dicts (``type``, ``properties``, ``required``, ``additionalProperties``,
``enum``, ``format: date|uuid``, ``minLength``/``maxLength``, ``minimum``/``maximum``,
``pattern``, ``items``/``minItems``/``maxItems``), so what `/openapi.json` promises is exactly what
is enforced. Every failure is an `ApiError` (400) naming the offending field. A schema's
``x-aliases`` (alias -> canonical value) makes `validate` answer the canonical value; objects
and arrays are updated in place.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import falcon

from .errors import ApiError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: Any, where: str = "body") -> None:
    """Raise 400 ``invalid_text`` when any string in ``value`` (keys included) holds a lone
    surrogate (U+D800..U+DFFF): PostgreSQL, UTF-8 and every client refuse those."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ApiError(
                400,
                "invalid_text",
                f"{where} holds a lone surrogate (U+D800..U+DFFF), which is not valid text",
                field=where,
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, f"{where}.{key}" if where != "body" else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_text(item, f"{where}[{index}]")


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _check_type(value: Any, expected: str, where: str) -> Any:
    """``value`` if it has the JSON type ``expected`` (an integral float such as ``3.0`` is
    a JSON-Schema integer, returned as `int`); else a 400."""
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    ok = isinstance(value, _TYPES[expected])
    if expected in ("integer", "number") and isinstance(value, bool):
        ok = False
    if not ok:
        raise ApiError(400, "invalid_field", f"{where} must be of type {expected}", field=where)
    return value


def _check_string(value: str, schema: Mapping[str, Any], where: str) -> None:
    if len(value) < schema.get("minLength", 0):
        raise ApiError(400, "invalid_field", f"{where} is too short", field=where)
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ApiError(
            400, "invalid_field", f"{where} is longer than {schema['maxLength']}", field=where
        )
    if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        raise ApiError(
            400, "invalid_field", f"{where} contains characters not allowed", field=where
        )
    fmt = schema.get("format")
    try:
        if fmt == "date":
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            date.fromisoformat(value)
        elif fmt == "uuid":
            uuid.UUID(value)
        elif (
            fmt == "date-time"
            and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None
        ):
            raise ValueError(value)  # a time without its offset is ambiguous
    except ValueError:
        raise ApiError(400, "invalid_field", f"{where} is not a valid {fmt}", field=where) from None


def _check_number(value: float, schema: Mapping[str, Any], where: str) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        raise ApiError(400, "invalid_field", f"{where} must be >= {schema['minimum']}", field=where)
    if "maximum" in schema and value > schema["maximum"]:
        raise ApiError(400, "invalid_field", f"{where} must be <= {schema['maximum']}", field=where)


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], where: str) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            field = f"{where}.{name}" if where else name
            raise ApiError(400, "missing_field", f"{field} is required", field=field)
    for name, item in value.items():
        field = f"{where}.{name}" if where else name
        if name not in properties:
            if schema.get("additionalProperties", True) is False:
                raise ApiError(400, "unknown_field", f"unknown field {field}", field=field)
            continue
        value[name] = validate(item, properties[name], field)
    if len(value) < schema.get("minProperties", 0):
        raise ApiError(400, "invalid_body", f"{where or 'body'} must not be empty", field=where)
    alternatives = schema.get("anyOf")
    if alternatives and not any(set(a.get("required", ())) <= set(value) for a in alternatives):
        # Our schemas use anyOf only as "one of these fields is required" (x-message says how).
        message = schema.get("x-message") or f"{where or 'body'} matches none of anyOf"
        raise ApiError(400, "missing_field", message, field=where or None)


def validate(value: Any, schema: Mapping[str, Any], where: str = "") -> Any:
    """Check ``value`` against ``schema``; return it (aliases resolved) or raise a 400 `ApiError`."""
    types = schema.get("type")
    if isinstance(types, list):
        if value is None and "null" in types:
            return value
        types = next(t for t in types if t != "null")
    if types is not None:
        value = _check_type(value, types, where or "body")
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(map(str, schema["enum"]))
        raise ApiError(400, "invalid_field", f"{where} must be one of: {allowed}", field=where)
    if isinstance(value, str):
        _check_string(value, schema, where)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, where)
    elif isinstance(value, dict):
        _check_object(value, schema, where)
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            raise ApiError(400, "invalid_field", f"{where} has too many items", field=where)
        if len(value) < schema.get("minItems", 0):
            raise ApiError(400, "invalid_field", f"{where} has too few items", field=where)
        for index, item in enumerate(value):
            value[index] = validate(item, schema.get("items", {}), f"{where}[{index}]")
    return schema.get("x-aliases", {}).get(value, value) if isinstance(value, str) else value


#: A refused body up to this many times the limit is read to its end before the 413, so
#: the connection stays usable for the client's next request (gunicorn's threaded worker
#: drops a kept-alive connection whose unread body exceeds 64 KiB, without telling the
#: client). A larger one is not read: that client's connection is closed.
DRAIN_FACTOR = 4


def _too_large(req: falcon.Request, max_bytes: int) -> ApiError:
    if req.content_length is None or req.content_length <= max_bytes * DRAIN_FACTOR:
        left = max_bytes * DRAIN_FACTOR
        while left > 0 and (chunk := req.bounded_stream.read(min(left, 65536))):
            left -= len(chunk)
    return ApiError(413, "body_too_large", f"request body exceeds {max_bytes} bytes")


def read_json(req: falcon.Request, schema: Mapping[str, Any], max_bytes: int) -> dict[str, Any]:
    """Read, size-check, parse and validate a JSON object body (absent body = ``{}``)."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise _too_large(req, max_bytes)
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_large(req, max_bytes)
    if not raw.strip():
        body: Any = {}
    else:
        media = (req.content_type or "application/json").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", "send the body as application/json")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    check_text(body)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "body must be a JSON object")
    validate(body, schema)
    return body


def query(req: falcon.Request, params: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Validate query parameters against their schemas; unknown parameters are rejected.

    Integers and booleans are converted from their text form; absent ones are left out.
    """
    values: dict[str, Any] = {}
    for name in req.params:
        if name not in params:
            raise ApiError(400, "unknown_parameter", f"unknown query parameter {name}", field=name)
    for name, spec in params.items():
        raw = req.params.get(name)
        if raw is None:
            if spec.get("required"):
                raise ApiError(400, "missing_parameter", f"{name} is required", field=name)
            continue
        if isinstance(raw, list):
            raise ApiError(400, "invalid_parameter", f"{name} must be given once", field=name)
        check_text(raw, name)
        values[name] = validate(_convert(raw, spec["schema"], name), spec["schema"], name)
    return values


def _convert(raw: str, schema: Mapping[str, Any], name: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ApiError(
                400, "invalid_parameter", f"{name} must be an integer", field=name
            ) from None
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise ApiError(400, "invalid_parameter", f"{name} must be true or false", field=name)
        return raw.lower() == "true"
    return raw

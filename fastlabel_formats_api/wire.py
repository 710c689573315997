"""The contract's methods as data: which argument goes to which wire key, when, and checked how.

An :class:`Endpoint` row holds a method's official Python signature (as text), its verb and path,
its :class:`Key` rules and its client-side checks; :func:`method` turns a row into a ``Client``
method. GET keys become the query string (lists as repeated keys), other verbs' keys the JSON
body. The rules: ``always``, ``truthy`` (left out
when falsy), ``not_none`` and ``flag`` (``true`` or nothing); ``given`` (sent when passed, even
``None``) and ``constant`` cover the newer methods.
"""

from __future__ import annotations

import ast
import base64
import copy
import inspect
import json
import os
import string
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .const import CONTENTS_MAX_CHARS, DatasetObjectType, Media
from .exceptions import FastLabelInvalidException

Values = dict
Encoder = Callable[[object, Values], object]

USER_KEYS = {"assignee": "assignee", "reviewer": "reviewer", "approver": "approver",
             "external_assignee": "externalAssignee", "external_reviewer": "externalReviewer",
             "external_approver": "externalApprover",
             **{f"workflow_{n}_user": f"workflow{n}User" for n in range(1, 7)}}


def camel(name: str) -> str:
    """``external_status`` → ``externalStatus``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Key:
    """Argument ``arg`` goes out as ``wire`` (encoded by ``encode``) under rule ``when``."""

    arg: str
    wire: str
    when: str
    encode: Encoder | None = None

    def value(self, values: Values) -> tuple[bool, object]:
        if self.when == "constant":
            return True, self.encode(None, values)
        value = values[self.arg]
        if self.when == "given" and value is ...:
            return False, None
        if (self.when == "truthy" or self.when == "flag") and not value:
            return False, None
        if self.when == "not_none" and value is None:
            return False, None
        if self.when == "flag":
            return True, True
        return True, self.encode(value, values) if self.encode else value


def always(arg: str, wire: str | None = None, encode: Encoder | None = None) -> Key:
    return Key(arg, wire or camel(arg), "always", encode)


def truthy(arg: str, wire: str | None = None, encode: Encoder | None = None) -> Key:
    return Key(arg, wire or camel(arg), "truthy", encode)


def not_none(arg: str, wire: str | None = None, encode: Encoder | None = None) -> Key:
    return Key(arg, wire or camel(arg), "not_none", encode)


def flag(arg: str, wire: str | None = None) -> Key:
    return Key(arg, wire or camel(arg), "flag")


def given(arg: str, wire: str | None = None) -> Key:
    """Sent whenever the caller passed it, ``None`` included (its default is ``...``, the
    official client's ``_UNSET``)."""
    return Key(arg, wire or camel(arg), "given")


def constant(wire: str, value: object) -> Key:
    """``wire`` always sent with ``value`` (no argument of its own)."""
    return Key("", wire, "constant", lambda _, values: value)


# encoders (never edit the caller's objects)

def as_list(value: object, values: Values) -> list:
    return list(value)


def file_base64(path: object, values: Values) -> str:
    with open(path, "rb") as file:
        return base64.b64encode(file.read()).decode("ascii")


def stripped_attributes(attributes: object, values: Values | None = None) -> list[dict]:
    """The ATTR rule: attributes without ``title``, ``name`` and ``type``."""
    return [{k: v for k, v in attribute.items() if k not in ("title", "name", "type")}
            for attribute in attributes or []]


def annotations_payload(annotations: Sequence[dict], content: str | None = None) -> list[dict]:
    """The ANN rule on a copy: no ``id``/``title``/``color``, keypoints without ``edges``/``name``,
    stripped attributes, and ``content`` set when given."""
    out = []
    for annotation in copy.deepcopy(list(annotations or [])):
        for key in ("id", "title", "color"):
            annotation.pop(key, None)
        for keypoint in annotation.get("keypoints") or []:
            keypoint.pop("edges", None)
            keypoint.pop("name", None)
        annotation["attributes"] = stripped_attributes(annotation.get("attributes"))
        if content is not None:
            annotation["content"] = content
        out.append(annotation)
    return out


def annotations_with(content: str | None = None, content_from: str | None = None) -> Encoder:
    """ANN (``content`` untouched), ANN+c=``content`` or ANN+c=<argument ``content_from``>."""
    def encode(annotations: object, values: Values) -> list[dict]:
        return annotations_payload(annotations, values[content_from] if content_from else content)
    return encode


def folder_contents(media: Media, max_files: int) -> Encoder:
    """The CONTENTS flow (F1): every file of the folder (sorted by name) inlined, checked file by file."""
    def encode(folder: object, values: Values) -> list[dict]:
        if not os.path.isdir(folder):
            raise FastLabelInvalidException("Folder does not exist.", 422)
        paths = sorted(entry.path for entry in os.scandir(folder) if not entry.name.startswith("."))
        if not paths:
            raise FastLabelInvalidException("Folder does not have any file.", 422)
        contents, chars = [], 0
        for path in paths:
            check_media(path, media)
            if len(contents) >= max_files:
                raise FastLabelInvalidException(f"The count of files should be under {max_files}", 422)
            entry = {"name": os.path.basename(path), "file": file_base64(path, values)}
            chars += len(json.dumps(entry))  # the official count: default separators
            if chars > CONTENTS_MAX_CHARS:
                raise FastLabelInvalidException(f"Supported contents size is under {CONTENTS_MAX_CHARS}.", 422)
            contents.append(entry)
        return contents
    return encode


def object_types(types: object, values: Values) -> list[str]:
    return [DatasetObjectType(item).value for item in types]


# checks (run before any request, in row order)

def check_media(path: str, media: Media, *, extension: bool = True, size: bool = True) -> None:
    """The extension, size and (video) codec checks of the contract for one upload."""
    if extension and media.extensions and not str(path).lower().endswith(media.extensions):
        raise FastLabelInvalidException(media.extension_message, 422)
    if size and os.path.getsize(path) > media.max_bytes:
        raise FastLabelInvalidException(media.size_message, 422)
    if media.h264 and video_codec(path) not in ("avc1", "h264"):
        raise FastLabelInvalidException(
            "Supported video encoding for registration through the SDK is only AVC/H.264", 422)


def video_codec(path: str) -> str:
    """The four-character codec tag OpenCV reports (``\\0\\0\\0\\0`` when unreadable)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        code = int(capture.get(cv2.CAP_PROP_FOURCC))
    finally:
        capture.release()
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))


def media_check(arg: str, media: Media, **which: bool) -> Callable[[Values], None]:
    return lambda values: check_media(values[arg], media, **which)


def limit_at_most(max_limit: int) -> Callable[[Values], None]:
    """E-LIM10 / E-LIM1000."""
    def check(values: Values) -> None:
        if values["limit"] is not None and values["limit"] > max_limit:
            raise FastLabelInvalidException(f"Limit must be less than or equal to {max_limit}.", 422)
    return check


def project_required(values: Values) -> None:
    """get_auto_annotation_jobs: ``project`` may not be None."""
    if values.get("project") is None:
        raise FastLabelInvalidException("Project is required.", 422)


def one_of_version_or_revision(values: Values) -> None:
    """E-VERREV (status 400)."""
    if values.get("version") and values.get("revision_id"):
        raise FastLabelInvalidException("only use specify one of revisionId or version.", 400)


def known_object_types(values: Values) -> None:
    """E-DOTYPE: a plain ``ValueError`` naming the accepted types."""
    for item in values.get("types") or []:
        try:
            DatasetObjectType(item)
        except ValueError:
            accepted = [member.value for member in DatasetObjectType]
            raise ValueError(f"Invalid DatasetObjectType: {item}. types must be {accepted}") from None


STD = (truthy("status"), truthy("external_status"))
PRI = not_none("priority")
TAGS = truthy("tags", encode=as_list)
META = truthy("metadatas", encode=as_list)
ATTR = truthy("attributes", encode=stripped_attributes)
PAGE = (truthy("offset"), truthy("limit"))


@dataclass(frozen=True)
class Endpoint:
    """One API method of the contract."""

    name: str
    verb: str
    path: str
    signature: str
    keys: tuple[Key, ...] = ()
    checks: tuple[Callable[[Values], None], ...] = ()
    users: bool = False
    returns_none: bool = False
    doc: str = ""


class _PathFormatter(string.Formatter):
    def convert_field(self, value: object, conversion: str | None) -> object:
        if conversion == "q":
            return urllib.parse.quote(str(value), safe="")
        return super().convert_field(value, conversion)


_PATHS = _PathFormatter()


def parse_signature(text: str, var_keyword: bool = False) -> inspect.Signature:
    """An ``inspect.Signature`` (with ``self``) from the contract's signature text."""
    tail = ", **kwargs" if var_keyword else ""
    arguments = ast.parse(f"def f(self, {text}{tail}): pass").body[0].args
    defaults = [None] * (len(arguments.args) - len(arguments.defaults)) + list(arguments.defaults)
    parameters = [inspect.Parameter(arg.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    default=_default(node)) for arg, node in zip(arguments.args, defaults)]
    if var_keyword:
        parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)


def _default(node: ast.expr | None) -> object:
    if node is None:
        return inspect.Parameter.empty
    value = ast.literal_eval(node)
    return () if value == [] else value  # an immutable stand-in for the official mutable default


def bind(signature: inspect.Signature, name: str, args: tuple, kwargs: dict) -> Values:
    """The call's arguments by name, defaults filled; unknown keyword arguments raise ``TypeError``."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}(): {error}") from None
    bound.apply_defaults()
    values = dict(bound.arguments)
    values.pop("self")
    users = values.pop("kwargs", {})
    unknown = sorted(set(users) - set(USER_KEYS))
    if unknown:
        raise TypeError(f"{name}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"the only extra ones accepted are the user slugs {', '.join(USER_KEYS)}")
    values["users"] = {USER_KEYS[key]: value for key, value in users.items()}
    return values


def request_parts(endpoint: Endpoint, values: Values) -> tuple[str, dict | None, dict | None]:
    """Checks, then (path, query, JSON body) of one call."""
    for check in endpoint.checks:
        check(values)
    path = _PATHS.format(endpoint.path, **values)
    fields = {}
    for key in endpoint.keys:
        present, value = key.value(values)
        if present:
            fields[key.wire] = value
    fields.update(values["users"])
    if endpoint.verb == "GET":
        return path, fields, None
    return path, None, (fields if fields or endpoint.verb in ("POST", "PUT") else None)

"""The schema layer: soundstage's TOML files (sessions, MIDI maps, device profiles, chain files) as typed tables.

Each file kind declares its tables once, as pydantic models built on
:class:`Table`: every key's type, range and sane bound (gains, offsets, delays,
channel counts, sizes), with unknown keys refused. :func:`validate` checks parsed
TOML against a model and turns the first problem into one error form::

    FILE: KEY: KEY = VALUE is not allowed: WHAT IS ALLOWED

e.g. ``session.toml: stems[2].gain_db: gain_db = 1000.0 is not allowed: at most 48``.

Why pydantic: it validates typed structures decoded from TOML in compiled code
(linear in the size of the file), reports every problem with its location, the
offending input and the bound it broke (``loc``, ``input``, ``ctx``), which is
exactly what the error form needs, and it is among the most widely used and
best-kept validation libraries of the Python ecosystem. msgspec is faster, but
reports only a formatted string per error; the form here needs the parts.
Models are strict: ``"3"`` is not a number and ``true`` is not 1 (TOML has real
types, so a wrong one is a mistake), and NaN/inf are refused everywhere.

What cannot be declared per key (a name used twice, a bus that is not defined, a
parameter path that must exist in a chain) stays in the loaders, in the same
error form (:func:`fail`).
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from soundstage.errors import SoundstageError, value_hint

__all__ = ["Table", "fail", "key_path", "unused_key", "validate"]

T = TypeVar("T", bound="Table")


class Table(BaseModel):
    """A TOML table with declared keys: strict types, no unknown keys, finite numbers, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def key_path(loc: tuple[Any, ...]) -> str:
    """``("stems", 2, "gain_db")`` -> ``"stems[2].gain_db"``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def unused_key(table: Table, kind: str, keys_by_kind: dict[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]] | None:
    """The first key written in ``table`` that only other kinds than ``kind`` use, with the kinds that do; None when
    every key written counts. A table whose kind ignores a key it holds did something else than it says."""
    for key, kinds in keys_by_kind.items():
        if key in table.model_fields_set and kind not in kinds:
            return key, kinds
    return None


def fail(error: type[SoundstageError], file: str, key: str, message: str) -> SoundstageError:
    """The one error form: ``FILE: KEY: MESSAGE``."""
    return error(f"{file}: {key}: {message}")


def validate(model: type[T], data: Any, *, file: str, error: type[SoundstageError], at: str = "") -> T:
    """``data`` (parsed TOML) as ``model``, or ``error`` naming the file, key, value and what is allowed.

    ``at`` is the key of ``data`` inside its file (``stages[3]``), for tables validated one by one.
    """
    if not at and isinstance(data, dict):
        _check_kind(model, data, file, error)
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        raise _describe(problem, model, file, error, at) from None
    except RecursionError:
        raise error(f"{file}: tables nest too deep; soundstage files nest a few levels at most") from None


#: The top-level key each kind of soundstage file has and no other does: what the file is, and where it goes.
_KINDS = {
    "stages": ("a chain file", "a chain goes after --chain, or in a session as a chain"),
    "stems": ("a session file", "a session goes to soundstage render, or soundstage session check"),
    "bindings": ("a MIDI map", "a MIDI map goes after --map, or in a session's [midi] as map"),
    "items": ("a batch job list", "a job list goes to soundstage batch"),
    "drivers": ("a device profile", "a device profile goes after --device, or in a chain as a stage's device"),
}


def _check_kind(model: type[Table], data: dict[str, Any], file: str, error: type[SoundstageError]) -> None:
    """A soundstage file of another kind than ``model`` (a session given as a chain) said as that, with where it goes;
    the schema would say only that its keys are unknown ("did you mean 'stems'?" for a chain given as a session)."""
    wanted = next((kind for key, (kind, _) in _KINDS.items() if key in model.model_fields), None)
    for key, (kind, use) in _KINDS.items():
        if key in data and key not in model.model_fields:
            instead = f", not {wanted}" if wanted else ""
            raise error(f"{file}: this is {kind} (it has {key}){instead}; {use}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_tag(part: Any) -> bool:
    """A union member's tag in an error's location (``constrained-str``, ``list[...]``), not a key of the file."""
    return isinstance(part, str) and ("[" in part or "-" in part or part in {"str", "int", "float", "bool"})


def _describe(problem: ValidationError, model: type[Table], file: str, error: type[SoundstageError], at: str) -> SoundstageError:
    errors = problem.errors(include_url=False)
    first = errors[0]
    if first["type"] == "missing":  # [[item]] for [[items]]: name the key written, and the one meant
        parent, wanted = tuple(first["loc"][:-1]), str(first["loc"][-1])
        written = [
            e
            for e in errors
            if e["type"] == "extra_forbidden"
            and tuple(e["loc"][:-1]) == parent
            and difflib.get_close_matches(str(e["loc"][-1]), [wanted], n=1)
        ]
        first = written[0] if written else first
    loc = tuple(first["loc"])
    tag = next((i for i, part in enumerate(loc) if _is_tag(part)), None)
    union = None
    if tag is not None and first["type"] != "extra_forbidden":  # a union (text, or a list of text): no member fits
        members = [e for e in errors if tuple(e["loc"])[:tag] == loc[:tag] and len(e["loc"]) > tag and _is_tag(e["loc"][tag])]
        inside = [e for e in members if len(e["loc"]) > tag + 1]
        shaped = [e for e in members if not str(e["type"]).endswith("_type")]  # the members the value's type fits
        if inside or len(shaped) == 1:  # the value's shape picks a member, and it (or a part of it) is wrong
            first = (inside or shaped)[0]
            loc = loc[:tag] + tuple(part for part in first["loc"][tag:] if not _is_tag(part))
        else:  # no member fits the value: each one's wants
            loc = loc[:tag]
            wants = (_allowed(e["type"], e.get("ctx") or {}, e["msg"]).removeprefix("must be ") for e in members)
            union = "must be " + " or ".join(dict.fromkeys(wants))
    key = key_path(loc)
    if at:
        key = at if not loc else (f"{at}{key}" if isinstance(loc[0], int) else f"{at}.{key}")
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), key)
    kind, value, context = first["type"], first.get("input"), first.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = sorted(_fields_at(model, loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return fail(error, file, key, f"unknown key {loc[-1]!r}{hint} (allowed: {', '.join(allowed)})")
    if kind == "missing":  # and a key written beside it that is none: say both (param = ... for target = ...)
        beside = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == loc[:-1]]
        said = " and ".join(map(repr, beside)) + (" is no key" if len(beside) == 1 else " are no keys")
        unknown = f"; {said} here (allowed: {', '.join(sorted(_fields_at(model, loc[:-1])))})"
        return fail(error, file, key, f"{name} is required" + (unknown if beside else ""))
    if kind == "list_type" and isinstance(value, dict):  # [stages] for [[stages]]: one table where a list is meant
        return fail(
            error,
            file,
            key,
            f"[{name}] holds one table where a list is wanted: write [[{name}]], with double brackets, above each",
        )
    subject = f"{name} = {_shown(value)}" if not isinstance(loc[-1], int) else f"{_shown(value)}"
    hint = value_hint(name, value)
    return fail(error, file, key, f"{subject} is not allowed: {union or _allowed(kind, context, first['msg'])}{hint}")


def _allowed(kind: str, context: dict[str, Any], message: str) -> str:
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        word, field = bounds[kind]
        return f"{word} {context[field]:g}" if isinstance(context.get(field), float) else f"{word} {context.get(field)}"
    if kind == "literal_error":
        return f"one of {context.get('expected', '')}"
    if kind in ("too_long", "too_short", "string_too_long", "string_too_short"):
        short = kind.endswith("too_short")
        limit = context.get("min_length" if short else "max_length")
        if limit is None:
            return message.lower().replace("list should have", "a list of").replace("string should have", "text of")
        unit = "character" if kind.startswith("string") else "item"
        what = "text" if unit == "character" else "a list"
        return f"must be {what} of {'at least' if short else 'at most'} {limit} {unit}{'s' if limit != 1 else ''}"
    if kind == "finite_number":
        return "a finite number (not nan or inf)"
    if kind in ("bool_type", "bool_parsing"):  # pydantic's "a valid boolean" names no value that is one
        return "must be true or false (TOML's booleans: no quotes, lower case)"
    if kind == "value_error":  # a validator's own words: what is allowed
        return message.removeprefix("Value error, ")
    text = message[0].lower() + message[1:] if message else kind
    return text.replace("input should be", "must be").replace("a valid dictionary or instance of", "a table of")


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a table at ``loc`` may have (for the unknown-key hint)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The model inside ``list[Model]``, ``Model | None``, ``tuple[Model, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None if get_origin(annotation) is None else None

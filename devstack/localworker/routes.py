"""HTTP trigger route templates (ASP.NET Core syntax, as the Functions host matches them).

Supported: literal segments (case-insensitive), `{name}`, `{name?}` (optional), `{name=default}`,
`{*name}` (catch-all, last), constraints `{id:int}`, `long`, `bool`, `guid`, `alpha`, and segments that
mix literals and parameters (`{name}.{ext}`). Other constraints (`minlength(3)`, `regex(...)`...) are
accepted but not enforced locally; `unenforced` lists them so the worker can say so at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from devstack.localworker.errors import WorkerConfigError

_PARAMETER = re.compile(r"\{(?P<body>[^{}]+)\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "alpha": r"[A-Za-z]+",
}


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; `match(path)` returns the route parameters or None."""

    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    defaults: tuple[tuple[str, str], ...]
    unenforced: tuple[str, ...]
    precedence: tuple[int, int, int]

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters of `path` (relative to the route prefix, e.g. 'builds/42'), or None."""
        found = self.pattern.match("/" + path.strip("/") if path.strip("/") else "")
        if found is None:
            return None
        params = dict(self.defaults)
        for index, name in enumerate(self.names):
            value = found.group(f"p{index}")
            if value is not None:
                params[name] = unquote(value)
        return params


def compile_route(template: str) -> RouteTemplate:
    """Compile an HTTP trigger's `route`; errors name the route and the fix."""
    segments = [segment for segment in template.strip().strip("/").split("/")]
    if segments == [""]:
        segments = []
    regex, names, defaults, unenforced = "", [], [], []
    literal_count = parameter_count = catch_all = 0
    for position, segment in enumerate(segments):
        if not segment:
            raise WorkerConfigError(f"route {template!r} has an empty segment ('//'); remove it")
        parts, optional, last = _segment(segment, template, names, defaults, unenforced)
        if last and position != len(segments) - 1:
            raise WorkerConfigError(
                f"route {template!r}: a catch-all parameter {{*name}} must be the last segment"
            )
        catch_all += last
        parameter_count += "{" in segment
        literal_count += "{" not in segment
        regex += f"(?:/{parts})?" if optional else f"/{parts}"
    pattern = re.compile(f"^{regex}/?$", re.IGNORECASE)
    return RouteTemplate(
        template=template,
        pattern=pattern,
        names=tuple(names),
        defaults=tuple(defaults),
        unenforced=tuple(unenforced),
        precedence=(catch_all, -literal_count, parameter_count),
    )


def _segment(
    segment: str, template: str, names: list[str], defaults: list[tuple[str, str]], unenforced: list[str]
) -> tuple[str, bool, bool]:
    """The regex of one segment, whether it may be absent, whether it is a catch-all."""
    regex, position, optional, catch_all = "", 0, False, False
    parameters = list(_PARAMETER.finditer(segment))
    for found in parameters:
        regex += re.escape(segment[position : found.start()])
        position = found.end()
        body = found["body"]
        if body.startswith("*"):
            if len(parameters) != 1 or segment != found.group(0):
                raise WorkerConfigError(f"route {template!r}: a catch-all must be a whole segment")
            body, catch_all = body.lstrip("*"), True
        name, constraint_regex, default, is_optional = _parameter(body, template, unenforced)
        if name in names:
            raise WorkerConfigError(f"route {template!r} uses parameter {name!r} twice; rename one")
        group = f"p{len(names)}"
        names.append(name)
        if default is not None:
            defaults.append((name, default))
        if catch_all:
            regex += f"(?P<{group}>.*)"
            optional = True
        else:
            regex += f"(?P<{group}>{constraint_regex})"
            optional = optional or ((is_optional or default is not None) and segment == found.group(0))
    regex += re.escape(segment[position:])
    if "{" in segment[position:] or "}" in segment[position:]:
        raise WorkerConfigError(f"route {template!r}: unbalanced braces in segment {segment!r}")
    return regex, optional, catch_all


def _parameter(body: str, template: str, unenforced: list[str]) -> tuple[str, str, str | None, bool]:
    default = None
    if "=" in body:
        body, default = body.split("=", 1)
    optional = body.endswith("?")
    body = body.rstrip("?")
    name, *constraints = body.split(":")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise WorkerConfigError(
            f"route {template!r}: {name!r} is not a parameter name; use letters, digits, _"
        )
    regex = r"[^/]+"
    for constraint in constraints:
        key = constraint.lower()
        if key in _CONSTRAINTS:
            regex = _CONSTRAINTS[key]
        else:
            unenforced.append(f"{{{name}:{constraint}}}")
    return name, regex, default, optional

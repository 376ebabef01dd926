"""The Jinja2 environment the report and the service render their pages with.

Autoescaping is on, and every value a template prints goes through the report's own
escaping (`render.esc`: controls made visible, bidi overrides and isolates shown as marks,
directional marks dropped) rather than plain HTML escaping; ``|attrv`` is the escaping
for attribute values and ``<title>`` (`render.attr`). Fragments built by the report's
helpers arrive as `Markup` and pass unchanged. Templates live in
``khabar/report/templates`` (the report's) and ``khabar/service/templates`` (the
service's pages, which extend the report's frame).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import ChoiceLoader, Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup


def _finalize(value: Any) -> Any:
    from khabar.report.render import esc

    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value
    return Markup(esc(value))


def _attr(value: Any) -> Markup:
    from khabar.report.render import attr

    return Markup(attr("" if value is None else value))


def _templates(package: str) -> FunctionLoader:
    """Templates read through importlib.resources: they load wherever the package does,
    including from the zip of khabar's source a Spark executor imports it from (Jinja2's
    PackageLoader does not find them there when the zip's path is relative)."""
    root = resources.files(package).joinpath("templates")

    def load(name: str) -> str | None:
        path = root.joinpath(*name.split("/"))
        return path.read_text("utf-8") if path.is_file() else None

    return FunctionLoader(load)


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([_templates("khabar.report"), _templates("khabar.service")]),
        autoescape=True, finalize=_finalize, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["attrv"] = _attr
    return env


def render(name: str, **context: Any) -> str:
    """Render template `name` (deterministic: the same context gives the same bytes)."""
    return environment().get_template(name).render(**context)


__all__ = ["Markup", "environment", "render"]

"""Template versions in the database: which version a run follows, which one new runs start on, installing
a new version, and reading any version back (a run is always read with its own version's template).

Versions are immutable once installed; the packaged template is version 1 of "account-management".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, fn

from acct_tui.errors import DomainError
from acct_tui.store.models import Run, TemplateVersion
from acct_tui.store.prepared import Prepared
from acct_tui.template import Template, parse_stored_template


@dataclass(frozen=True, slots=True)
class VersionRow:
    name: str
    version: int
    title: str
    installed_at: datetime
    installed_by: str
    runs: int
    current: bool  # new runs start on this version


_TEMPLATE_TEXT = Prepared(lambda name, version: TemplateVersion.select(TemplateVersion.text).where(
    (TemplateVersion.name == name) & (TemplateVersion.version == version)).tuples())


def template_version(name: str, version: int) -> Template:
    """Version `version` of the template `name`, as the database keeps it."""
    text = _TEMPLATE_TEXT.scalar(name, version)
    if text is None:
        raise DomainError(f"Version {version} of the template “{name}” is not in this database.")
    return parse_stored_template(text, version)


def latest_version_number(name: str) -> int | None:
    return TemplateVersion.select(fn.MAX(TemplateVersion.version)).where(TemplateVersion.name == name).scalar()


def current_template() -> Template:
    """The version new runs start on: the one installed last (the packaged template until another is)."""
    newest = list(
        TemplateVersion.select(TemplateVersion.name, TemplateVersion.version)
        .order_by(TemplateVersion.installed_at.desc(), TemplateVersion.version.desc())
        .limit(1)
        .tuples()
    )
    if not newest:
        raise DomainError("No template is installed in this database; open it with acct-tui to set it up.")
    return template_version(*newest[0])


def run_template(run: Run) -> Template:
    return template_version(run.template_name, run.template_version)


class TemplateCache:
    """Templates of many runs in one read (a report over the portfolio): each version is read once."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, int], Template] = {}

    def get(self, name: str, version: int) -> Template:
        key = (name, version)
        if key not in self._templates:
            self._templates[key] = template_version(name, version)
        return self._templates[key]


def template_versions() -> list[VersionRow]:
    """Every installed version, oldest first, with how many runs follow it."""
    runs = (
        Run.select(Run.template_name, Run.template_version, fn.COUNT(Run.id).alias("runs"))
        .group_by(Run.template_name, Run.template_version)
        .alias("runs")
    )
    query = (
        TemplateVersion.select(TemplateVersion.name, TemplateVersion.version, TemplateVersion.text,
                               TemplateVersion.installed_at, TemplateVersion.installed_by, runs.c.runs)
        .join(runs, JOIN.LEFT_OUTER, on=((runs.c.template_name == TemplateVersion.name)
                                         & (runs.c.template_version == TemplateVersion.version)))
        .order_by(TemplateVersion.name, TemplateVersion.version)
        .tuples()
    )
    current = current_template()
    return [
        VersionRow(name, version, parse_stored_template(text, version).name, at, by, count or 0,
                   (name, version) == (current.key, current.version))
        for name, version, text, at, by, count in query
    ]

"""Reading the project's Markdown for the doc tests: which files, their code blocks, commands, tables, inline
code, links and headings. Pure functions over text, plus the list of files."""

from __future__ import annotations

import re
from pathlib import Path

from devstack.azurite import PROJECT_ROOT

TRANSLATION = ".zh-CN"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
SETTING = re.compile(r"\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|AzureWebJobsStorage(?:__\w+)?|AzureFunctions\w+__\w+)\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
PLACEHOLDER = re.compile(r"<[^<>\n]+>")


def doc_files() -> list[Path]:
    """The README and every page under docs/, English and translated."""
    return [PROJECT_ROOT / "README.md", PROJECT_ROOT / "README.zh-CN.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def english_files() -> list[Path]:
    return [path for path in doc_files() if not path.name.endswith(TRANSLATION + ".md")]


def translations() -> list[tuple[Path, Path]]:
    """(English, translated) pairs: every `<name>.zh-CN.md` beside its `<name>.md`."""
    return [(path.with_name(path.name.replace(TRANSLATION + ".md", ".md")), path)
            for path in doc_files() if path.name.endswith(TRANSLATION + ".md")]  # fmt: skip


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def command_lines(text: str) -> list[str]:
    """The commands of the bash blocks: continuation lines joined, each without its trailing `# comment` (prose,
    which a translation translates), whitespace collapsed."""
    found = []
    for body in blocks(text, "bash"):
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            code = re.sub(r"(^|\s)#\s.*$", "", line).strip()
            if code:
                found.append(" ".join(code.split()))
    return found


def prose(text: str) -> str:
    """The text outside code blocks."""
    return FENCE.sub("", text)


def inline_code(text: str) -> list[str]:
    return INLINE.findall(prose(text))


def settings_named(text: str) -> set[str]:
    """Setting-like names in the inline code of the prose (and the tables)."""
    return {name for span in inline_code(text) for name in SETTING.findall(span)}


def table_rows(text: str) -> list[list[str]]:
    """Every row of every Markdown table outside code blocks, as stripped cells (separator rows left out)."""
    rows = []
    for line in prose(text).splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|") and not re.fullmatch(r"\|[\s|:-]+\|", line):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])])
    return rows


def code_spans(cell: str) -> list[str]:
    return INLINE.findall(cell)


def section(text: str, heading: str) -> str:
    """The text under `## <heading>` up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", text, re.MULTILINE)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, match.end())
    return text[match.end(): end.start() if end else len(text)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(h) for h in HEADING.findall(prose(text))}


def links(text: str) -> list[str]:
    """Link targets of the prose that are not web addresses."""
    return [target for target in LINK.findall(prose(text)) if not re.match(r"[a-z]+:", target)]

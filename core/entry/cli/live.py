"""The live view of builds in progress (`status --watch`, `make demo`): one block per build with its status,
the current step in words and a bar per region, fitted to the terminal's width with `rich`; plain lines
(printed when something changed) when the output is not a terminal."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.entry.cli.status_text import shorten, step_words

Item = tuple[str, dict[str, Any] | None]  # (label, status document or None while it does not exist yet)
_STYLE = {"Succeeded": "bold green", "Failed": "bold red", "Rejected": "bold red", "Cancelled": "yellow",
          "Completed": "green", "Replicating": "cyan"}


def plain_lines(items: Sequence[Item], width: int = 100) -> list[str]:
    """The same content as the live view, as lines of at most `width` characters."""
    lines: list[str] = []
    for label, document in items:
        if document is None:
            lines.append(shorten(f"{label}: not found yet", width))
            continue
        lines.append(shorten(f"{label}: {document['status']} - {step_words(document)}", width))
        for name, info in sorted((document.get("regions") or {}).items()):
            progress = _percent(info.get("progress"))
            lines.append(shorten(f"  {name:<14} {progress:>3}%  {info.get('state', '?')}", width))
    return lines


def _percent(value: Any) -> int:
    try:
        return max(0, min(100, int(value)))
    except (TypeError, ValueError):
        return 0


def render(items: Sequence[Item], width: int) -> Any:
    """A rich renderable of every build, no line wider than `width` (rich measures what it draws)."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    blocks: list[Any] = []
    for label, document in items:
        heading = Text(no_wrap=True, overflow="ellipsis")
        heading.append(label, style="bold")
        if document is None:
            heading.append("  not found yet", style="dim")
            blocks.append(heading)
            continue
        status = document["status"]
        heading.append("  ")
        heading.append(status, style=_STYLE.get(status, "bold"))
        blocks.append(heading)
        blocks.append(Text("  " + step_words(document), no_wrap=True, overflow="ellipsis", style="dim"))
        regions = sorted((document.get("regions") or {}).items())
        if regions:
            name_width = min(18, max(len(name) for name, _ in regions))
            bar_width = max(5, width - name_width - 4 - 5 - 13)
            table = Table.grid(padding=(0, 1))
            table.add_column(width=name_width, no_wrap=True, overflow="ellipsis")
            table.add_column(width=bar_width)
            table.add_column(width=4, justify="right")
            table.add_column(width=12, no_wrap=True, overflow="ellipsis")
            for name, info in regions:
                progress = _percent(info.get("progress"))
                state = str(info.get("state", "?"))
                table.add_row(name, ProgressBar(total=100, completed=progress, width=bar_width),
                              f"{progress}%", Text(state, style=_STYLE.get(state, "")))
            blocks.append(Padding(table, (0, 0, 0, 2)))
    return Group(*blocks)


def watch(fetch: Callable[[], Sequence[Item]], *, interval: float, stop: Callable[[Sequence[Item]], bool],
          out: Any = None) -> Sequence[Item]:
    """Redraw `fetch()` every `interval` seconds until `stop(items)`; returns the last items."""
    import sys

    out = out or sys.stdout
    items = fetch()
    if not out.isatty() or importlib.util.find_spec("rich") is None:  # rich is a development requirement
        last: list[str] = []
        while True:
            lines = plain_lines(items)
            if lines != last:
                print(f"[{time.strftime('%H:%M:%S')}]", *lines, sep="\n", file=out, flush=True)
                last = lines
            if stop(items):
                return items
            time.sleep(interval)
            items = fetch()
    from rich.console import Console
    from rich.live import Live

    console = Console(file=out)
    with Live(render(items, console.width), console=console, auto_refresh=False, transient=False) as live:
        while not stop(items):
            time.sleep(interval)
            items = fetch()
            live.update(render(items, console.width), refresh=True)
    return items

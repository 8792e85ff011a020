"""`make package`: the zip that is deployed, built as azd and Core Tools build it (the folder minus `.funcignore`).

    python -m devstack.package [--output .run/package.zip]

Prints the file count and size. `.funcignore` takes gitignore's common forms: `name` matches a file or
folder at any depth (globs allowed), `/name` only at the top, a trailing `/` only folders.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from devstack.azurite import PROJECT_ROOT


@dataclass(frozen=True)
class Pattern:
    glob: str
    anchored: bool
    directory_only: bool

    @classmethod
    def parse(cls, line: str) -> Pattern:
        text = line.strip()
        return cls(glob=text.strip("/"), anchored=text.startswith("/"), directory_only=text.endswith("/"))

    def excludes(self, parts: tuple[str, ...], is_dir: bool) -> bool:
        """Whether this pattern drops the path whose components are `parts`."""
        if self.directory_only and not is_dir:
            return False
        if self.anchored:
            return len(parts) == 1 and fnmatch.fnmatchcase(parts[0], self.glob)
        return fnmatch.fnmatchcase(parts[-1], self.glob)


def read_funcignore(root: Path) -> list[Pattern]:
    path = root / ".funcignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [Pattern.parse(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def package_files(root: Path = PROJECT_ROOT) -> list[str]:
    """The package's files, relative POSIX paths, sorted: every file under `root` no pattern drops."""
    patterns = read_funcignore(root)
    kept: list[str] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).parts
        dirs[:] = sorted(d for d in dirs if not any(p.excludes((*base, d), True) for p in patterns))
        kept.extend("/".join((*base, f)) for f in files if not any(p.excludes((*base, f), False) for p in patterns))
    return sorted(kept)


def build(output: Path, root: Path = PROJECT_ROOT) -> list[str]:
    files = package_files(root)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(root / name, name)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.package", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / ".run" / "package.zip")
    args = parser.parse_args(argv)
    files = build(args.output)
    size = args.output.stat().st_size
    unpacked = sum((PROJECT_ROOT / f).stat().st_size for f in files)
    print(f"{args.output}: {len(files)} files, {size / 1024:.0f} KiB zipped ({unpacked / 1024:.0f} KiB unpacked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

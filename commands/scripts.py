"""Stored scripts: files in the configured script folders, found by relative path."""
from __future__ import annotations

from pathlib import Path

from scriptserver.jobs.errors import RequestRefused


class ScriptFolders:
    def __init__(self, folders: list[Path]):
        self.folders = [f.resolve() for f in folders]

    def resolve(self, name: str) -> Path:
        """The script's absolute path; refused if it is outside every script folder."""
        if not self.folders:
            raise RequestRefused("no script folders are configured, so script_file cannot be used")
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise RequestRefused(f"script_file {name!r} must be a path inside a script folder "
                                 "(relative, without '..')")
        for folder in self.folders:
            path = (folder / name).resolve()
            if not path.is_relative_to(folder):
                raise RequestRefused(f"script_file {name!r} leads outside the script folders")
            if path.is_file():
                return path
        known = ", ".join(self.available()[:20]) or "none"
        raise RequestRefused(f"no script {name!r} in the script folders; available: {known}")

    def available(self) -> list[str]:
        return sorted(str(p.relative_to(f)) for f in self.folders for p in f.rglob("*.py"))

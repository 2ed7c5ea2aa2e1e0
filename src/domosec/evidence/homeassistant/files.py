"""Reading files of a Home Assistant configuration directory, and nothing outside it.

Every path is resolved (following symbolic links) and must stay inside the configuration
directory; a symbolic-link loop, a file over the size limit or a path that escapes the
directory is refused with a diagnostic instead of an exception from the operating system.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from domosec.errors import Diagnostic, InputError
from domosec.output_file import protect_input

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Largest single file read (a registry of a very large home is a few megabytes)."""

GIT_CRYPT_HEADER = b"\x00GITCRYPT\x00"
"""How a file encrypted by git-crypt begins (people encrypt secrets.yaml and .storage before publishing a configuration)."""


class HomeAssistantInputError(InputError):
    """The Home Assistant configuration cannot be imported (exit code 2)."""


def problem(file: str, code: str, message: str, *, position: tuple[int, int] | None = None, hint: str = "") -> HomeAssistantInputError:
    """An :class:`HomeAssistantInputError` holding one diagnostic."""
    return HomeAssistantInputError([Diagnostic.at(file, position, code, message, hint=hint)])


@dataclass
class ConfigDir:
    """A Home Assistant configuration directory opened for reading."""

    root: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    shown_root: str = ""
    warnings: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ConfigDir:
        shown = str(path)
        try:
            root = Path(path).resolve(strict=True)
        except FileNotFoundError:
            raise problem(shown, "ha-not-found", "no such directory") from None
        except (RuntimeError, OSError) as exc:
            raise problem(shown, "ha-unreadable", f"cannot open the directory ({_reason(exc)})") from None
        if not root.is_dir():
            raise problem(shown, "ha-not-a-directory", "expected a Home Assistant configuration directory, found a file")
        return cls(root, max_bytes, shown.rstrip("/") or "/")

    def show(self, relative: str) -> str:
        """The path to print for a file of the directory (as the user named the directory)."""
        return f"{self.shown_root}/{relative}" if relative else self.shown_root

    def resolve(self, relative: str, *, referrer: str = "", position: tuple[int, int] | None = None) -> Path:
        """The real path of ``relative``; refuses loops and anything that resolves outside the directory."""
        shown = self.show(relative)
        try:
            real = (self.root / relative).resolve(strict=True)
        except FileNotFoundError:
            raise problem(referrer or shown, "ha-not-found", f"{relative}: no such file", position=position) from None
        except RuntimeError:
            raise problem(referrer or shown, "ha-symlink-loop", f"{relative}: symbolic links form a loop", position=position) from None
        except OSError as exc:
            code = "ha-symlink-loop" if exc.errno == errno.ELOOP else "ha-unreadable"
            raise problem(referrer or shown, code, f"{relative}: {_reason(exc)}", position=position) from None
        if real != self.root and self.root not in real.parents:
            raise problem(
                referrer or shown,
                "ha-outside-config",
                f"{relative} resolves to {real}, outside the configuration directory; it is not read",
                position=position,
            )
        return real

    def exists(self, relative: str) -> bool:
        return os.path.lexists(self.root / relative)

    def read_bytes(self, relative: str, *, referrer: str = "", position: tuple[int, int] | None = None) -> bytes:
        """The content of a file of the directory, within the size limit."""
        real = self.resolve(relative, referrer=referrer, position=position)
        shown = self.show(relative)
        try:
            info = real.stat()
        except OSError as exc:
            raise problem(shown, "ha-unreadable", _reason(exc)) from None
        if stat.S_ISDIR(info.st_mode):
            raise problem(shown, "ha-not-a-file", "is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):
            # Refused before opening: opening a FIFO blocks until a writer comes, a device may never end.
            raise problem(shown, "ha-not-a-file", f"is {_special_kind(info.st_mode)}, not a regular file; it is not read")
        if info.st_size > self.max_bytes:
            raise problem(
                shown,
                "ha-file-too-large",
                f"too large: the file is {info.st_size:,} bytes, over the limit of {self.max_bytes:,} bytes; nothing was imported",
                hint="raise the limit with --max-bytes if the file is genuine",
            )
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                opened = os.fstat(handle.fileno())
                if not stat.S_ISREG(opened.st_mode):  # replaced between the check and the open
                    raise problem(shown, "ha-not-a-file", "is not a regular file; it is not read")
                protect_input(opened)  # no -o of this import may replace a file it read
                data = handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise problem(shown, "ha-unreadable", _reason(exc)) from None
        if len(data) > self.max_bytes:
            raise problem(
                shown, "ha-file-too-large", f"too large: the file grew over the limit of {self.max_bytes:,} bytes while being read"
            )
        if data.startswith(GIT_CRYPT_HEADER):
            raise problem(
                shown,
                "ha-encrypted",
                "is encrypted with git-crypt, so it cannot be read; nothing was imported",
                hint="run 'git-crypt unlock' in the repository and import again",
            )
        return data

    def read_text(self, relative: str, *, referrer: str = "", position: tuple[int, int] | None = None) -> str:
        raw = self.read_bytes(relative, referrer=referrer, position=position)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise problem(self.show(relative), "ha-not-utf8", f"byte {exc.start} is not valid UTF-8", position=(line, 1)) from None

    def warn(self, file: str, code: str, message: str, *, hint: str = "") -> None:
        """Record a problem that leaves the import partial but usable."""
        self.warnings.append(Diagnostic(file, None, None, code, message, severity="warning", hint=hint))


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "a special file"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__

"""Listing an FTP folder on the servers people run: MLSD when offered, else LIST, else NLST.

- `MLSD` is sent **without** `OPTS MLST` (vsftpd answers `501 Option not understood` to it, and
  servers send their default facts anyway); facts a server leaves out are asked with `SIZE`/`MDTM`.
- A server without MLSD (vsftpd, older IIS) answers `500`/`502`: the folder is listed with `LIST`
  (Unix `ls -l` or DOS/IIS lines), each file's exact time asked with `MDTM`; if the lines cannot be
  read, `NLST` plus `SIZE`/`MDTM` per name.
- Only a `550` means "no such folder"; a `501` to MLSD means "try the next method" (pyftpdlib says
  `501` for a missing folder, its `LIST` then answers the real `550`). vsftpd lists a missing
  folder as empty: an empty listing is confirmed with `CWD`.
"""

from __future__ import annotations

import fnmatch
import ftplib
import posixpath
import re
from datetime import UTC, datetime, tzinfo

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.transfer.files.listing import RemoteFile

__all__ = ["FTPLister", "parse_list_line", "parse_ftp_time", "reply_code"]

_UNIX = re.compile(
    r"^(?P<kind>[-dlbcps])[-rwxsStTl@+.]{9}\S*\s+\d+\s+\S+\s+(?:\S+\s+)?(?P<size>\d+)\s+"
    r"(?P<date>\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4}))\s(?P<name>.+)$"
)
_DOS = re.compile(r"^\d{2}-\d{2}-\d{2,4}\s+\d{1,2}:\d{2}\s*[AP]M\s+(?P<size><DIR>|\d+)\s+(?P<name>.+)$", re.I)
_NEXT_METHOD = ("500", "501", "502", "504")


def reply_code(error: BaseException) -> str:
    """The three-digit FTP reply code of an `ftplib` error (`""` if there is none)."""
    text = str(error)
    return text[:3] if text[:3].isdigit() else ""


def parse_ftp_time(text: str, server_timezone: tzinfo | None = None) -> datetime | None:
    """`20240131235959` (MDTM/MLSD `modify`, optional fraction) as a UTC datetime.

    The standard (RFC 3659) says UTC; `server_timezone` is for servers that send local time
    (vsftpd with `use_localtime=YES`, as in Debian's shipped configuration).
    """
    try:
        naive = datetime.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if server_timezone is None:
        return naive.replace(tzinfo=UTC)
    return naive.replace(tzinfo=server_timezone).astimezone(UTC)


def parse_list_line(line: str) -> tuple[str, bool, int] | None:
    """One `LIST` line as (name, is_folder, size); None for lines that are not an entry.

    Reads Unix `ls -l` lines (vsftpd, ProFTPD, Pure-FTPd) and DOS lines (IIS); a symbolic link
    `name -> target` keeps its name and counts as a file.
    """
    match = _UNIX.match(line)
    if match:
        name = match["name"]
        if match["kind"] == "l" and " -> " in name:
            name = name.split(" -> ", 1)[0]
        return name, match["kind"] == "d", int(match["size"])
    match = _DOS.match(line)
    if match:
        is_dir = match["size"].upper() == "<DIR>"
        return match["name"], is_dir, 0 if is_dir else int(match["size"])
    return None


class FTPLister:
    """Lists folders over one signed-in `ftplib.FTP`, remembering which method the server supports."""

    def __init__(self, ftp: ftplib.FTP, home: str, server_timezone: tzinfo | None = None) -> None:
        self.ftp, self.home, self.tz = ftp, home, server_timezone
        self.mlsd = True  # until the server says it does not know MLSD
        self._wanted = lambda name: True

    def listdir(
        self, folder: str, hidden: bool = False, name_glob: str | None = None
    ) -> list[tuple[RemoteFile, bool]]:
        """Entries of `folder` as (file, is_folder); `hidden` also asks `LIST -a` for dot names.

        Files whose name does not match `name_glob` are left out (no `SIZE`/`MDTM` asked for
        them: one round trip per matching file only, on servers without MLSD).
        """
        self._wanted = (
            (lambda name: fnmatch.fnmatchcase(name, name_glob)) if name_glob else (lambda name: True)
        )
        if self.mlsd:
            try:
                return self._mlsd(folder)
            except ftplib.error_perm as e:
                code = reply_code(e)
                if code == "550":
                    raise FileNotFoundError(folder) from None
                if code not in _NEXT_METHOD:
                    raise
                if code in ("500", "502"):
                    self.mlsd = False
        try:
            return self._list(folder, hidden)
        except _Unreadable:
            return self._nlst(folder)

    # -- the three methods ------------------------------------------------------------------------
    def _mlsd(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        found = []
        for name, facts in self.ftp.mlsd(folder):  # no facts asked: no OPTS MLST
            kind = facts.get("type", "file").lower()
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            path = posixpath.join(folder, name)
            if kind == "dir":
                found.append((RemoteFile(name, 0, None), True))
                continue
            if not self._wanted(name):
                continue
            size: str | int | None = facts.get("size") or facts.get("sizd")
            modified = parse_ftp_time(facts.get("modify", ""), self.tz)
            if kind != "file" or size is None:  # a link or a server without the fact: ask
                size = self._size(path)
                if size is None:
                    if kind != "file" and self._is_folder(path):
                        found.append((RemoteFile(name, 0, None), True))
                    continue
            if modified is None:
                modified = self._mdtm(path)
            found.append((RemoteFile(name, int(size), modified), False))
        return found

    def _list(self, folder: str, hidden: bool) -> list[tuple[RemoteFile, bool]]:
        lines: list[str] = []
        command = f"LIST -a {folder}" if hidden else f"LIST {folder}"
        try:
            self.ftp.retrlines(command, lines.append)
        except ftplib.error_perm as e:
            code = reply_code(e)
            if code == "550":
                raise FileNotFoundError(folder) from None
            if code in _NEXT_METHOD:
                raise _Unreadable from None
            raise
        found = []
        for line in lines:
            if not line.strip() or line.lower().startswith("total "):
                continue
            entry = parse_list_line(line)
            if entry is None:
                raise _Unreadable
            name, is_dir, size = entry
            if name in (".", "..") or not (is_dir or self._wanted(name)):
                continue
            path = posixpath.join(folder, name)
            found.append((RemoteFile(name, size, None if is_dir else self._mdtm(path)), is_dir))
        if not lines:
            self._require_folder(folder)
        return found

    def _nlst(self, folder: str) -> list[tuple[RemoteFile, bool]]:
        try:
            names = self.ftp.nlst(folder)
        except ftplib.error_perm as e:
            if reply_code(e) == "550":
                raise FileNotFoundError(folder) from None
            raise
        found = []
        for full in names:
            name = posixpath.basename(full.rstrip("/"))
            if name in (".", "..", ""):
                continue
            path = posixpath.join(folder, name)
            size = self._size(path)
            if size is not None:
                if self._wanted(name):
                    found.append((RemoteFile(name, size, self._mdtm(path)), False))
            elif self._is_folder(path):
                found.append((RemoteFile(name, 0, None), True))
        if not names:
            self._require_folder(folder)
        return found

    # -- small questions --------------------------------------------------------------------------
    def _size(self, path: str) -> int | None:
        self.ftp.voidcmd("TYPE I")
        try:
            return int(self.ftp.size(path) or 0)
        except ftplib.error_perm as e:
            if reply_code(e) == "550":
                return None
            raise

    def _mdtm(self, path: str) -> datetime | None:
        try:
            return parse_ftp_time(self.ftp.sendcmd(f"MDTM {path}").split()[-1], self.tz)
        except ftplib.error_perm:
            return None

    def _is_folder(self, path: str) -> bool:
        try:
            self.ftp.cwd(path)
        except ftplib.error_perm:
            return False
        self.ftp.cwd(self.home)
        return True

    def _require_folder(self, folder: str) -> None:
        if folder not in ("", ".", "/") and not self._is_folder(folder):
            raise FileNotFoundError(folder)


class _Unreadable(CfwbError):
    """LIST is refused or its lines are in a format we cannot read: use NLST."""

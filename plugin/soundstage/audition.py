"""``soundstage audition``: serve a render's folder on localhost and open its audition page.

Browsers do not let a ``file://`` page fetch the files beside it, so the page
(:mod:`soundstage.session.page`) is served over HTTP by the standard library's
server, bound to 127.0.0.1 only, serving that folder and nothing above it: a
request for a path that resolves outside it (``..``, an absolute or encoded
path, a symbolic link leading out) gets 403, a folder other than the root gets 404.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
import webbrowser
from functools import partial
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.session.page import PAGE_NAME
from soundstage.session.render import REPORT_NAME

__all__ = ["AuditionServer", "serve"]


class _FolderHandler(http.server.SimpleHTTPRequestHandler):
    """Files of one folder only; quiet (no request log on the terminal)."""

    root: Path

    def __init__(self, *args: Any, root: Path, **kwargs: Any) -> None:
        self.root = root
        super().__init__(*args, directory=str(root), **kwargs)

    def _inside(self) -> Path | None:
        """The file the request names if it lies inside the folder, else None."""
        raw = urllib.parse.urlsplit(self.path).path
        decoded = raw
        for _ in range(3):  # percent-encoding applied more than once is decoded as often
            decoded = urllib.parse.unquote(decoded)
        if "\0" in decoded or "\\" in decoded or any(part == ".." for part in decoded.split("/")):
            return None
        candidate = (self.root / decoded.lstrip("/")).resolve()
        return candidate if candidate == self.root or self.root in candidate.parents else None

    def send_head(self) -> Any:
        target = self._inside()
        if target is None:
            self.send_error(403, "outside the audition folder")
            return None
        if target.is_dir() and target != self.root:
            self.send_error(404, "no folder listings")
            return None
        return super().send_head()

    def list_directory(self, path: Any) -> Any:
        self.send_error(404, "no folder listings")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass


class AuditionServer:
    """An HTTP server on 127.0.0.1 for one render folder (``port=0``: any free port)."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder.resolve()
        for needed in (PAGE_NAME, REPORT_NAME):
            if not (self.folder / needed).is_file():
                raise SoundstageError(
                    f"audition: {str(self.folder / needed)!r} does not exist; render the session first (soundstage render)"
                )
        try:
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), partial(_FolderHandler, root=self.folder))
        except OSError as error:
            raise SoundstageError(f"audition: cannot listen on 127.0.0.1:{port}: {error.strerror or error}") from None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address."""
        port = self.httpd.server_address[1]
        return f"http://127.0.0.1:{port}/{PAGE_NAME}"

    def start(self) -> AuditionServer:
        """Serve on a background thread."""
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> AuditionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(folder: Path, *, port: int = 0, open_browser: bool = True) -> None:
    """Serve ``folder`` until interrupted (Ctrl-C), opening the page in the default browser."""
    server = AuditionServer(folder, port)
    print(f"audition: {server.url} (Ctrl-C to stop)", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.httpd.serve_forever()
    finally:
        server.httpd.server_close()

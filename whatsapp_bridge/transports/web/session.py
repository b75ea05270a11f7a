"""The WhatsApp Web transport's session on disk, and neonize, loaded only when it starts.

It is an optional extra: nothing imports neonize until `start()`, which explains how to install
it when it is missing. The session (a SQLite file written by whatsmeow) lives in `session_dir`, so
a restart reconnects without asking for a new QR code. Unpaired, the transport prints a QR code on
the terminal, writes it to `session_dir/qr.png` (and `qr.txt`) and serves it at GET /web/qr to
loopback clients; the operator scans it in WhatsApp → Settings → Linked devices.
"""
from __future__ import annotations

import fcntl
import io
import logging
import os
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

EXTRA = "web"  # pyproject's optional-dependencies name: chasqui[web]
# From the checkout (-e .): a bare 'chasqui[web]' would fetch some other package named chasqui.
INSTALL_HINT = f".venv/bin/pip install -e '.[{EXTRA}]'"
DB_NAME = "session.db"  # whatsmeow's SQLite store: the linked device's keys


class WebTransportUnavailable(RuntimeError):
    """neonize is missing or cannot load: the operator has something to install."""


# -- the session directory ----------------------------------------------------------------------------
def prepare_session_dir(path: Path) -> Path:
    """The directory holds the keys to the WhatsApp account: only its owner may read it."""
    path = Path(path).expanduser()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is masked by the umask, and an old directory may be wider
    return path


def acquire_session_lock(path: Path):
    """One process per session: a second one (another gunicorn worker, a second bridge) would make
    WhatsApp drop the first ("stream replaced") and both would fight over the SQLite store."""
    handle = open(path / "lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RuntimeError(f"the WhatsApp Web session in {path} is in use by another process; "
                           "BRIDGE_TRANSPORT=web runs in exactly one bridge process") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def session_is_paired(db_path: Path) -> bool:
    """whatsmeow keeps one row per linked device; logging out deletes it."""
    if not db_path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2) as db:
            return db.execute("SELECT COUNT(*) FROM whatsmeow_device").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data)
    temporary.replace(path)


def qr_png(code: str) -> bytes | None:
    try:
        import segno  # comes with neonize
    except ImportError:
        return None
    buffer = io.BytesIO()
    segno.make_qr(code).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def load_neonize() -> SimpleNamespace:
    """Everything the transport uses from neonize, imported only now (the extra is optional)."""
    try:
        import neonize  # noqa: F401  (first, so a missing package is told apart from a broken one)
    except ModuleNotFoundError as problem:
        raise WebTransportUnavailable(
            f"BRIDGE_TRANSPORT=web needs the optional neonize package: run {INSTALL_HINT}") from problem
    try:
        from neonize._binder import ProxySettings
        from neonize.client import NewClient
        from neonize.events import (ConnectedEv, ConnectFailureEv, DisconnectedEv, LoggedOutEv, MessageEv, PairStatusEv,
                                    ReceiptEv, StreamReplacedEv, TemporaryBanEv)
        from neonize.exc import NeonizeError
        from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
        from neonize.utils.enum import ChatPresence, ChatPresenceMedia, Presence, ReceiptType
        from neonize.utils.jid import build_jid
    except Exception as problem:  # e.g. python-magic without libmagic, an unsupported platform
        raise WebTransportUnavailable(
            f"neonize is installed but does not load ({problem!r}); on Debian it needs libmagic1 "
            f"(apt-get install libmagic1); reinstall with {INSTALL_HINT}") from problem
    import neonize.client
    # connect() runs the Go session on a non-daemon thread, and Stop() cannot interrupt a dial that
    # hangs (a proxy or network that accepts and never answers): the bridge could then never exit.
    neonize.client.Thread = _DaemonThread
    return SimpleNamespace(
        NewClient=NewClient, ProxySettings=ProxySettings, NeonizeError=NeonizeError, DeviceProps=DeviceProps,
        Message=Message, build_jid=build_jid, ChatPresence=ChatPresence, ChatPresenceMedia=ChatPresenceMedia,
        Presence=Presence, ReceiptType=ReceiptType, ConnectedEv=ConnectedEv, ConnectFailureEv=ConnectFailureEv,
        DisconnectedEv=DisconnectedEv, LoggedOutEv=LoggedOutEv, MessageEv=MessageEv, PairStatusEv=PairStatusEv,
        ReceiptEv=ReceiptEv, StreamReplacedEv=StreamReplacedEv, TemporaryBanEv=TemporaryBanEv)


class _DaemonThread(threading.Thread):
    def __init__(self, *args, daemon=None, **kwargs):
        super().__init__(*args, daemon=True, **kwargs)


def _quiet_neonize_logs() -> None:
    """neonize forwards whatsmeow's logs at the level of this logger; unset, whatsmeow logs every
    frame. Warnings only, unless the operator asked for debug logs."""
    neonize_log = logging.getLogger("neonize.utils.log")
    if neonize_log.level == logging.NOTSET:
        debug = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
        neonize_log.setLevel(logging.DEBUG if debug else logging.WARNING)
    # It warns about a missing ffmpeg at every start; images go through PIL, which needs none.
    ffmpeg_log = logging.getLogger("neonize.utils.ffmpeg")
    if ffmpeg_log.level == logging.NOTSET:
        ffmpeg_log.setLevel(logging.ERROR)

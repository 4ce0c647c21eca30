"""The ``cloudkeep`` command: ``serve``, ``account create``, ``policy simulate``, ``trail lookup``,
``trail validate``.

Must not: hold logic that the server lacks (it calls the same bootstrap and account code).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from cloudkeep import config as _config


def _common_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=Path(".cloudkeep"),
                   help="where state, the master key and the root credentials live (default ./.cloudkeep)")
    p.add_argument("--store", default=None,
                   help="storage URL: default SQLite in the data dir; postgresql://user@host/db for PostgreSQL")
    p.add_argument("--durability", choices=("normal", "full"), default="normal",
                   help="full: fsync every commit (SQLite) against power loss")
    p.add_argument("--hsm", default=None, metavar="PKCS11_URI",
                   help="keep the root key in a PKCS#11 HSM instead of the master key file, e.g. "
                        "'pkcs11:token=cloudkeep;module-path=/usr/lib/softhsm/libsofthsm2.so' "
                        "(PIN: pin-value= in the URI or CLOUDKEEP_HSM_PIN); needs cloudkeep[hsm]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudkeep", description="A local, self-hostable AWS security cloud.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=_config.DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=_config.DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--tls", action="store_true",
                       help="also serve HTTPS on --https-port, with a certificate from a local CA in the data dir")
    serve.add_argument("--https-port", type=int, default=_config.DEFAULT_HTTPS_PORT,
                       help=f"the HTTPS port with --tls (default {_config.DEFAULT_HTTPS_PORT})")
    _common_store_args(serve)
    serve.add_argument("--test-hooks", action="store_true",
                       help="enable /_cloudkeep/test/* (new accounts, moving the domain clock): tests only")
    serve.add_argument("--no-credentials-file", action="store_true",
                       help="print the first root credentials once instead of writing root-credentials.json")
    serve.add_argument("--reset", action="store_true", help="wipe the data dir (after confirmation) first")
    serve.add_argument("--yes", action="store_true", help="do not ask for confirmation with --reset")
    serve.add_argument("--log-level", default="warning")

    account = sub.add_parser("account", help="manage accounts (tenants)")
    asub = account.add_subparsers(dest="account_command", required=True)
    create = asub.add_parser("create", help="create another standalone account with its own root user")
    create.add_argument("--email", default=None)
    _common_store_args(create)

    policy = sub.add_parser("policy", help="work with IAM policies offline (no server)")
    psub = policy.add_subparsers(dest="policy_command", required=True)
    sim = psub.add_parser("simulate", help="simulate IAM policy files with the engine that enforces them")
    sim.add_argument("--policy", action="append", required=True, type=Path, metavar="FILE",
                     help="an identity-based policy (repeatable)")
    sim.add_argument("--boundary", type=Path, metavar="FILE", help="a permissions boundary policy")
    sim.add_argument("--resource-policy", type=Path, metavar="FILE", help="the resource's policy")
    sim.add_argument("--action", action="append", required=True, help="service:Action (repeatable)")
    sim.add_argument("--resource", action="append", metavar="ARN", help="resource ARN (repeatable; default *)")
    sim.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                     help="a condition key value, e.g. aws:SourceIp=203.0.113.7 (repeat a key for a list)")
    sim.add_argument("--principal-arn", metavar="ARN", help="the simulated caller (default: a user of 123456789012)")
    sim.add_argument("--resource-owner", metavar="ACCOUNT", help="owner of resources whose ARN names no account")
    sim.add_argument("--json", action="store_true", help="print IAM's EvaluationResults as JSON")

    from cloudkeep import cli_history

    trail = sub.add_parser("trail", help="CloudTrail: the event history (lookup) of a running server")
    tsub = trail.add_subparsers(dest="trail_command", required=True)
    cli_history.add_parser(tsub)
    from cloudkeep import cli_validate

    cli_validate.add_parser(tsub)
    return parser


def _config_from(args: argparse.Namespace) -> _config.ServerConfig:
    base = _config.from_env({})
    return replace(base, host=getattr(args, "host", base.host), port=getattr(args, "port", base.port),
                   data_dir=args.data_dir, store_url=args.store, workers=getattr(args, "workers", 1),
                   durability=args.durability, test_hooks=getattr(args, "test_hooks", False),
                   credentials_file=not getattr(args, "no_credentials_file", False),
                   log_level=getattr(args, "log_level", "warning"),
                   tls=getattr(args, "tls", False), https_port=getattr(args, "https_port", base.https_port),
                   master_key_b64=_config.master_key_from_env(),
                   hsm_uri=getattr(args, "hsm", None), hsm_pin=_config.hsm_pin_from_env())


def _exports(endpoint: str, key_id: str, secret: str, ca_bundle: Path | None = None) -> str:
    return (f"export AWS_ENDPOINT_URL={endpoint}\n"
            f"export AWS_DEFAULT_REGION=us-east-1\n"
            + (f"export AWS_CA_BUNDLE={ca_bundle}\n" if ca_bundle else "")
            + f"export AWS_ACCESS_KEY_ID={key_id}\n"
            f"export AWS_SECRET_ACCESS_KEY={secret}")


def _profile(endpoint: str, key_id: str, secret: str, ca_bundle: Path | None = None) -> str:
    return ("# ~/.aws/config\n[profile cloudkeep]\n"
            f"endpoint_url = {endpoint}\nregion = us-east-1\n"
            + (f"ca_bundle = {ca_bundle}\n" if ca_bundle else "")
            + f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}")


def _reset(cfg: _config.ServerConfig, yes: bool) -> bool:
    if not yes:
        if not sys.stdin.isatty():
            print("cloudkeep: --reset needs confirmation; run it in a terminal or add --yes", file=sys.stderr)
            return False
        answer = input(f"Wipe all cloudkeep state in {cfg.data_dir}{' and ' + cfg.store_url if cfg.store_url else ''}? "
                       "Type 'yes' to confirm: ")
        if answer.strip() != "yes":
            print("cloudkeep: nothing was wiped", file=sys.stderr)
            return False
    if cfg.store_url:
        from cloudkeep.storage.engine import Store
        store = Store.open(cfg.store_url, migrate=False)
        store.drop_all()
        store.close()
    shutil.rmtree(cfg.data_dir, ignore_errors=True)
    return True


def serve(args: argparse.Namespace) -> int:
    from rich.console import Console

    from cloudkeep import server, serving
    from cloudkeep.crypto import ca
    from cloudkeep.storage.clock import wall_now

    cfg = _config_from(args)
    if cfg.tls and cfg.https_port == cfg.port:
        print("cloudkeep: --https-port must differ from --port", file=sys.stderr)
        return 1
    console = Console(stderr=False, highlight=False)
    if args.reset and not _reset(cfg, args.yes):
        return 1
    try:
        store = server.open_store(cfg, migrate=True)
        sealer = server.sealer_for(cfg)
        boot = server.bootstrap(cfg, store, sealer)
        store.close()
        # certificates are checked against the wall clock by clients, never the domain clock
        tls = ca.ensure_server_certificate(cfg.data_dir, sealer, host=cfg.host, now=wall_now()) if cfg.tls else None
    except Exception as exc:  # one line a person can act on
        print(f"cloudkeep: cannot start: {exc}", file=sys.stderr)
        return 1
    endpoint = f"http://{cfg.host}:{cfg.port}"
    ca_bundle = tls.ca_cert.resolve() if tls is not None else None
    if tls is not None:
        endpoint_tls = f"https://{cfg.host}:{cfg.https_port}"
        console.print(f"[bold]cloudkeep[/bold] serving account [bold]{boot.account_id}[/bold] at {endpoint} "
                      f"and {endpoint_tls}", soft_wrap=True)
        state = "created now" if tls.ca_created else "issued a new server certificate" if tls.server_issued else ""
        console.print(f"Local CA certificate{' (' + state + ')' if state else ''}: {ca_bundle} "
                      f"(trust it with AWS_CA_BUNDLE or --ca-bundle)", markup=False, soft_wrap=True)
        endpoint = endpoint_tls
    else:
        console.print(f"[bold]cloudkeep[/bold] serving account [bold]{boot.account_id}[/bold] at {endpoint}")
    creds = boot.created or (server.read_credentials_file(boot.credentials_path) if boot.credentials_path else None)
    if boot.created is not None:
        where = (f"written to {boot.credentials_path} (mode 0600)" if boot.credentials_path
                 else "shown only this once: keep them now")
        console.print(f"Root user {boot.created.email}, password {boot.created.password} — credentials {where}.")
    if creds is not None:
        console.print("\n" + _exports(endpoint, creds.access_key_id, creds.secret_access_key, ca_bundle) + "\n",
                      markup=False, soft_wrap=True)
        console.print(_profile(endpoint, creds.access_key_id, creds.secret_access_key, ca_bundle) + "\n",
                      markup=False, soft_wrap=True)
    else:
        console.print("Root credentials were printed at first start (no credentials file).")
        if ca_bundle is not None:
            console.print(f"\nexport AWS_ENDPOINT_URL={endpoint}\nexport AWS_CA_BUNDLE={ca_bundle}\n", markup=False,
                          soft_wrap=True)
    sys.stdout.flush()

    _config.export_to_env(cfg)
    return serving.run(cfg, tls)


def account_create(args: argparse.Namespace) -> int:
    from cloudkeep import server

    cfg = _config_from(args)
    store = server.open_store(cfg, migrate=True)
    creds = server.new_account(store, server.sealer_for(cfg), email=args.email)
    store.close()
    print(json.dumps(creds.to_json(), indent=2))
    return 0


def policy_simulate(args: argparse.Namespace) -> int:
    """``cloudkeep policy simulate``: the IAM simulator on local files (cloudkeep.policy.simulate)."""
    from rich.console import Console
    from rich.table import Table

    from cloudkeep.policy import simulate as S

    def read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError as exc:
            raise S.SimulationError(f"cannot read {path}: {exc.strerror}") from None

    try:
        context, multivalued = S.context_from_pairs(args.context)
        sim = S.custom_simulation(
            [read(p) for p in args.policy], names=[p.name for p in args.policy],
            boundary=[read(args.boundary)] if args.boundary else [],
            resource_policy=read(args.resource_policy) if args.resource_policy else None,
            caller_arn=args.principal_arn or ("arn:aws:iam::123456789012:user/SimulatedUser"
                                              if args.resource_policy else None),
            context=context, multivalued=multivalued, owner=args.resource_owner)
        results = S.simulate(sim, args.action, args.resource)
    except S.SimulationError as exc:
        print(f"cloudkeep: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"EvaluationResults": [r.to_wire() for r in results]}, indent=2))
        return 0
    style = {"allowed": "green", "explicitDeny": "bold red", "implicitDeny": "yellow"}
    table = Table(title="Policy simulation")
    for column in ("Action", "Resource", "Decision", "Deciding statements", "Missing context"):
        table.add_column(column, overflow="fold")
    for result in results:
        for r in result.resources or (result,):
            name = getattr(r, "resource", getattr(r, "resource_name", "*"))
            decision = r.decision.value
            matched = "\n".join(f"{m.source_policy_id}{' ' + m.sid if m.sid else ''} "
                                 f"{m.start.line}:{m.start.column}-{m.end.line}:{m.end.column}"
                                 for m in r.matched)
            table.add_row(result.action, name, f"[{style[decision]}]{decision}[/]", matched or "-",
                          ", ".join(r.missing) or "-")
    Console(highlight=False).print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "account" and args.account_command == "create":
        return account_create(args)
    if args.command == "policy" and args.policy_command == "simulate":
        return policy_simulate(args)
    if args.command == "trail" and args.trail_command == "lookup":
        from cloudkeep import cli_history

        return cli_history.run(args)
    if args.command == "trail" and args.trail_command == "validate":
        from cloudkeep import cli_validate

        return cli_validate.run(args)
    return 2  # pragma: no cover - argparse refuses unknown commands first


if __name__ == "__main__":
    sys.exit(main())

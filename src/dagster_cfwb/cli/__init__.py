"""The `cfwb` command: run the demo platform, scaffold code locations, build dbt manifests.

cfwb demo                    materialise every asset of platform/ on embedded defaults
cfwb run <asset|defs folder> materialise one import/export and its checks (--preview: first rows only)
cfwb new location <name>     add a code location to platform/ (workspace, test, CI entry)
cfwb dbt parse               build the dbt manifests (packaging step)
cfwb postgres start|stop     the demo's embedded PostgreSQL
cfwb check [PATH]            validate every defs.yaml of a code location, in seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cfwb", description="dagster-cfwb platform tools.")
    parser.add_argument(
        "--platform-dir", help="The platform folder (default: ./platform or found in a parent folder)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="Materialise every asset of every code location, on embedded defaults."
    )
    demo.add_argument(
        "--backfill-days", type=int, default=7, help="Days the partitioned imports load (default 7)."
    )

    run = commands.add_parser(
        "run", help="Materialise one import or export and its checks, on the demo's lakehouse and PostgreSQL."
    )
    run.add_argument(
        "targets",
        nargs="+",
        metavar="target",
        help="An asset key (`enseignement/stg/classes`), a defs folder or a defs.yaml; several run together.",
    )
    run.add_argument(
        "--preview", action="store_true", help="Show the first rows an import would read; write nothing."
    )
    run.add_argument(
        "--partition", default=None, help="Partition of a partitioned asset (default: the last one)."
    )

    new = commands.add_parser("new", help="Scaffold something new in the platform.")
    new_what = new.add_subparsers(dest="what", required=True)
    location = new_what.add_parser("location", help="A new code location (department or project).")
    location.add_argument("name", help="Python identifier in lower case, e.g. `sante` or `mobilite_urbaine`.")
    location.add_argument("--description", default=None, help="One line shown in the project metadata.")

    dbt = commands.add_parser("dbt", help="dbt helpers.")
    dbt_what = dbt.add_subparsers(dest="what", required=True)
    dbt_what.add_parser(
        "parse", help="Run `dbt parse` in every <location>/dbt_project (writes the manifest)."
    )

    postgres = commands.add_parser("postgres", help="The demo's embedded PostgreSQL.")
    postgres.add_argument("action", choices=["start", "stop"])

    check = commands.add_parser(
        "check", help="Validate every defs.yaml of a code location (file, line, field, fix), in seconds."
    )
    check.add_argument(
        "path", nargs="?", default=".", help="Code location folder, defs folder or defs.yaml (default: here)."
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cfwb` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"cfwb: {e}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from dagster_cfwb.platform_layout import find_platform_dir

    if args.command == "check":
        from dagster_cfwb.cli.check import run_check

        return run_check(args.path)
    if args.command == "demo":
        from dagster_cfwb.cli.demo import run_demo

        return 0 if run_demo(args.platform_dir, backfill_days=args.backfill_days).success else 1
    if args.command == "run":
        from dagster_cfwb.cli.run import run_target

        try:
            report = run_target(
                args.targets, preview=args.preview, partition=args.partition, platform_dir=args.platform_dir
            )
        except Exception as e:  # an analyst gets one plain message, never a traceback
            print(f"cfwb run: {_plain_message(e)}", file=sys.stderr)
            return 1
        return 0 if report.success else 1
    platform = find_platform_dir(args.platform_dir)
    if args.command == "new":
        from dagster_cfwb.cli.scaffold.new_location import scaffold_location

        created = scaffold_location(platform, args.name, description=args.description)
        print(created.summary())
        return 0
    if args.command == "dbt":
        from dagster_cfwb.platform_layout import parse_dbt_projects

        for folder in parse_dbt_projects(platform, quiet=False):
            print(f"dbt manifest written: {folder / 'target' / 'manifest.json'}")
        return 0
    if args.command == "postgres":
        return _postgres(platform / ".dagster_home", args.action)
    raise AssertionError(args.command)  # pragma: no cover - argparse refuses other commands


def _plain_message(error: BaseException) -> str:
    """The error's message, without stack trace; Dagster's wrappers (e.g. the component tree it prints
    around a YAML error) give way to the error they wrap, and wrapped messages follow as "caused by"."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__
    own = [e for e in chain if not type(e).__module__.startswith("dagster.")] or chain
    message = str(own[0]).strip() or type(own[0]).__name__
    for cause in own[1:]:
        text = str(cause).strip()
        if text and text not in message:
            message += f"\n  caused by: {text}"
    return message


def _postgres(home: Path, action: str) -> int:
    from dagster_cfwb.cli.embedded_postgres import (
        embedded_postgres_dir,
        start_embedded_postgres,
        stop_embedded_postgres,
    )

    data_dir = embedded_postgres_dir(home)
    if action == "start":
        server = start_embedded_postgres(data_dir)
        print(" ".join(f"{k}={v}" for k, v in server.env().items()))
        return 0
    print("stopped" if stop_embedded_postgres(data_dir) else f"not running ({data_dir})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

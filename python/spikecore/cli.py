"""The ``spikecore`` command.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``; this file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "demo": ("spikecore.demo", "run the embedded default pipeline and save plots"),
    "bench": ("spikecore.bench.cli", "benchmarks, peers measured in the same run"),
    "encode": ("spikecore.audio.cli", "encode a WAV file into spikes (.npz)"),
    "info": ("spikecore.info", "version, instruction set, threads, torch and optional extras"),
    "hebbff": (
        "spikecore.experiments.hebbff_cli",
        "train HebbFF and write the reconfiguration report",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikecore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # an optional dependency is missing
            p.set_defaults(_unavailable=f"{name}: unavailable ({exc})")
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _version() -> str:
    from spikecore import __version__

    return f"spikecore {__version__}"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_unavailable", None):
        print(args._unavailable, file=sys.stderr)
        return 1
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

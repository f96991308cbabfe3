"""The ``mxlite`` command: ``mxlite demo`` and the tools built on the package."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from mxlite import demo

    try:
        return demo.run(epochs=args.epochs, seed_epochs=args.seed_epochs, out=args.out,
                        target=args.target, plot=not args.no_plot)
    except (ImportError, ValueError) as err:
        print(f"mxlite demo: error: {err}", file=sys.stderr)
        return 2


def _add_demo_arguments(demo) -> None:
    demo.add_argument("--epochs", type=int, default=20, help="MLP epochs (default 20)")
    demo.add_argument("--seed-epochs", type=int, default=30,
                      help="epochs of the seed's example (default 30)")
    demo.add_argument("--out", default="out/demo.png", help="PNG path (default out/demo.png)")
    demo.add_argument("--target", type=float, default=0.95,
                      help="validation accuracy the MLP must reach (default 0.95)")
    demo.add_argument("--no-plot", action="store_true", help="skip the PNG")


def _parse_assignments(pairs: list[str]) -> dict:
    """``["step=[10, 20]", "warmup_mode=linear"]`` -> kwargs (values via ``ast.literal_eval``;
    a value that is not a Python literal is taken as a string)."""
    import ast

    kwargs = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"expected key=value, got {pair!r}")
        try:
            kwargs[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            kwargs[key] = text.strip()
    return kwargs


def _schedule(args: argparse.Namespace) -> int:
    import numpy as np

    from mxlite import lr_scheduler

    try:
        kwargs = _parse_assignments(args.params)
        sched = lr_scheduler.create(args.name, **kwargs)
        updates = args.updates
        if updates is None:
            updates = getattr(sched, "max_update", None) or 100
        values = lr_scheduler.lr_values(sched, updates)
        if args.png:
            lr_scheduler.plot(sched, updates, args.png)
    except (TypeError, ValueError, ImportError) as err:
        print(f"mxlite schedule: error: {err}", file=sys.stderr)
        return 2
    rows = max(2, min(args.rows, updates))
    points = sorted({round(float(t)) for t in np.linspace(1, updates, rows)})
    top = float(values.max()) or 1.0
    settings = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    print(f"{type(sched).__name__}({settings}), {updates} updates")
    print(f"{'update':>8}  lr")
    for t in points:
        lr = float(values[t - 1])
        print(f"{t:>8}  {lr:<12.6g}  {'#' * round(30 * lr / top)}")
    if args.png:
        print(f"wrote {args.png}")
    return 0


def _add_schedule_parser(sub) -> None:
    p = sub.add_parser(
        "schedule",
        help="print (and draw) a learning-rate schedule",
        description="Print a learning-rate schedule, e.g. "
        "`mxlite schedule cosine max_update=1000 base_lr=0.1 warmup_steps=100 --png lr.png`. "
        "NAME: factor, multifactor, poly, cosine, cosine_restart, constant (or a class name).",
    )
    p.add_argument("name", metavar="NAME", help="scheduler name")
    p.add_argument("params", nargs="*", metavar="key=value", help="constructor arguments")
    p.add_argument("--updates", type=int, default=None,
                   help="number of updates (default: max_update, else 100)")
    p.add_argument("--rows", type=int, default=11, help="table rows (default 11)")
    p.add_argument("--png", default=None, help="also draw the schedule into this PNG")
    p.set_defaults(func=_schedule)


def _add_launch_parser(sub) -> None:
    from mxlite.kvstore import launch

    launch.add_parser(sub)


def _convert(args) -> int:
    from ._convert_states import convert_states
    from .base import MXNetError

    try:
        n = convert_states(args.src, args.dst, args.to)
    except (OSError, ValueError, TypeError, MXNetError) as err:
        print(f"mxlite convert: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.dst} ({n} states, {args.to} format)")
    return 0


def _add_convert_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert optimizer .states between mxlite's safe format and MXNet's pickle",
        description="Rewrite a .states file: `mxlite convert in.states out.states --to mxnet` "
        "gives the pickle MXNet 1.9.1's Module.load(..., load_optimizer_states=True) reads; "
        "`--to mxlite` the safe format (MXNet's pickles are read without running code).",
    )
    p.add_argument("src", help="input .states (either format)")
    p.add_argument("dst", help="output .states")
    p.add_argument("--to", choices=("mxnet", "mxlite"), default="mxnet",
                   help="output format (default: mxnet)")
    p.set_defaults(func=_convert)


def build_parser() -> argparse.ArgumentParser:
    from mxlite import __version__

    parser = argparse.ArgumentParser(prog="mxlite", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job: train on UCI digits")
    demo.set_defaults(func=_demo)
    _add_demo_arguments(demo)
    _add_schedule_parser(sub)
    _add_launch_parser(sub)
    _add_convert_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)

"""The ``mxlite`` command: ``mxlite demo`` and the tools built on the package."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    import mxlite as mx

    mx.random.seed(0)
    x = mx.nd.random.uniform(-1, 1, shape=(4, 3))
    print("x =", x)
    print("x.sum(axis=1) =", x.sum(axis=1).asnumpy())
    w = mx.nd.ones((3, 2)) * 0.5
    print("dot(x, w) =", mx.nd.dot(x, w).asnumpy())
    print("norm(x) =", mx.nd.norm(x).asscalar())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mxlite", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job: train on UCI digits")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)

"""Command line: ``python -m pipeline <command> ...``: ``preview``, ``info``, ``verify``, ``check``,
``summary``, ``report``, ``datasets``, ``export``.

Bad input (a missing or damaged file, a bad param, an output path that is not a file or folder
of ours to replace) prints one line naming the file and what is wrong, and exits with status 1;
a usage error (an unknown option, a value out of range) prints one line too and exits with 2.
"""

from __future__ import annotations

import argparse
import sys

from ..core.errors import report_errors


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (``<prog>: error: <message>``, exit status 2)
    instead of the usage text and then the error; ``--help`` shows the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _epochs(text: str) -> int:
    from .preview import MAX_EPOCHS

    v = _positive(text)
    if v > MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_EPOCHS}, got {v}")
    return v


def cmd_preview(args) -> int:
    from .preview import PreviewError, preview_augmented, preview_file

    if args.augment:
        if args.cols is not None:
            raise PreviewError("--cols: with --augment each row is one epoch's sample, one column per frame")
        png, gif = preview_augmented(
            args.path, args.out, params=args.params or "params.yaml", epochs=args.epochs or 4, index=args.index,
            T=args.T, scale=args.scale, fps=args.fps, name=args.name, title=not args.no_title,
        )
    else:
        for flag, value in (("--epochs", args.epochs), ("--params", args.params)):
            if value is not None:
                raise PreviewError(f"{flag}: only with --augment")
        png, gif = preview_file(
            args.path, args.out, T=args.T, split_by=args.split_by,
            sensor_size=tuple(args.sensor) if args.sensor else None, index=args.index,
            scale=args.scale, cols=args.cols, fps=args.fps, name=args.name, title=not args.no_title,
        )
    print(png)
    print(gif)
    return 0


def cmd_info(args) -> int:
    from .info import describe

    for i, path in enumerate(args.paths):
        print(("\n" if i else "") + describe(path))
    return 0


def cmd_verify(args) -> int:
    from .verify import report, verify

    text, ok = report(verify(args.root, args.cache))
    print(text)
    return 0 if ok else 1


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _fps(text: str) -> float:
    from .preview import MAX_FPS, MIN_FPS

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_FPS <= v <= MAX_FPS:                # NaN and the infinities fail too
        raise argparse.ArgumentTypeError(f"must be a number from {MIN_FPS:g} to {MAX_FPS:g} "
                                         f"(frames per second of the GIF), got {text}")
    return v


def cmd_export(args) -> int:
    from .export import export_nir

    print(export_nir(args.model, args.out, args.dt, args.reader))
    return 0


def cmd_check(args) -> int:
    from ..params import load_params

    p = load_params(args.path)
    T, C, H, W = p.frame_shape()
    print(f"{args.path}: valid; dataset {p.dataset}, frames {T} x {C} x {H} x {W}")
    return 0


def cmd_summary(args) -> int:
    from ..params import load_params
    from .summary import summary

    print(summary(load_params(args.path)))
    return 0


def cmd_report(args) -> int:
    from .report import make_report

    rep = make_report(args.root, args.out, args.paper, experiments=not args.no_experiments,
                      note=lambda line: print(f"note: {line}", file=sys.stderr))
    print(rep.out)
    print(rep.summary)
    return 0


def cmd_datasets(args) -> int:
    from .catalog import describe, table

    print(describe(args.name) if args.name else table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipeline", description="DVS event-camera data pipeline tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("preview", help="render a sample as a PNG grid and a looping GIF",
                       description="Render an HDF5 frames file's sample, or an event file integrated "
                                   "into T frames, as a PNG grid and an animated GIF; print both paths. With "
                                   "--augment, a frames file's sample as params' train.augment transforms it "
                                   "in epochs 1..N.")
    p.add_argument("path", help="an HDF5 frames file (.h5) or an event file (AEDAT, N-MNIST .bin, ...)")
    p.add_argument("--out", default="previews", metavar="DIR", help="output folder (default: previews)")
    p.add_argument("--T", type=_positive, default=None,
                   help="frames: 8 for event files; a frames file's own T (or a divisor of it)")
    p.add_argument("--split-by", choices=("time", "number"), default="time",
                   help="how event files are cut into frames (default: time)")
    p.add_argument("--index", type=int, default=0, help="sample of a frames file (default: 0)")
    p.add_argument("--sensor", type=_positive, nargs=2, metavar=("H", "W"),
                   help="sensor size of an event file (default: inferred from the events)")
    p.add_argument("--scale", type=_positive, help="pixel upscaling (default: frames >= 256 px tall)")
    p.add_argument("--cols", type=_positive, help="grid columns")
    p.add_argument("--fps", type=_fps, default=4.0, help="GIF frame rate, 0.01 to 50 (default: 4)")
    p.add_argument("--name", help="output base name, a plain file name (default: from the input and sample)")
    p.add_argument("--no-title", action="store_true", help="no title strip above the grid")
    p.add_argument("--augment", action="store_true",
                   help="a frames file's sample as params' train.augment transforms it: the original and "
                        "epochs 1..N as rows (<base>_augment.png), and a GIF cycling through them")
    p.add_argument("--epochs", type=_epochs, default=None, metavar="N",
                   help="with --augment: the epochs drawn, 1 to 16 (default: 4)")
    p.add_argument("--params", default=None, metavar="PATH",
                   help="with --augment: the params file of train.augment and train.seed (default: params.yaml)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("info", help="what a frames file is: params, source archives and md5, counts",
                       description="Print the provenance (params, source archives and their md5) and "
                                   "contents of HDF5 frames files, e.g. ones pulled from a DVC remote.")
    p.add_argument("paths", nargs="+", help="HDF5 frames files (data/frames/train.h5 ...)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("verify", help="re-hash every stage output against dvc.lock",
                       description="Re-read every output recorded in dvc.lock, compare its md5 with the "
                                   "record, and say which are damaged or missing and how to restore them. "
                                   "Exit status 1 when any is.")
    p.add_argument("--root", default=".", help="the DVC project (default: .)")
    p.add_argument("--cache", help="the DVC cache folder (default: what `dvc cache dir` says)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("check", help="validate a params file without running anything",
                       description="Validate every param of a params file (unknown keys, bounds, values "
                                   "that only fail together), as each stage does before it starts.")
    p.add_argument("path", nargs="?", default="params.yaml", help="params file (default: params.yaml)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("datasets", help="every dataset the pipeline can build, and every Tonic dataset",
                       description="List every dataset the pipeline can build (ours and Tonic's): source, "
                                   "sensor size, classes, train/test counts, download size, and the stages "
                                   "it goes through; every other Tonic dataset class with why it is not "
                                   "supported. With NAME: that dataset's files (md5, URLs) and where to "
                                   "get them.")
    p.add_argument("name", nargs="?", metavar="NAME", help="one dataset (e.g. dvsgesture): its files and sources")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("summary", help="the network a params file builds, layer by layer, and its size",
                       description="Print the network a params file builds: each layer, its output shape "
                                   "for one sample, its parameters, and a last line `parameters: N`.")
    p.add_argument("path", nargs="?", default="params.yaml", help="params file (default: params.yaml)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("report", help="finished runs beside the paper's published results (Markdown + PNGs)",
                       description="Write a folder with report.md (a table of every finished run: the "
                                   "workspace's and the DVC experiments', beside the paper's Table 2 and its "
                                   "best accuracy within as many epochs) and PNG figures (test accuracy per "
                                   "dataset, learned tau per run); print the folder and a summary.")
    p.add_argument("--root", default=".", help="the project (default: .)")
    p.add_argument("--out", metavar="DIR", help="output folder, replaced whole (default: ROOT/reports)")
    p.add_argument("--paper", metavar="DIR",
                   help="folder of the paper's test_accuracy.csv and tau.csv (default: the logs shipped in pipeline/cli/report/paperlogs)")
    p.add_argument("--no-experiments", action="store_true", help="the workspace's run only, not dvc exp show")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="the trained model as a NIR graph file (snnTorch, Norse, Sinabs, Lava, ...)",
                       description="Write the trained model as a NIR (Neuromorphic Intermediate "
                                   "Representation) graph: BatchNorm folded into the convolutions, dropout "
                                   "removed, PLIF as LIF, max pooling over spikes as SumPool2d + Threshold, "
                                   "the class vote as a fixed Linear layer. Every mapping is exact; a model "
                                   "that has none is refused.")
    p.add_argument("--nir", action="store_true", required=True, help="write a NIR graph (the one format)")
    p.add_argument("--model", default="models/model.pt", help="the train stage's model (default: models/model.pt)")
    p.add_argument("--out", default="exports/model.nir", help="output file (default: exports/model.nir)")
    p.add_argument("--for", dest="reader", choices=["generic", "snntorch"], default="generic",
                   help="the reader: generic (default; any NIR simulator, stepping by --dt) or snntorch (its "
                        "importer's step, dt 1e-4; a max-pooling model, which it cannot read, is refused)")
    p.add_argument("--dt", type=_positive_float, default=None,
                   help="the simulator's time step in the graph's time unit: tau = dt/sigmoid(w) "
                        "(default 1: tau in time steps; with --for snntorch, its 1e-4 and no other)")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    with report_errors(f"{parser.prog} {args.command}"):
        return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

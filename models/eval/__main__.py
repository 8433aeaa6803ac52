"""`python -m models.eval <command>`: the figures in docs/MODELS.md and docs/LIVENESS.md, one command each.

With ``--json`` the last line printed is one JSON object (other tools parse it); the table is for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from models.detectors import PROFILES
from models.eval.datasets import IMAGE_SUFFIXES, faces_root
from models.eval.encoder import FaceEncoder
from models.eval.identify import MATCHER_THRESHOLD, run_identify
from models.eval.speed import run_speed
from models.eval.verify import run_verify

#: Cosine thresholds chosen on LFW pairsDevTrain.txt with `verify` (see docs/MODELS.md); the Matcher's
#: user_config in serve_config.yaml starts from the same values.
CALIBRATED_THRESHOLDS = {"fast": 0.326, "accurate": 0.345}

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=True)

Profile = Annotated[str, typer.Option(help=f"detector profile: {', '.join(PROFILES)}")]
AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object as the last line")]
Threads = Annotated[int, typer.Option(help="ONNX Runtime intra-op threads (0: all cores)")]


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise typer.BadParameter(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")


def _emit(title: str, data: dict[str, object], as_json: bool) -> None:
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)
    if as_json:
        print(json.dumps(data))


@app.command()
def verify(
    pairs: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="LFW pairs file (View 1 or View 2)")
    ],
    images: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="LFW image root (Name/Name_0001.jpg)")
    ],
    profile: Profile = "fast",
    threshold: Annotated[float | None, typer.Option(help="fixed cosine threshold")] = None,
    train_pairs: Annotated[
        Path | None, typer.Option(exists=True, help="pairs file to choose the threshold on")
    ] = None,
    threads: Threads = 0,
    as_json: AsJson = False,
) -> None:
    """1:1 verification accuracy, TAR at FAR 1e-2/1e-3 and failures to detect."""
    _check_profile(profile)
    encoder = FaceEncoder.load(profile, threads=threads)
    try:
        report = run_verify(encoder, profile, pairs, images, threshold, train_pairs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _emit(f"verify: {pairs.name} ({profile})", report.to_json(), as_json)


def _sizes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--sizes takes comma-separated integers, got {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter(f"--sizes takes positive integers, got {text!r}")
    return sizes


@app.command()
def identify(
    root: Annotated[Path, typer.Option(exists=True, file_okay=False, help="a folder per identity")],
    enroll: Annotated[int, typer.Option(min=1, help="photos enrolled per identity")] = 3,
    unknown_fraction: Annotated[float, typer.Option(min=0.0, max=0.9, help="identities held out")] = 0.2,
    profile: Profile = "fast",
    threshold: Annotated[float | None, typer.Option(help="cosine threshold (default: calibrated)")] = None,
    distractors: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="a folder per identity (LFW layout) enrolled as extra identities, first photo, centre face",
        ),
    ] = None,
    sizes: Annotated[
        str | None,
        typer.Option(
            help="gallery sizes, enrolled identities in total (default with --distractors: 60,500,2000)"
        ),
    ] = None,
    roster: Annotated[
        int | None, typer.Option(min=1, help="also search each probe among K identities holding its own")
    ] = None,
    fuse: Annotated[
        int | None, typer.Option(min=2, help="also fuse N photos of one identity into one search")
    ] = None,
    seed: int = 0,
    threads: Threads = 0,
    as_json: AsJson = False,
) -> None:
    """Open-set identification: rank-1, FNIR and FPIR at the threshold; the FPIR = 1 % threshold chosen on
    half of the identities and reported on the other; optionally by gallery size, roster and fused bursts."""
    _check_profile(profile)
    encoder = FaceEncoder.load(profile, threads=threads)
    report = run_identify(
        encoder,
        profile,
        root,
        enroll=enroll,
        unknown_fraction=unknown_fraction,
        threshold=CALIBRATED_THRESHOLDS[profile] if threshold is None else threshold,
        seed=seed,
        distractors=distractors,
        sizes=_sizes(sizes),
        roster=roster,
        fuse_n=fuse,
    )
    data = report.to_json()
    _emit(
        f"identify: {root.name} ({profile})",
        {key: value for key, value in data.items() if not isinstance(value, dict)},
        as_json=False,
    )
    _print_operating_points(data)
    if as_json:
        print(json.dumps(data))


def _operating_points(data: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(search, identities, figures) of every kind of search in an ``identify`` report."""
    size = int(data["gallery_identities"])
    rows = [("school-wide, max over templates", size, data["templates"]["max"])]
    rows.append(("school-wide, mean template", size, data["templates"]["mean"]))

    def roster_rows(entry: dict[str, Any], identities: int) -> None:
        rows.append((f"roster K={entry['k']}", identities, entry))
        if "other_class" in entry:
            with_other = entry["other_class"]["with_other_class"]
            rows.append((f"roster K={entry['k']}, + other-class impostors", identities, with_other))

    if "roster" in data:
        roster_rows(data["roster"], size)
    for entry in data["by_gallery_size"].values():
        if entry["identities"] == size and entry["distractor_identities"] == 0:
            continue  # the same searches as the rows above
        rows.append(("school-wide", entry["identities"], entry["school"]))
        if "roster" in entry:
            roster_rows(entry["roster"], entry["identities"])
    if "fusion" in data:
        fusion = data["fusion"]
        n = fusion["n"]
        rows.append((f"fused {n} photos, school-wide", size, fusion["fused"]))
        rows.append((f"fused {n} photos, mean template", size, fusion["fused_mean_templates"]))
        rows.append((f"first of the {n} photos, school-wide", size, fusion["first_photo_only"]))
        for key, what in (("roster", "fused"), ("roster_first_photo_only", "first photo")):
            if key in fusion:
                rows.append((f"{what}, roster K={fusion[key]['k']}", size, fusion[key]))
    return rows


def _print_operating_points(data: dict[str, Any]) -> None:
    table = Table(title="FPIR = 1 % threshold chosen on the tune half, reported on the test half")
    for column in (
        "search",
        "identities",
        "threshold",
        "tune rank-1 / FNIR / FPIR",
        "test rank-1 / FNIR / FPIR",
        f"at {data['threshold']:.3f}: rank-1 / FPIR",
        f"at {MATCHER_THRESHOLD:.2f}: rank-1 / FPIR",
    ):
        table.add_column(column)
    for name, identities, figures in _operating_points(data):
        point, fixed, matcher = figures["fpir_1pct"], figures["at_threshold"], figures["at_matcher_threshold"]
        cells = [
            f"{point[half]['rank1']:.1%} / {point[half]['fnir']:.1%} / {point[half]['fpir']:.1%}"
            for half in ("tune", "test")
        ]
        table.add_row(
            name,
            str(identities),
            f"{point['threshold']:.3f}",
            *cells,
            f"{fixed['rank1']:.1%} / {fixed['fpir']:.1%}",
            f"{matcher['rank1']:.1%} / {matcher['fpir']:.1%}",
        )
    Console(width=max(Console().width, 170)).print(table)
    split = data["split"]
    console.print(
        f"non-mated searches: {split['tune_non_mated']} tune, {split['test_non_mated']} test; "
        f"search: {data['search']}; skipped sizes: {data['skipped_sizes'] or 'none'}"
    )
    if "fusion" in data:
        fusion = data["fusion"]
        console.print(
            f"fused searches: {fusion['searches']} ({fusion['mated_searches']} mated); non-mated: "
            f"{fusion['tune_non_mated']} tune, {fusion['test_non_mated']} test"
        )


@app.command()
def groups(
    profile: Profile = "fast",
    lfw_pairs: Annotated[Path | None, typer.Option(help="LFW pairs file (default: pairsDevTest.txt)")] = None,
    lfw_images: Annotated[Path | None, typer.Option(help="LFW image root (default: the shared one)")] = None,
    celeba: Annotated[
        Path | None, typer.Option(help="a folder per identity (default: shared CelebA)")
    ] = None,
    threshold: Annotated[
        list[float] | None,
        typer.Option(help="cosine thresholds; repeatable (default: the 1:1 calibrated and the Matcher's)"),
    ] = None,
    threads: Threads = 0,
    as_json: AsJson = False,
) -> None:
    """FNMR/FMR by dataset source, face size and yaw (no demographic labels are available: see the note)."""
    from models.eval.groups import run_groups

    _check_profile(profile)
    lfw_root = lfw_images or faces_root() / "lfw"
    encoder = FaceEncoder.load(profile, threads=threads)
    report = run_groups(
        encoder,
        lfw_pairs or lfw_root / "pairsDevTest.txt",
        lfw_root,
        celeba or faces_root() / "celeba",
        threshold or [CALIBRATED_THRESHOLDS[profile], MATCHER_THRESHOLD],
    )
    table = Table(title=f"FNMR / FMR by group ({profile}); a pair is in the bucket of its worse image")
    for column in ("grouping", "group", "source", "genuine", "impostor"):
        table.add_column(column)
    for threshold_key in report["rows"][0]["at"]:  # type: ignore[index]
        table.add_column(f"FNMR @ {threshold_key}")
        table.add_column(f"FMR @ {threshold_key}")
    for row in report["rows"]:  # type: ignore[attr-defined]
        first = next(iter(row["at"].values()))
        if first["genuine"] + first["impostor"] == 0:
            continue  # e.g. LFW has no face under 64 px
        cells = []
        for rates in row["at"].values():
            cells += [
                f"{rates['fnmr']:.2%} ({rates['false_non_matches']})",
                f"{rates['fmr']:.3%} ({rates['false_matches']})",
            ]
        table.add_row(
            row["grouping"],
            row["group"],
            row["source"],
            str(first["genuine"]),
            str(first["impostor"]),
            *cells,
        )
    Console(width=max(Console().width, 150)).print(table)
    console.print(f"{report['note']}; failed detections: {report['failed_detections']}")
    if as_json:
        print(json.dumps(report))


@app.command()
def speed(
    profile: Profile = "fast",
    images: Annotated[Path | None, typer.Option(help="folder of images (default: LFW)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="images to time")] = 300,
    gallery_size: Annotated[int, typer.Option(min=1, help="vectors in the searched gallery")] = 1000,
    batch: Annotated[int, typer.Option(min=1, help="batch size of the batched run")] = 16,
    threads: Threads = 0,
    as_json: AsJson = False,
) -> None:
    """Per-stage latency (decode, detect, align, embed, match) and faces/s."""
    _check_profile(profile)
    root = images or faces_root() / "lfw"
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not paths:
        raise typer.BadParameter(f"no images under {root}")
    encoder = FaceEncoder.load(profile, threads=threads)
    report = run_speed(encoder, profile, paths, threads=threads, gallery_size=gallery_size, batch=batch)
    _emit(f"speed ({profile})", report.to_json(), as_json)


@app.command()
def liveness(
    as_json: AsJson = False,
    frames: Annotated[int, typer.Option(help="frames per burst, as a kiosk sends them")] = 8,
    lfw_photos: Annotated[int, typer.Option(help="LFW photos used as attack pictures")] = 60,
    planar_per_source: Annotated[int, typer.Option(help="random plane poses per picture and challenge")] = 3,
    clips: Annotated[
        list[Path] | None,
        typer.Option(
            exists=True, file_okay=False, help="folder of real bona fide head-turn videos; repeatable"
        ),
    ] = None,
    replays: Annotated[
        list[Path] | None,
        typer.Option(exists=True, file_okay=False, help="folder of real screen-replay videos; repeatable"),
    ] = None,
    stride: Annotated[float, typer.Option(help="seconds between burst starts in a recording")] = 0.25,
    dump: Annotated[
        Path | None, typer.Option(help="write every recorded presentation here (JSON lines)")
    ] = None,
) -> None:
    """APCER per attack type and BPCER (ISO/IEC 30107-3) of the active + geometric liveness check. With
    --clips/--replays: real recordings, bursts at the Ingress challenge's frame counts and interval."""
    from models.eval.liveness import run_liveness

    if clips or replays:
        from models.eval.liveness_recorded import run_recorded

        recorded = run_recorded(
            faces_root(),
            clips or [],
            replays or [],
            stride_s=stride,
            lfw_photos=lfw_photos,
            planar_per_source=planar_per_source,
            dump=dump,
        )
        _print_recorded(recorded)
        if as_json:
            print(json.dumps(recorded))
        return
    report = run_liveness(
        faces_root(), frames=frames, lfw_photos=lfw_photos, planar_per_source=planar_per_source
    )
    limits = f"min_turn {report.limits['min_turn']}"
    table = Table(title=f"Liveness at score threshold {report.threshold} ({limits})")
    for column in ("presentations", "count", "error", "rate"):
        table.add_column(column)
    table.add_row("bona fide", str(report.bona_fide), "BPCER", f"{report.bpcer:.2%}")
    for name, count in report.attacks.items():
        table.add_row(name, str(count), "APCER", f"{report.apcer[name]:.2%}")
    Console().print(table)
    sweep = Table(title="Score threshold sweep")
    for column in report.sweep[0]:
        sweep.add_column(column)
    for row in report.sweep:
        sweep.add_row(*(f"{value:.3f}" if isinstance(value, float) else str(value) for value in row.values()))
    Console().print(sweep)
    console.print(f"reasons: {report.reasons}")
    if as_json:
        print(json.dumps(report.to_json()))


def _print_recorded(report: dict[str, object]) -> None:
    counts = report["frames"]
    table = Table(title=f"Liveness on recordings at score threshold {report['threshold']}")
    for column in (
        "source",
        "species",
        "fold",
        *(f"{c} frames" for c in ("min", "default", "max")),
        "top reasons",
    ):
        table.add_column(column)
    for source, row in report["by_source"].items():  # type: ignore[attr-defined]
        cells = [f"{cell['rate']:.1%} of {cell['count']}" for cell in row["by_frames"].values()]
        reasons = ", ".join(f"{k} {v}" for k, v in list(row["reasons"].items())[:3])
        table.add_row(source, row["species"], row["fold"], *cells, reasons)
    Console().print(table)
    totals = Table(title=f"Totals (frames {counts})")
    for column in ("fold", "BPCER by frames", "APCER by species", "APCER replayed_video by frames"):
        totals.add_column(column)
    for fold, figures in report["folds"].items():  # type: ignore[attr-defined]
        totals.add_row(
            fold,
            str(figures["bpcer_by_frames"]),
            str(figures["apcer"]),
            str(figures["apcer_replayed_video_by_frames"]),
        )
    totals.add_row(
        "all",
        str(report["bpcer_by_frames"]),
        str(report["apcer"]),
        str(report["apcer_replayed_video_by_frames"]),
    )
    Console().print(totals)
    sweep = Table(title="Score threshold sweep")
    for column in report["sweep"][0]:  # type: ignore[index]
        sweep.add_column(column)
    for row in report["sweep"]:  # type: ignore[attr-defined]
        sweep.add_row(*(f"{value:.3f}" for value in row.values()))
    Console().print(sweep)


@app.command("burst-fusion")
def burst_fusion(
    clips: Annotated[
        list[Path],
        typer.Option(exists=True, help="a one-person video, or a folder of them; repeatable"),
    ],
    stride: Annotated[float, typer.Option(help="seconds between burst starts")] = 0.5,
    threshold: Annotated[float, typer.Option(help="the roster threshold the bursts are judged at")] = 0.42,
    as_json: AsJson = False,
) -> None:
    """The probe frame alone against the fusion of the burst's most frontal frames (1, 2, 3, 5), each clip
    one person enrolled from its own frontal stills (models/eval/burst_fusion.py)."""
    from models.eval.burst_fusion import run_burst_fusion

    report = run_burst_fusion(clips, stride_s=stride, threshold=threshold)
    table = Table(title="burst fusion: mated and non-mated cosines per burst")
    fused = [key for key in report if key.startswith("fuse_")]
    table.add_column("")
    for key in fused:
        table.add_column(key, justify="right")
    for metric in report[fused[0]]:  # type: ignore[attr-defined]
        table.add_row(metric, *(str(report[key][metric]) for key in fused))  # type: ignore[index]
    Console().print(table)
    if as_json:
        print(json.dumps(report))


@app.command()
def colour(
    as_json: AsJson = False,
    clips: Annotated[
        list[Path] | None,
        typer.Option(exists=True, file_okay=False, help="folder of live videos (default: the shared ones)"),
    ] = None,
    replays: Annotated[
        list[Path] | None,
        typer.Option(exists=True, file_okay=False, help="folder of screen-replay videos (default: shared)"),
    ] = None,
    stride: Annotated[float, typer.Option(help="seconds between burst starts in a recording")] = 1.5,
) -> None:
    """The colour-reflection layer on its own: live clips with a synthetic reflection of the issued sequence
    (proves the detector only), without one (a replay), lit by an earlier sequence, and replay attacks
    whose glass reflects the screen (docs/COLOUR_CHALLENGE.md)."""
    from models.eval.colour import run_colour

    report = run_colour(faces_root(), clips=clips or (), replays=replays or (), stride_s=stride)
    counts = "/".join(str(c) for c in report["frames"].values())  # type: ignore[attr-defined]
    for at in ("configured", "chosen_on_tune"):
        table = Table(title=f"Colour layer, {at} {report[at]}; error at {counts} (min/default/max, ms)")
        for column in ("variant", "error", "tune", "test", "by frames", "median corr/margin/resp", "reasons"):
            table.add_column(column)
        for row in report["rows"]:  # type: ignore[attr-defined]
            rates = row[at]
            folds = [f"{rates[fold]['rate']:.1%} ({rates[fold]['count']})" for fold in ("tune", "test")]
            by_frames = " ".join(f"{rate:.0%}" for rate in rates["by_frames"].values())
            median = " ".join("-" if v is None else f"{v:.2f}" for v in row["median"].values())
            reasons = ", ".join(f"{k.removeprefix('colour_')} {v}" for k, v in row["reasons"].items())
            table.add_row(row["variant"], row["error"], *folds, by_frames, median, reasons)
        Console().print(table)
    console.print(f"sources: {report['sources']}; {report['trials']} bursts in {report['seconds']} s")
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    app()

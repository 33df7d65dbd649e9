"""Planning a batch: which photos, and where each output (and compare image) goes.

:func:`plan_batch` walks the inputs and gives a :class:`~photoenhance.infer.types.BatchPlan`;
every engine works from that plan, so naming, collision and report checks are the same
whichever engine runs the photos.  No torch here.

Output naming (:func:`assign_outputs`)
    Each photo goes to ``OUT/<relative path>``: the path relative to the input folder it
    was found under (an input given as a file goes to ``OUT/<name>``).  The name is kept;
    the extension changes only when ``format`` asks for a different format than the
    input's (an input ``.jpeg`` stays ``.jpeg`` with ``--format jpeg``; ``.png`` becomes
    ``.jpg``).  Two inputs never share an output: names are compared case-insensitively
    (NFC-normalised, so results are the same on macOS/Windows), photos whose name does not
    change claim their name first, then the others in input order; a photo whose name is
    taken gets ``<name>.<old ext><new ext>`` (``a.png`` → ``a.png.jpg``) when its extension
    changed, else the first free ``<stem>-2<ext>``, ``<stem>-3<ext>``... .  The outcome
    depends only on the inputs (and their order), so a rerun maps every photo to the same file.

Never over an input
    An output or compare image that would replace an input (or another output) of the
    batch, or a name longer than :data:`NAME_MAX` bytes, is an error for that photo.  The
    report (``RunConfig.report``) is checked while planning, before any work: it may not
    be an input, output or compare image of the batch, a folder, or an existing file that
    is not a photoenhance report (:class:`~photoenhance.infer.types.OutputConflictError`).
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from photoenhance.infer.report import is_report
from photoenhance.infer.types import (
    BatchPlan,
    NoInputsError,
    OutputConflictError,
    PlannedFile,
    RunConfig,
)
from photoenhance.io import output_suffix, walk_inputs
from photoenhance.io.atomic import NAME_MAX
from photoenhance.io.formats import normalise_format

COMPARE_SUFFIX = ".compare.jpg"


def name_key(path: Path) -> str:
    """Collision key: case-insensitive, NFC-normalised (portable across file systems)."""
    return unicodedata.normalize("NFC", path.as_posix()).casefold()


_key = name_key


def _natural_output(relative: Path, fmt: str | None) -> Path:
    """``relative`` with the extension of ``fmt`` if that differs from the input's format."""
    if fmt is None:
        return relative
    try:
        same = normalise_format(relative.suffix) == fmt
    except ValueError:
        same = False
    return relative if same else relative.with_suffix(output_suffix(fmt))


def assign_outputs(relatives: Sequence[Path], fmt: str | None) -> list[Path]:
    """Collision-free output paths (relative to the output folder), one per input.

    See the module docstring for the rule; the result depends only on ``relatives``
    (in order) and ``fmt``.
    """
    natural = [_natural_output(r, fmt) for r in relatives]
    taken: set[str] = set()
    for n in natural:  # a file may not take the name of another output's folder
        taken.update(_key(p) for p in n.parents if p != Path())
    result: list[Path | None] = [None] * len(relatives)
    order = sorted(range(len(relatives)), key=lambda i: (natural[i] != relatives[i], i))
    losers: list[int] = []
    for i in order:
        k = _key(natural[i])
        if k in taken:
            losers.append(i)
        else:
            taken.add(k)
            result[i] = natural[i]
    for i in sorted(losers):
        n = natural[i]
        first = [n.with_name(relatives[i].name + n.suffix)] if n != relatives[i] else []
        counted = (n.with_name(f"{n.stem}-{j}{n.suffix}") for j in itertools.count(2))
        chosen = next(c for c in itertools.chain(first, counted) if _key(c) not in taken)
        taken.add(_key(chosen))
        result[i] = chosen
    return [r for r in result if r is not None]


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _name_problem(rel: Path) -> str | None:
    """Why output path ``rel`` cannot be created (a name over :data:`NAME_MAX`), or None."""
    for part in rel.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            return f"its name would be {size} bytes long (file systems allow {NAME_MAX})"
    return None



def check_report_path(
    report: Path, inputs: set[Path], targets: Sequence[tuple[Path | None, set[str], str]]
) -> None:
    """Refuse a report path that would replace an input, a file the batch writes
    (``targets``: ``(folder, collision keys of the paths under it, what they are)``), a
    folder, or an existing file that is not a photoenhance report.

    Raises:
        OutputConflictError: one line naming ``report`` and why.
    """
    shown = str(report)
    if len(os.fsencode(report.name)) > NAME_MAX:
        raise OutputConflictError(f"--report {shown}: the name is longer than {NAME_MAX} bytes")
    real = _resolve(report)
    if os.path.lexists(report) and real in inputs:
        raise OutputConflictError(f"--report {shown} is an input photo; refusing to overwrite it")
    for folder, keys, what in targets:
        real_folder = _resolve(folder) if folder is not None else None
        if real is None or real_folder is None or not _is_within(real, real_folder):
            continue
        if _key(real.relative_to(real_folder)) in keys:
            raise OutputConflictError(
                f"--report {shown} is {what} of this run; choose another name"
            )
    if report.is_dir():
        raise OutputConflictError(f"--report {shown} is a folder; give a file name")
    if os.path.lexists(report) and not is_report(report):
        raise OutputConflictError(
            f"--report {shown} exists and is not a photoenhance report; refusing to overwrite it"
        )


def plan_batch(inputs: Sequence[Path], config: RunConfig) -> BatchPlan:
    """Find the photos in ``inputs`` and decide their output (and compare) paths.

    Raises:
        NoInputsError: nothing to process was found (``problems`` lists the reasons).
        OutputConflictError: ``config.report`` may not be written (see the module docstring).
    """
    walk = walk_inputs(
        [Path(p) for p in inputs], output_dir=config.output_dir, recursive=config.recursive
    )
    files = list(walk.files)
    compare_real = _resolve(config.compare_dir) if config.compare_dir is not None else None
    if compare_real is not None:  # never treat earlier compare images as inputs
        files = [f for f in files if not _is_within(_resolve(f.path) or f.path, compare_real)]
    if not files:
        where = ", ".join(str(p) for p in inputs) or "(none given)"
        raise NoInputsError(f"no photos found in {where}", walk.problems + walk.skipped)
    outputs = assign_outputs([f.relative for f in files], config.format)
    real_inputs = {r for r in (_resolve(f.path) for f in files) if r is not None}
    compares = [
        rel.with_name(rel.name + COMPARE_SUFFIX) if config.compare_dir else None for rel in outputs
    ]
    # the files this run writes, by collision key of their path under their folder
    output_keys = {_key(rel) for rel in outputs}
    compare_keys: set[str] = set()
    same_folder = config.compare_dir is not None and _resolve(config.compare_dir) == _resolve(
        config.output_dir
    )
    planned: list[PlannedFile] = []
    for f, rel, cmp_rel in zip(files, outputs, compares, strict=True):
        dst = config.output_dir / rel
        error = _name_problem(rel)
        if error is not None:
            error = f"output not written: {error}; rename the photo"
        warnings: list[str] = []
        cmp = None
        if cmp_rel is not None and config.compare_dir is not None:
            cmp = config.compare_dir / cmp_rel
            why = _name_problem(cmp_rel)
            if why is None and same_folder and _key(cmp_rel) in output_keys:
                why = "its name is an output of this run"
            if why is not None:
                warnings.append(f"compare image not written: {why}")
                cmp = None
            else:
                compare_keys.add(_key(cmp_rel))
        for target in (dst, cmp):
            if target is not None and os.path.lexists(target) and _resolve(target) in real_inputs:
                error = f"output {target} is an input file; refusing to overwrite an input"
        planned.append(
            PlannedFile(
                0, f.path, None if error else dst, None if error else cmp, error,
                warnings=tuple(warnings),
            )
        )  # fmt: skip
    planned.extend(PlannedFile(0, p, None, None, reason) for p, reason in walk.problems)
    planned.extend(PlannedFile(0, p, None, None, skip=reason) for p, reason in walk.skipped)
    if config.report is not None:
        targets = [
            (config.output_dir, output_keys, "an output"),
            (config.compare_dir, compare_keys, "a compare image"),
        ]
        check_report_path(config.report, real_inputs, targets)
    return BatchPlan(tuple(replace(p, index=i) for i, p in enumerate(planned)))


"""Coverage-guided fuzzing of every input surface with atheris (libFuzzer for Python).

Each target of `tests/reliability/fuzz/targets.py` (an X12 file, a Shopify payload, a
canonical CSV, a contract YAML, ...) runs in its own child process, with tallyclerk's modules
and PyYAML instrumented for coverage. The inputs it starts from are the target's corpus
(`tests/reliability/fuzz/corpus/<target>/`) and the real samples of `../shared/samples`
that fit it (read in place; several may not be copied into the project).

An exception the target does not let through is a crash: the first input of each distinct
crash (its exception type and where it was raised) is shrunk and saved as
`corpus/<target>/crash-<sha1>`, where the regression tests replay it; fuzzing goes on. An
input that hangs (`--timeout`) or takes more memory than `--rss-limit-mb` stops the child:
it is saved alike and the child starts again for the time that is left.

At the end every crash input of the target is replayed; the section `fuzz` of
docs/reliability.md gets, per target: seconds, executions, coverage, the crashes found in the
run, the crash inputs kept and how many of them no longer fail.

    .venv/bin/python benchmarks/fuzz.py --target x12 --seconds 60
    .venv/bin/python benchmarks/fuzz.py --all --seconds 90
    .venv/bin/python benchmarks/fuzz.py --list
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import ROOT, command_line, machine, stamp, versions, write_section

sys.path.insert(0, str(ROOT))

REPORT = ROOT / "docs" / "reliability.md"
CORPUS = ROOT / "tests" / "reliability" / "fuzz" / "corpus"
SAMPLES = Path(os.environ.get("TALLYCLERK_SAMPLES") or ROOT.parent / "shared" / "samples")
INSTRUMENTED = ["tallyclerk", "yaml"]
_RESTARTS = 25
_ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")
_SHRINK_SECONDS = 10.0
_MAX_SAVED = 30  # crash inputs saved per target and run; further crashes are only listed


# --- the child: one target under atheris ---------------------------------------------------------


def signature(exc: BaseException) -> str:
    """What tells two crashes apart: the exception type, and where ours raised or met it."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/tallyclerk/" in f.filename or "/fuzz/" in f.filename]
    where = [f"{Path(f.filename).name}:{f.lineno}" for f in (ours[-1:] + frames[-1:])]
    text = " -> ".join(dict.fromkeys(where))
    promise = getattr(exc, "promise", None)
    if promise is not None:  # a broken promise of a result, named without the input's values
        text += f" ({promise})"
    return f"{type(exc).__name__} at {text}"


def _save_crash(name: str, data: bytes) -> Path:
    folder = CORPUS / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


def child(name: str, work: Path, flags: list[str]) -> None:
    """Fuzz one target until libFuzzer stops (it exits the process; this never returns)."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        from tests.reliability.fuzz.targets import TARGETS, preload

        preload()

    target = TARGETS[name]
    known: set[str] = set()
    found_log = work / "found.jsonl"
    if found_log.exists():
        known = {json.loads(line)["signature"] for line in found_log.read_text().splitlines()}

    current = os.open(work / "current", os.O_RDWR | os.O_CREAT, 0o644)

    def harness(data: bytes) -> None:
        # The input being run, for the parent to keep should the child hang and be killed.
        os.ftruncate(current, 0)
        os.pwrite(current, data, 0)
        try:
            target(data)
        except Exception as exc:
            key = signature(exc)
            if key in known:
                return
            known.add(key)
            saved = _save_crash(name, data).name if len(known) <= _MAX_SAVED else ""
            entry = {"signature": key, "file": saved, "error": f"{exc!s}"[:300]}
            with found_log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    atheris.Setup([sys.argv[0], *flags], harness)
    # When fuzzing starts: the parent counts the seconds from here (imports take a while).
    (work / "started").write_text(str(time.time()), encoding="utf-8")
    atheris.Fuzz()


# --- the child: replaying and shrinking crash inputs ---------------------------------------------


def _outcome(target: Callable[[bytes], None], data: bytes) -> str | None:
    try:
        target(data)
    except Exception as exc:
        return signature(exc)
    return None


def replay(name: str) -> None:
    """Print which crash inputs of a target still fail, as JSON."""
    from tests.reliability.fuzz.targets import TARGETS, corpus_files

    target = TARGETS[name]
    failing = {}
    crashes = [p for p in corpus_files(name) if p.name.startswith("crash-")]

    def too_slow(*_: object) -> None:
        raise TimeoutError("still runs past the time limit")

    signal.signal(signal.SIGALRM, too_slow)
    for path in crashes:
        signal.alarm(30)
        found = _outcome(target, path.read_bytes())
        signal.alarm(0)
        if found is not None:
            failing[path.name] = found
    print(json.dumps({"crashes": len(crashes), "failing": failing}))


def shrink(name: str, file_names: list[str]) -> None:
    """Make crash inputs smaller while each fails the same way; print their new names."""
    from tests.reliability.fuzz.targets import TARGETS

    target = TARGETS[name]
    renamed = {}
    for file_name in file_names:
        path = CORPUS / name / file_name
        data = path.read_bytes()
        wanted = _outcome(target, data)
        if wanted is None:
            continue
        deadline = time.monotonic() + _SHRINK_SECONDS
        size = max(len(data) // 2, 1)
        while size >= 1 and time.monotonic() < deadline:
            start = 0
            while start < len(data) and time.monotonic() < deadline:
                candidate = data[:start] + data[start + size :]
                if _outcome(target, candidate) == wanted:
                    data = candidate
                else:
                    start += size
            size //= 2
        path.unlink()
        renamed[file_name] = _save_crash(name, data).name
    print(json.dumps({"renamed": renamed}))


# --- the parent ----------------------------------------------------------------------------------


@dataclass
class Run:
    """What fuzzing one target gave."""

    target: str
    seconds: float = 0.0
    executions: int = 0
    coverage: int = 0
    features: int = 0
    corpus_units: int = 0
    peak_rss_mb: int = 0
    restarts: int = 0
    found: list[dict[str, str]] = field(default_factory=list)
    kept: int = 0
    fixed: int = 0

    @property
    def per_second(self) -> float:
        """Executions per second."""
        return self.executions / self.seconds if self.seconds else 0.0


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.MULTILINE)
_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.MULTILINE)
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second", re.MULTILINE)


def _run_child(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def _seed_folder(name: str, work: Path) -> Path:
    """The real samples for a target, copied into the work folder (never into the project)."""
    from tests.reliability.fuzz.targets import sample_seeds

    folder = work / "samples"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if SAMPLES.is_dir():
        for index, path in enumerate(sample_seeds(name, SAMPLES)):
            shutil.copyfile(path, folder / f"{index:03d}-{path.name}")
    return folder


def _collect_artifacts(name: str, artifacts: Path, run: Run) -> None:
    """Inputs that stopped libFuzzer (a hang, too much memory) go to the corpus as crashes."""
    for path in sorted(artifacts.iterdir()):
        if not path.name.startswith(_ARTIFACTS):
            continue
        data = path.read_bytes()
        saved = _save_crash(name, data)
        what = path.name.split("-", 1)[0]
        run.found.append({"signature": what, "file": saved.name, "stopped": "1"})
        path.unlink()


def fuzz_target(name: str, seconds: float, work_root: Path, options: Any) -> Run:
    """Fuzz one target for `seconds`, restarting the child after a hang or a memory blow-up."""
    work = work_root / name
    artifacts = work / "artifacts"
    live = work / "corpus"
    for folder in (artifacts, live, CORPUS / name):
        folder.mkdir(parents=True, exist_ok=True)
    found_log = work / "found.jsonl"
    found_log.unlink(missing_ok=True)
    samples = _seed_folder(name, work)
    run = Run(name)
    began = work / "started"
    while run.restarts <= _RESTARTS:
        left = seconds - run.seconds
        if left < 2:
            break
        began.unlink(missing_ok=True)
        flags = [
            f"-max_total_time={int(left)}",
            f"-timeout={options.timeout}",
            f"-rss_limit_mb={options.rss_limit_mb}",
            f"-max_len={options.max_len}",
            "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/",
            str(live),
            str(CORPUS / name),
            str(samples),
        ]
        log = work / f"log-{run.restarts}.txt"
        code = _fuzz_child(["--child", name, "--work", str(work), "--", *flags], log, began, left)
        stderr = log.read_text(encoding="utf-8", errors="replace")
        if not began.exists():
            tail = stderr.strip().splitlines()[-5:]
            raise SystemExit(f"{name}: the fuzzing child failed to start:\n" + "\n".join(tail))
        run.seconds += time.time() - float(began.read_text(encoding="utf-8"))
        _tally(stderr, run)
        if code is None:  # it hung where libFuzzer's alarm could not stop it: killed
            current = work / "current"
            saved = _save_crash(name, current.read_bytes()) if current.exists() else None
            run.found.append(
                {"signature": "hang (killed)", "file": saved.name if saved else "", "stopped": "1"}
            )
        _collect_artifacts(name, artifacts, run)
        if code == 0:
            break
        run.restarts += 1
    if found_log.exists():
        run.found.extend(json.loads(line) for line in found_log.read_text().splitlines())
    saved = [item["file"] for item in run.found if item["file"] and "stopped" not in item]
    if saved:
        out = _run_child(["--shrink", name, *saved], timeout=60 + 2 * _SHRINK_SECONDS * len(saved))
        renamed = (_printed(out.stdout) or {}).get("renamed", {})
        for item in run.found:
            item["file"] = renamed.get(item["file"], item["file"])
    crashes = [p for p in (CORPUS / name).iterdir() if p.name.startswith("crash-")]
    if crashes:
        run.kept = len(crashes)
        try:
            result = _printed(_run_child(["--replay", name], timeout=600).stdout) or {}
            run.fixed = run.kept - len(result.get("failing", {}))
        except subprocess.TimeoutExpired:
            run.fixed = 0  # some input still hangs
    return run


def _fuzz_child(args: list[str], log: Path, began: Path, seconds: float) -> int | None:
    """Run a fuzzing child, its stderr to `log`: its exit code, or None when it overran
    (some input hung where libFuzzer's timer does not reach, as in a thread) and was killed."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    with log.open("w", encoding="utf-8") as out:
        child = subprocess.Popen(command, stdout=out, stderr=out, cwd=ROOT)
        started = time.time()
        while child.poll() is None:
            time.sleep(0.5)
            fuzzing = float(began.read_text(encoding="utf-8")) if began.exists() else None
            late = started + 600 if fuzzing is None else fuzzing + seconds + 120
            if time.time() > late:
                child.kill()
                child.wait()
                return None
    return child.returncode


def _tally(stderr: str, run: Run) -> None:
    stats = {key: int(value) for key, value in _STAT.findall(stderr)}
    executed = stats.get("number_of_executed_units")
    if executed is None:
        done = _DONE.findall(stderr)
        statuses = _STATUS.findall(stderr)
        executed = int(done[-1][0]) if done else int(statuses[-1][0]) if statuses else 0
    run.executions += executed
    run.peak_rss_mb = max(run.peak_rss_mb, stats.get("peak_rss_mb", 0))
    statuses = _STATUS.findall(stderr)
    if statuses:
        _, cov, ft, corp = statuses[-1]
        run.coverage, run.features, run.corpus_units = int(cov), int(ft), int(corp)


def _printed(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


# --- the report ----------------------------------------------------------------------------------

_COLUMNS = (
    "target",
    "seconds",
    "executions",
    "execs/s",
    "coverage (edges / features)",
    "crashes found",
    "crash inputs kept",
    "of them fixed",
    "run on",
)


def _row(run: Run, day: str) -> list[str]:
    return [
        f"`{run.target}`",
        f"{run.seconds:,.0f}",
        f"{run.executions:,}",
        f"{run.per_second:,.0f}",
        f"{run.coverage:,} / {run.features:,}",
        str(len(run.found)),
        str(run.kept),
        str(run.fixed),
        day,
    ]


def _kept_rows(text: str) -> dict[str, list[str]]:
    """The rows of the table already in the section, by target (runs of other targets)."""
    start = text.find("<!-- benchmark:fuzz -->")
    end = text.find("<!-- /benchmark:fuzz -->")
    rows: dict[str, list[str]] = {}
    if start < 0 or end < 0:
        return rows
    for line in text[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == len(_COLUMNS) and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


def report(runs: list[Run], order: list[str]) -> str:
    """The section: how it was run, then one row per target (rows of earlier runs kept)."""
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    rows = _kept_rows(text)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    for run in runs:
        rows[run.target] = _row(run, day)
    lines = [
        "## Fuzzing: every input surface under atheris",
        "",
        *stamp(),
        f"- Software: {versions('atheris', 'pyarrow', 'pydantic', 'PyYAML')}",
        "- Command: `.venv/bin/python benchmarks/fuzz.py --all --seconds N` (or `--target NAME`);"
        " each target in its own process, tallyclerk and PyYAML instrumented, seeded from"
        " `tests/reliability/fuzz/corpus/<target>/` and the real samples of"
        " `../shared/samples`.",
        "- A crash is any exception a target does not document as a clean refusal, or a result"
        " that could not be stored (a NUL character, an unpaired surrogate); hangs over the"
        " per-input timeout and memory over the limit count too. Each distinct crash is shrunk"
        " and kept as `corpus/<target>/crash-<sha1>`, replayed by"
        ' `tests/reliability/test_fuzz_regressions.py` in CI; "of them fixed" counts the kept'
        " inputs that no longer fail.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(_COLUMNS))) + "|",
    ]
    for name in [*order, *sorted(set(rows) - set(order))]:
        if name in rows:
            lines.append("| " + " | ".join(rows[name]) + " |")
    found = [(run.target, item) for run in runs for item in run.found]
    if found:
        lines += ["", "Crashes found by this run:", ""]
        lines += [f"- `{target}`: {item['signature']} (`{item['file']}`)" for target, item in found]
    return "\n".join(lines)


def _summary(run: Run) -> str:
    return (
        f"{run.target:<22} {run.seconds:6.0f} s {run.executions:>10,} execs "
        f"{run.per_second:8,.0f}/s  cov {run.coverage:>5} ft {run.features:>6}  "
        f"crashes found {len(run.found)}, kept {run.kept}, fixed {run.fixed}"
        + (f", restarts {run.restarts}" if run.restarts else "")
    )


def main() -> None:
    parser = command_line(__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--target", action="append", help="a target to fuzz (repeatable)")
    which.add_argument("--all", action="store_true", help="every target, one after the other")
    which.add_argument("--list", action="store_true", help="list the targets")
    which.add_argument("--child", help=argparse.SUPPRESS)
    which.add_argument("--replay", help=argparse.SUPPRESS)
    which.add_argument("--shrink", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    parser.add_argument("--work", type=Path, help="libFuzzer's working corpus (default: a tmp dir)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory of the child")
    parser.add_argument("--max-len", type=int, default=65536, help="longest input tried")
    parser.add_argument("--no-write", action="store_true", help="leave docs/reliability.md")
    parser.add_argument("flags", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.work, args.flags)
        return
    if args.replay:
        replay(args.replay)
        return
    if args.shrink:
        shrink(args.shrink[0], args.shrink[1:])
        return
    from tests.reliability.fuzz.targets import TARGETS

    if args.list:
        for name, function in TARGETS.items():
            print(f"{name:<22} {(function.__doc__ or '').strip()}")
        return
    names = list(TARGETS) if args.all else (args.target or [])
    unknown = [n for n in names if n not in TARGETS]
    if not names or unknown:
        parser.error(f"name targets with --target or give --all (known: {', '.join(TARGETS)})")
    work_root = args.work or Path(tempfile.gettempdir()) / "tallyclerk-fuzz"
    print(f"fuzzing {len(names)} target(s), {args.seconds:.0f} s each, on {machine()}")
    if not SAMPLES.is_dir():
        print(f"note: no real samples at {SAMPLES}; seeding from the corpus only")
    runs = []
    for name in names:
        run = fuzz_target(name, args.seconds, work_root, args)
        runs.append(run)
        print(_summary(run), flush=True)
        for item in run.found:
            print(f"    {item['signature']}: {item['file']}")
    body = report(runs, list(TARGETS))
    if not args.no_write:
        write_section("fuzz", body, path=REPORT)
    print()
    print(body)


if __name__ == "__main__":
    main()

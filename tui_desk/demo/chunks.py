"""Producing chunks of rows, here or in helper processes, in a fixed plan."""

from __future__ import annotations

import datetime as dt
import marshal
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tui_desk.db.models import (
    Stage,
)
from tui_desk.demo.generator import Generator
from tui_desk.demo.tables import Row
from tui_desk.i18n import _
from tui_desk.rules.profile import PriorityWeights
from tui_desk.services.errors import ServiceError

# Rows are generated and written in chunks of this many cases; part of the determinism
# contract (each chunk has its own random stream), so changing it changes the data.
CHUNK_CASES = 25_000


@dataclass(frozen=True)
class GeneratorSpec:
    """Everything a generator needs, picklable so a helper process can build its own."""

    seed: int
    now: dt.datetime
    next_ids: dict[str, int]
    operators: list[int]
    collectors_by_city: list[list[int]]
    supervisors: list[int]
    weights: PriorityWeights

    def build(self, stream: int) -> Generator:
        return Generator(
            seed=self.seed, now=self.now, next_ids=self.next_ids, operators=self.operators,
            collectors_by_city=self.collectors_by_city, supervisors=self.supervisors,
            weights=self.weights, stream=stream,
        )  # fmt: skip


Chunk = tuple[int, int, int, dict[int, Stage]]  # index, first case, cases, pinned stages
Rows = dict[str, list[Row]]
Chunks = Iterator[tuple[Rows, float]]


def chunk_plan(cases: int, seed: int) -> tuple[list[Chunk], list[Chunk]]:
    """The chunks of the main stream and of the tail stream (the last third of the chunks).

    The split depends only on the number of cases, so the rows are the same whether the
    streams run in one process or two. Every stage appears once seeding allows it.
    """
    stage_rng = random.Random(seed ^ 0x5EED)
    positions = stage_rng.sample(range(min(cases, CHUNK_CASES)), min(cases, len(Stage)))
    pinned = dict(zip(positions, Stage, strict=False))
    chunks = [
        (index, first, min(CHUNK_CASES, cases - first), pinned if index == 0 else {})
        for index, first in enumerate(range(0, cases, CHUNK_CASES))
    ]
    tail = len(chunks) // 3
    return chunks[: len(chunks) - tail], chunks[len(chunks) - tail :]


def chunks_inline(spec: GeneratorSpec, plan: list[Chunk], stream: int) -> Chunks:
    generator = spec.build(stream)
    for index, first, count, pinned in plan:
        mark = time.perf_counter()
        rows = generator.chunk(index, first, count, pinned)
        yield rows, time.perf_counter() - mark


def _send(stream: IO[bytes], message: tuple[Any, ...], *, plain: bool = True) -> None:
    # Rows are plain tuples of str/int/float/bool/None: marshal writes and reads them faster
    # than pickle. The spec going the other way is a dataclass and needs pickle.
    payload = marshal.dumps(message, 4) if plain else pickle.dumps(message, 5)
    stream.write(len(payload).to_bytes(8, "little"))
    stream.write(payload)
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = stream.read(size)
        if not part:
            raise EOFError
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _receive(stream: IO[bytes], *, plain: bool = True) -> Any:
    size = int.from_bytes(_read_exact(stream, 8), "little")
    payload = _read_exact(stream, size)
    return marshal.loads(payload) if plain else pickle.loads(payload)


def serve_generator() -> None:
    """Helper-process entry point: read a spec and plan on stdin, send chunks on stdout.

    Each chunk's rows go to a file in the given folder and only its name down the pipe, so
    the helper never waits for the writer to read (a pipe holds 64 KiB; a chunk is ~16 MB).
    """
    out = sys.stdout.buffer
    try:
        spec, plan, folder, stream = _receive(sys.stdin.buffer, plain=False)
        for rows, seconds in chunks_inline(spec, plan, stream):
            path = os.path.join(folder, f"cases-from-{rows['collection_case'][0][0]}")
            with open(path + ".part", "wb") as fh:
                fh.write(marshal.dumps(rows, 4))
            os.replace(path + ".part", path)
            _send(out, ("rows", path, seconds))
        _send(out, ("done",))
    except BrokenPipeError:
        pass  # the writer gave up; nobody is listening
    except Exception:
        _send(out, ("error", traceback.format_exc()))


class Helper:
    """A helper process generating one stream of chunks, ahead of the writer.

    Each chunk waits in a file of the helper's folder until the writer takes it, so a
    stream the writer takes last (the tail) is parked on disk, not in memory. A plain
    subprocess (not multiprocessing), so that the caller's main module is never re-run.
    """

    def __init__(self, spec: GeneratorSpec, plan: list[Chunk], stream: int) -> None:
        self.folder = tempfile.mkdtemp(prefix="tui-desk-seed-")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tui_desk.demo.chunks import serve_generator as s; s()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=env,
            # ``-c`` puts the working directory first on the path: started elsewhere (in
            # another checkout, say), the helper would import that copy of the package.
            cwd=package_root,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdout: IO[bytes] = self.process.stdout
        _send(self.process.stdin, (spec, plan, self.folder, stream), plain=False)
        self.process.stdin.close()

    def next(self) -> tuple[Rows, float] | None:
        """The next chunk's rows and generation time; None once the stream is done."""
        try:
            message = _receive(self.stdout)
        except EOFError:
            raise ServiceError(_("the seed generator process stopped unexpectedly")) from None
        if message[0] == "done":
            return None
        if message[0] == "error":
            raise ServiceError(_("generating seed data failed: {error}").format(error=message[1]))
        path = Path(message[1])
        rows = marshal.loads(path.read_bytes())
        path.unlink()
        return rows, message[2]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)

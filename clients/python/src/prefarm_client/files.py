"""Reading comparisons from files: JSONL, CSV, a JSON array, or AlpacaEval-style model outputs.

AlpacaEval's `model_outputs.json` is a list of `{instruction, output, generator, ...}`: one
answer per instruction and generator. Two generators' answers to the same instruction make a
comparison, the reference (or first) generator as output_1, the other as output_2, which is
AlpacaEval's own frame (preference 2 = the model beats the reference).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

# Columns of a comparison row (the server's `ComparisonRow`; tests/client/test_files.py checks
# that they are the same); any other CSV column goes into `metadata`.
COMPARISON_FIELDS = (
    "id",
    "instruction",
    "input",
    "output_1",
    "output_2",
    "generator_1",
    "generator_2",
    "gold_preference",
    "metadata",
)


class ComparisonFileError(ValueError):
    """The file cannot be read as comparisons; the message says where and why."""


@dataclass
class ComparisonFile:
    rows: list[dict[str, Any]]
    # Instructions answered by only one generator (AlpacaEval pairs): left out, counted here.
    unmatched: int = 0
    generators: tuple[str, ...] = field(default_factory=tuple)


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8", newline="")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def read_comparisons(path: str | Path, reference: str | Path | None = None) -> ComparisonFile:
    """Rows ready for `PrefarmClient.submit_comparisons`.

    `.jsonl` / `.ndjson` (one comparison per line), `.csv` (a header row; unknown columns become
    metadata), `.json` (an array of comparisons, or AlpacaEval model outputs). Any of them may be
    gzipped. With `reference`, both files are AlpacaEval model outputs paired by instruction.
    """
    path = Path(path)
    if reference is not None:
        return pair_model_outputs(_read_records(Path(reference)), _read_records(path))
    records = _read_records(path)
    if not records:
        raise ComparisonFileError(f"{path}: no comparisons in the file")
    if _base_suffix(path) == ".csv":
        return ComparisonFile([_csv_row(row) for row in records])
    if records and all("output" in r and "output_1" not in r for r in records):
        return pair_model_outputs(*_split_two_generators(records, path))
    return ComparisonFile(records)


def _read_records(path: Path) -> list[dict[str, Any]]:
    suffix = _base_suffix(path)
    if not path.is_file():
        raise ComparisonFileError(f"{path}: no such file")
    with _open_text(path) as handle:
        if suffix in (".jsonl", ".ndjson"):
            return _jsonl(handle, path)
        if suffix == ".csv":
            return list(csv.DictReader(handle))
        if suffix == ".json":
            return _json_array(handle, path)
    raise ComparisonFileError(f"{path}: expected a .jsonl, .ndjson, .csv or .json file")


def _jsonl(handle: TextIO, path: Path) -> list[dict[str, Any]]:
    rows = []
    for line_no, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ComparisonFileError(f"{path}:{line_no}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ComparisonFileError(f"{path}:{line_no}: each line must be a JSON object")
        rows.append(row)
    return rows


def _json_array(handle: TextIO, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ComparisonFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ComparisonFileError(f"{path}: expected a JSON array of objects")
    return data


def _csv_row(raw: Mapping[str, str | None]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            continue
        if key not in COMPARISON_FIELDS:
            if value not in (None, ""):
                extra[key] = value
        elif key == "gold_preference":
            row[key] = float(value) if value not in (None, "") else None
        elif key == "metadata":
            row[key] = json.loads(value) if value else None
        elif key == "id" and not value:
            continue
        else:
            row[key] = value or ""
    if extra:
        row["metadata"] = {**(row.get("metadata") or {}), **extra}
    return row


def _split_two_generators(
    records: list[dict[str, Any]], path: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    generators = list(dict.fromkeys(str(r.get("generator", "")) for r in records))
    if len(generators) != 2:
        raise ComparisonFileError(
            f"{path}: model outputs of {len(generators)} generator(s) "
            f"({', '.join(generators)}); pass the reference outputs as a second file "
            "or put exactly two generators in this one"
        )
    first, second = generators
    return (
        [r for r in records if str(r.get("generator", "")) == first],
        [r for r in records if str(r.get("generator", "")) == second],
    )


def _by_instruction(records: Iterable[dict[str, Any]], side: str) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records, start=1):
        if "instruction" not in record or "output" not in record:
            raise ComparisonFileError(
                f"{side} outputs, item {number}: needs instruction and output"
            )
        key = record["instruction"]
        if key in index:
            raise ComparisonFileError(
                f"{side} outputs, item {number}: instruction repeated ({key[:60]!r})"
            )
        index[key] = record
    return index


def pair_id(instruction: str, generator_1: str, generator_2: str) -> str:
    """A stable id, so submitting the same pairs again adds nothing."""
    digest = hashlib.sha256(json.dumps([instruction, generator_1, generator_2]).encode())
    return f"pair-{digest.hexdigest()[:24]}"


def pair_model_outputs(
    reference: list[dict[str, Any]], model: list[dict[str, Any]]
) -> ComparisonFile:
    """Comparisons of `model` (output_2) against `reference` (output_1), one per instruction."""
    reference_by_instruction = _by_instruction(reference, "reference")
    model_by_instruction = _by_instruction(model, "model")
    rows = []
    generators: dict[str, None] = {}
    for instruction, ref in reference_by_instruction.items():
        answer = model_by_instruction.get(instruction)
        if answer is None:
            continue
        generator_1 = str(ref.get("generator") or "reference")
        generator_2 = str(answer.get("generator") or "model")
        generators.update({generator_1: None, generator_2: None})
        row: dict[str, Any] = {
            "id": pair_id(instruction, generator_1, generator_2),
            "instruction": instruction,
            "input": ref.get("input") or "",
            "output_1": ref["output"],
            "output_2": answer["output"],
            "generator_1": generator_1,
            "generator_2": generator_2,
        }
        if ref.get("dataset"):
            row["metadata"] = {"dataset": ref["dataset"]}
        rows.append(row)
    matched = len(rows)
    unmatched = len(reference_by_instruction) + len(model_by_instruction) - 2 * matched
    if not rows:
        raise ComparisonFileError("no instruction is answered by both generators")
    return ComparisonFile(rows, unmatched=unmatched, generators=tuple(generators))

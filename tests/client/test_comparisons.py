"""Submitting comparisons and judgments in batches, and reading them back page by page."""

from __future__ import annotations

import json

import pytest
from prefarm_client import PrefarmClient, PrefarmError


def test_submit_in_batches_stores_every_row_once(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("batches")["id"]
    seen: list[tuple[int, int]] = []
    result = prefarm.submit_comparisons(
        job_id, rows(25), batch_size=10, on_batch=lambda sent, total: seen.append((sent, total))
    )
    assert (result.received, result.created, result.batches) == (25, 25, 3)
    assert seen == [(10, 25), (20, 25), (25, 25)]
    assert [c["id"] for c in prefarm.iter_comparisons(job_id, page_size=7)] == [
        f"c{n}" for n in range(25)
    ]


def test_submitting_again_adds_nothing(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("again")["id"]
    prefarm.submit_comparisons(job_id, rows(12))
    again = prefarm.submit_comparisons(job_id, rows(12), batch_size=5)
    assert (again.created, again.unchanged) == (0, 12)
    assert prefarm.get_job(job_id)["progress"]["comparisons"] == 12


def test_ndjson_batches_store_the_same_rows(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("ndjson")["id"]
    result = prefarm.submit_comparisons(job_id, rows(9), batch_size=4, ndjson=True)
    assert (result.created, result.batches) == (9, 3)
    stored = prefarm.comparisons(job_id)
    assert stored[3]["output_2"] == "The number is 3, written out in words."


def test_a_bad_row_names_its_place_in_the_whole_input(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("bad row")["id"]
    data = rows(25)
    del data[13]["output_1"]
    with pytest.raises(PrefarmError) as raised:
        prefarm.submit_comparisons(job_id, data, batch_size=10)
    error = raised.value
    assert error.status == 422
    assert [e["row"] for e in error.details["errors"]] == [14]
    assert "rows 11-20" in error.message
    # the first batch was stored, the failing one not at all
    assert prefarm.get_job(job_id)["progress"]["comparisons"] == 10


def test_a_dataframe_can_be_submitted(prefarm: PrefarmClient, rows) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rows(4))
    frame["gold_preference"] = [1.0, None, 2.0, None]
    job_id = prefarm.create_job("frame")["id"]
    assert prefarm.submit_comparisons(job_id, frame).created == 4
    assert [c["gold_preference"] for c in prefarm.comparisons(job_id)] == [1.0, None, 2.0, None]


def test_comparisons_as_a_dataframe(prefarm: PrefarmClient, rows) -> None:
    pytest.importorskip("pandas")
    job_id = prefarm.create_job("frame out")["id"]
    prefarm.submit_comparisons(job_id, rows(3))
    frame = prefarm.comparisons(job_id, as_frame=True)
    assert list(frame["id"]) == ["c0", "c1", "c2"]
    assert {"instruction", "output_1", "output_2", "status", "route"} <= set(frame.columns)


def test_comparisons_filtered_by_route(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("humans", routing="human")["id"]
    prefarm.submit_comparisons(job_id, rows(3))
    assert len(prefarm.comparisons(job_id, route="human")) == 3
    assert prefarm.comparisons(job_id, route="simulated") == []


def test_imported_judgments_are_listed_page_by_page(prefarm: PrefarmClient, rows) -> None:
    job_id = prefarm.create_job("imported")["id"]
    prefarm.submit_comparisons(job_id, rows(8))
    judgments = [
        {"comparison_id": f"c{n}", "annotator": "gpt-judge", "preference": 1 + n / 8}
        for n in range(8)
    ] + [{"comparison_id": "c0", "annotator": "ann", "annotator_kind": "human", "label": "tie"}]
    result = prefarm.import_annotations(job_id, judgments, batch_size=4)
    assert (result.created, result.batches) == (9, 3)
    listed = list(prefarm.iter_annotations(job_id, page_size=2))
    assert [a["preference"] for a in listed] == [1 + n / 8 for n in range(8)] + [1.5]
    assert [a["comparison_id"] for a in prefarm.annotations(job_id, annotator="ann")] == ["c0"]


def test_submit_file_reads_jsonl(prefarm: PrefarmClient, rows, tmp_path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(6)))
    job_id = prefarm.create_job("file")["id"]
    assert prefarm.submit_file(job_id, path, batch_size=4).created == 6
    assert prefarm.comparisons(job_id)[5]["generator_2"] == "wordy"

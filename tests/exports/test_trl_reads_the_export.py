"""TRL's own dataset functions on the `trl` export loaded with `datasets` (issue 13): standard
rows are recognised as standard, conversational rows as conversational, and TRL's chat-template
step turns them into the prompt/chosen/rejected text its trainers tokenise."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from tests.exports.conftest import comparisons

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    """A tokenizer built here (no hub): TRL only needs its chat template."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def load(download, tmp_path: Path, **params) -> datasets.Dataset:
    response = download(format="trl", **params)
    assert response.status_code == 200, response.text
    path = tmp_path / "trl.jsonl"
    path.write_bytes(response.content)
    return datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )


def test_standard_rows_are_standard_preference_data_for_trl(download, tmp_path, tokenizer):
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    dataset = load(download, tmp_path)
    for example in dataset:
        assert not is_conversational(example)
        # Standard rows pass through TRL's template step unchanged.
        assert maybe_apply_chat_template(example, tokenizer)["chosen"] == example["chosen"]


def test_conversational_rows_get_trls_chat_template(download, tmp_path, tokenizer):
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    dataset = load(download, tmp_path, conversational="true")
    instructions = {c["id"]: c["instruction"] for c in comparisons()}
    for example in dataset:
        assert is_conversational(example)
        text = maybe_apply_chat_template(example, tokenizer)
        assert text["prompt"].startswith("<|user|>" + instructions[example["comparison_id"]])
        assert text["prompt"].endswith("<|assistant|>")
        assert text["chosen"] == example["chosen"][0]["content"] + "\n"
        assert text["rejected"] == example["rejected"][0]["content"] + "\n"

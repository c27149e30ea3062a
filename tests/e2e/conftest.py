"""The end-to-end test loads datasets: never reach a hub, cache only under a temp folder."""

from __future__ import annotations

import os
import tempfile

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="prefarm-hf-"))

"""prefarm against the peers' own code on the same judgments: FastChat's Elo analysis on the
`arena` export, AlpacaEval's analysis functions on the evaluator table (issue 13)."""

from __future__ import annotations

import os
import tempfile

import orjson
import pytest
from fastapi.testclient import TestClient

# alpaca_eval and datasets read these when imported: never reach a hub.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="prefarm-hf-"))

COT_JUDGE = "alpaca_eval_cot_gpt4_turbo_fn"  # discrete labels: 1, 2 and six 1.5


def test_fastchat_elo_analysis_reads_the_arena_export_and_agrees_with_our_ratings(
    client: TestClient, researcher, alpaca_job
) -> None:
    from fastchat.serve.monitor.elo_analysis import report_elo_analysis_results

    base = f"/api/v1/jobs/{alpaca_job['id']}"
    exported = client.get(
        f"{base}/export",
        params={"format": "arena", "ties": "keep", "annotators": COT_JUDGE},
        headers=researcher.headers,
    )
    battles = [orjson.loads(line) for line in exported.content.splitlines()]
    assert len(battles) == 2415
    fastchat = report_elo_analysis_results(battles, rating_system="bt", num_bootstrap=3)
    ours = client.get(
        f"{base}/stats",
        params={"annotators": COT_JUDGE, "bootstrap": 0},
        headers=researcher.headers,
    ).json()["ratings"]
    assert [row["generator"] for row in ours] == list(fastchat["elo_rating_final"].index)
    for row in ours:
        # FastChat fits with scikit-learn's default L2 penalty (C = 1); we add 0.01 of a tie.
        assert row["rating"] == pytest.approx(fastchat["elo_rating_final"][row["generator"]], abs=3)


def alpaca_analyzer(gold, keys=("instruction", "output_1", "output_2"), n_annotators=1):
    import pandas as pd
    from alpaca_eval.analyze import Analyzer

    frame = pd.DataFrame(gold)
    return Analyzer(
        gold_crossannotations=frame, gold_annotations=frame, keys=keys, n_annotators=n_annotators
    )


@pytest.fixture(scope="module")
def alpaca_stats_request():
    return {"bootstrap": 0}


def test_length_and_list_biases_are_alpaca_evals_on_its_own_judgments(
    client: TestClient, researcher, alpaca_job, alpaca_judgments
) -> None:
    import pandas as pd

    stats = client.get(
        f"/api/v1/jobs/{alpaca_job['id']}/stats",
        params={"bootstrap": 0},
        headers=researcher.headers,
    ).json()
    rows = {row["annotator"]: row for row in stats["evaluators"]}
    frame = pd.DataFrame(alpaca_judgments)
    # One judgment per comparison: a comparison is its texts *and* its generators (seven pairs
    # of AlpacaEval's texts are the same for two generators).
    keys = ("instruction", "output_1", "output_2", "generator_2")
    analyzer = alpaca_analyzer(alpaca_judgments[:4], keys)
    for judge in {j["annotator"] for j in alpaca_judgments}:
        own = frame[frame["annotator"] == judge].copy()
        longer = analyzer.get_length_biases(own)["probability_prefer_longer"]
        lists = analyzer.get_list_biases(own)["probability_prefer_list"]
        assert rows[judge]["p_prefers_longer"] == pytest.approx(longer, abs=1e-12)
        assert rows[judge]["p_prefers_lists"] == pytest.approx(lists, abs=1e-12)


def test_win_rates_are_alpaca_evals_get_winrate_continuous_and_discrete(
    client: TestClient, researcher, alpaca_job, alpaca_judgments
) -> None:
    from alpaca_eval.metrics import get_winrate

    stats = client.get(
        f"/api/v1/jobs/{alpaca_job['id']}/stats",
        params={"bootstrap": 0},
        headers=researcher.headers,
    ).json()
    checked = 0
    for row in stats["win_rates"]:
        if row["judge"] == "all":
            continue
        same = [
            j
            for j in alpaca_judgments
            if j["annotator"] == row["judge"] and j["generator_2"] == row["generator"]
        ]
        theirs = get_winrate(same)
        assert row["win_rate"] == pytest.approx(theirs["win_rate"], abs=1e-9)
        assert row["standard_error"] == pytest.approx(theirs["standard_error"], abs=1e-9)
        assert row["discrete_win_rate"] == pytest.approx(theirs["discrete_win_rate"], abs=1e-9)
        checked += 1
    assert checked == 6


def test_pooled_standard_errors_are_clustered_by_comparison(
    client: TestClient, researcher, alpaca_job, alpaca_judgments
) -> None:
    """Two judges judged every comparison: the pooled SE is statsmodels' cluster-robust SE of
    the mean, clustered by comparison, not the SE of 1,610 independent judgments."""
    import numpy as np
    import statsmodels.api as sm

    stats = client.get(
        f"/api/v1/jobs/{alpaca_job['id']}/stats",
        params={"bootstrap": 0},
        headers=researcher.headers,
    ).json()
    pooled = [row for row in stats["win_rates"] if row["judge"] == "all"]
    assert len(pooled) == 3
    for row in pooled:
        same = [j for j in alpaca_judgments if j["generator_2"] == row["generator"]]
        score = np.array([j["preference"] for j in same]) - 1
        comparison = np.unique([j["instruction"] for j in same], return_inverse=True)[1]
        fit = sm.OLS(score, np.ones(len(score))).fit(
            cov_type="cluster", cov_kwds={"groups": comparison}
        )
        assert row["n"] == 1610
        assert row["win_rate"] == pytest.approx(100 * fit.params[0], abs=1e-9)
        assert row["standard_error"] == pytest.approx(100 * fit.bse[0], abs=1e-9)
        naive = 100 * score.std(ddof=1) / np.sqrt(len(score))
        assert row["standard_error"] > naive


def soft_panel() -> tuple[list[dict], list[dict]]:
    """Three humans (1 or 2, no ties) and a judge with three soft repeats on 40 comparisons."""
    import numpy as np

    rng = np.random.default_rng(5)
    humans, judge = [], []
    for n in range(40):
        truth = float(rng.choice([1.0, 2.0]))
        for rater in range(3):
            label = truth if rng.random() < 0.8 else 3.0 - truth
            humans.append({"n": n, "annotator": f"human-{rater}", "preference": label})
        for repeat in range(3):
            value = float(np.clip(truth + rng.normal(0, 0.4) * (1 if truth == 1 else -1), 1, 2))
            judge.append({"n": n, "annotator": "judge", "preference": value, "repeat": repeat})
    return humans, judge


def test_bias_variance_and_agreement_of_soft_judgments_are_alpaca_evals(
    client: TestClient, researcher, judged_job
) -> None:
    import pandas as pd

    from tests.stats.conftest import judgment, pair

    humans, judge = soft_panel()
    comparisons = [pair(n) for n in range(40)]
    rows = [judgment(f"c{h['n']}", h["annotator"], h["preference"]) for h in humans]
    rows += [judgment(f"c{j['n']}", "judge", j["preference"], repeat=j["repeat"]) for j in judge]
    job = judged_job(researcher, comparisons, rows)
    stats = client.get(
        f"/api/v1/jobs/{job['id']}/stats", params={"bootstrap": 0}, headers=researcher.headers
    ).json()
    ours = next(row for row in stats["evaluators"] if row["annotator"] == "judge")

    def frame(items: list[dict]) -> pd.DataFrame:
        text = {c["id"]: c for c in comparisons}
        return pd.DataFrame(
            [
                {
                    "instruction": text[f"c{i['n']}"]["instruction"],
                    "output_1": text[f"c{i['n']}"]["output_1"],
                    "output_2": text[f"c{i['n']}"]["output_2"],
                    "preference": i["preference"],
                }
                for i in items
            ]
        )

    analyzer = alpaca_analyzer(frame(humans), n_annotators=3)
    judged = frame(judge)
    assert ours["variance"] == pytest.approx(analyzer.estimate_variance(judged), abs=1e-12)
    assert ours["bias"] == pytest.approx(analyzer.estimate_bias(judged), abs=1e-12)
    agreement = analyzer.agreement_of_annotations(judged, n_majority_vote_1=1)["score"]
    assert ours["human_agreement"] == pytest.approx(agreement, abs=1e-12)


@pytest.fixture
def alpaca_eval_difficulties(tmp_path, monkeypatch):
    """Write instruction difficulties where alpaca_eval's GLM reads them: its `df_gamed.csv` in a
    Hugging Face cache of our own, which alpaca_eval's DEFAULT_CACHE_DIR setting points to
    (offline: nothing is downloaded)."""
    import pandas as pd
    from alpaca_eval import constants

    def write(difficulty: dict[int, float]) -> None:
        repo = tmp_path / "datasets--tatsu-lab--alpaca_eval"
        snapshot = repo / "snapshots" / ("0" * 40)
        snapshot.mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0" * 40)
        frame = pd.DataFrame(
            {
                "index": sorted(difficulty),
                "instruction_difficulty": [difficulty[k] for k in sorted(difficulty)],
                "model": "none",
            }
        )
        frame.to_csv(snapshot / "df_gamed.csv", index=False)
        monkeypatch.setattr(constants, "DEFAULT_CACHE_DIR", str(tmp_path))

    return write


@pytest.mark.parametrize("judge", ["weighted_alpaca_eval_gpt4_turbo", COT_JUDGE])
def test_length_controlled_win_rates_are_alpaca_evals_glm(
    client: TestClient, researcher, alpaca_job, alpaca_judgments, alpaca_eval_difficulties, judge
) -> None:
    import numpy as np
    import pandas as pd

    from app.stats.length_control import instruction_difficulty

    stats = client.get(
        f"/api/v1/jobs/{alpaca_job['id']}/stats",
        params={"bootstrap": 0, "annotators": judge},
        headers=researcher.headers,
    ).json()
    rows = {row["generator"]: row for row in stats["length_controlled"]}
    instructions = {
        t: k for k, t in enumerate(dict.fromkeys(j["instruction"] for j in alpaca_judgments))
    }
    generators = ["alpaca-7b", "gpt-3.5-turbo-0301", "claude-2.1"]  # the order they were posted
    mine = sorted(
        (j for j in alpaca_judgments if j["annotator"] == judge),
        key=lambda j: (generators.index(j["generator_2"]), instructions[j["instruction"]]),
    )
    index = np.array([instructions[j["instruction"]] for j in mine])
    difficulty = instruction_difficulty(index, np.array([j["preference"] - 1 for j in mine]))
    alpaca_eval_difficulties(dict(zip(index.tolist(), difficulty.tolist(), strict=True)))
    from alpaca_eval.metrics.glm_winrate import get_length_controlled_winrate

    for generator in generators:
        frame = pd.DataFrame([j for j in mine if j["generator_2"] == generator])
        frame["index"] = [instructions[t] for t in frame["instruction"]]
        theirs = get_length_controlled_winrate(
            frame, glm_name="length_controlled_noreg", save_weights_dir=None
        )
        row = rows[generator]
        assert row["difficulty"] == "estimated"
        # alpaca_eval stops liblinear at tolerance 1e-4; we solve the same problem to 1e-12.
        assert row["lc_win_rate"] == pytest.approx(theirs["length_controlled_winrate"], abs=0.1)
        assert row["lc_standard_error"] == pytest.approx(theirs["lc_standard_error"], abs=0.01)
        assert row["win_rate"] == pytest.approx(theirs["win_rate"], abs=1e-9)
        assert row["discrete_win_rate"] == pytest.approx(theirs["discrete_win_rate"], abs=1e-9)


# scikit-learn 1.8+ warns that `penalty` is deprecated; AlpacaEval passes it, and so do we here.
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")
def test_the_l1_glm_is_scikit_learns_liblinear_solved_tightly() -> None:
    """The same objective as AlpacaEval's LogisticRegressionCV fit, at a tolerance where the
    optimum is pinned down: liblinear at 1e-12 and our proximal Newton agree to 1e-6."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from app.stats.length_control import fit_l1_logistic

    rng = np.random.default_rng(0)
    x = np.column_stack([np.tanh(rng.normal(size=300)), rng.normal(size=300), np.ones(300)])
    target = 1 / (1 + np.exp(-(x @ np.array([-1.2, 0.8, 0.3])))) * rng.uniform(0.8, 1, 300)
    for c in (0.05, 1.0, 50.0):
        sklearn = LogisticRegression(
            C=c, penalty="l1", solver="liblinear", fit_intercept=False, tol=1e-12, max_iter=100_000
        ).fit(
            np.vstack([x, x]),
            np.r_[np.ones(300), np.zeros(300)],
            sample_weight=np.r_[target, 1 - target],
        )
        assert fit_l1_logistic(x, target, c) == pytest.approx(sklearn.coef_[0], abs=1e-6)


def test_length_controlled_win_rates_use_an_imported_difficulty_table(
    client: TestClient,
    researcher,
    judged_job,
    alpaca_outputs,
    alpaca_judgments,
    alpaca_eval_difficulties,
) -> None:
    """Difficulties posted as comparison metadata (an imported table) are the ones the GLM
    uses: alpaca_eval's GLM given the same table gives the same length-controlled win rate."""
    import numpy as np
    import pandas as pd

    from tests.stats.conftest import build_alpaca_job

    table = dict(enumerate(np.random.default_rng(8).normal(0, 1.5, 805).tolist()))
    job = build_alpaca_job(
        researcher, judged_job, alpaca_outputs, alpaca_judgments, difficulty=table.__getitem__
    )
    stats = client.get(
        f"/api/v1/jobs/{job['id']}/stats",
        params={"bootstrap": 0, "annotators": COT_JUDGE},
        headers=researcher.headers,
    ).json()
    rows = {row["generator"]: row for row in stats["length_controlled"]}
    alpaca_eval_difficulties(table)
    from alpaca_eval.metrics.glm_winrate import get_length_controlled_winrate

    instructions = {
        t: k for k, t in enumerate(dict.fromkeys(j["instruction"] for j in alpaca_judgments))
    }
    for generator, row in rows.items():
        assert row["difficulty"] == "imported"
        frame = pd.DataFrame(
            sorted(
                (
                    j
                    for j in alpaca_judgments
                    if j["annotator"] == COT_JUDGE and j["generator_2"] == generator
                ),
                key=lambda j: instructions[j["instruction"]],
            )
        )
        frame["index"] = [instructions[t] for t in frame["instruction"]]
        theirs = get_length_controlled_winrate(
            frame, glm_name="length_controlled_noreg", save_weights_dir=None
        )
        assert row["lc_win_rate"] == pytest.approx(theirs["length_controlled_winrate"], abs=0.1)

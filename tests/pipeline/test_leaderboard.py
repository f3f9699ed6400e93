"""The leaderboard: entry files and their errors, a tiny 2 entries x 2 seeds board on the
tiny data (reports, intervals, reuse, resume after an interruption, one training per model)."""

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from vreid.config import ConfigError, ModelConfig, load_params
from vreid.models import build_model
from vreid.pipeline import leaderboard as lb
from vreid.pipeline.leaderboard import load_entries, load_entry, model_identity

REPO = Path(__file__).resolve().parents[2]
COMMITTED = ["configs/leaderboard/*.yaml"]  # every committed entry (the default board is fewer)
# a tiny full stage (the tiny params' sizes): trains in well under a second
TINY_STAGE = {"data": "video", "model": {"name": "resnet_tap", "kwargs": {"depth": 18}},
              "input": {"height": 32, "width": 16, "clip_len": 2},
              "train": {"epochs": 1, "ids_per_batch": 3, "instances_per_id": 2,
                        "iters_per_epoch": 1, "warmup_epochs": 0, "milestones": [1]}}


def write_entry(folder: Path, file: str, **entry) -> Path:
    path = folder / file
    path.write_text(yaml.safe_dump(entry, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def repo_params():
    return load_params(REPO / "params.yaml")


@pytest.fixture(scope="module")
def bench_params():
    """The benchmark profile, whose `stages:` table has paper 002's step 1 (p002_i3d)."""
    return load_params(REPO / "benchmark" / "params.yaml")


# paper 002's benchmark-profile entries (step 2 from the table's p002_i3d, tables 1 and 2)
P002_BENCHMARK = [str(REPO / "configs" / "p002" / "*.yaml")]


def test_every_committed_entry_loads_with_paper_figures_for_the_ablations(repo_params):
    entries = load_entries(repo_params, repo_params.leaderboard.entries)
    names = [e.name for e in entries]
    assert repo_params.leaderboard.reference in names
    assert {"resnet_tap", "resnet_tmp", "frame average (SPReID-style)"} <= set(names)
    ablations = [e for e in entries if Path(e.file).name.startswith("egoreid_")]
    assert all(e.paper and e.paper.source.startswith("paper 000") for e in ablations)
    frame = next(e for e in entries if e.name == "frame average (SPReID-style)")
    assert frame.stage.model.name == "egoreid_frame" and frame.stage.input.clip_len == 1
    ub = next(e for e in entries if e.name == "Ub")
    assert ub.stage.model.kwargs["regions"] == ["ub"] and not ub.stage.model.kwargs["use_global"]
    # init_from resolved to the chain's model files, as the stages table does
    assert ub.stage.model.kwargs["extractor_checkpoint"] == "models/finetune_image/model.pt"
    # the two full-model rows of tables 2 and 4 are one model (trained once per seed)
    full = [e for e in entries if e.name in ("Ub+Lb+Fb+Gf", "with multi-scale and weights")]
    assert model_identity(full[0].stage.model) == model_identity(full[1].stage.model)



def test_every_claim_names_an_entry_and_no_entry_claims_itself(repo_params):
    entries = load_entries(repo_params, COMMITTED)
    names = {e.name for e in entries}
    for e in entries:
        for claim in e.claims:
            assert claim.beats in names, (e.file, claim.beats)
            assert claim.beats != e.name and claim.source.startswith("paper "), e.file


def _paper_entries(params, prefix, patterns=COMMITTED):
    return [e for e in load_entries(params, patterns) if Path(e.file).name.startswith(prefix)]


def test_paper_001_and_004_entries_cover_their_tables(repo_params):
    p001 = {e.name: e for e in _paper_entries(repo_params, "p001_")}
    p004 = {e.name: e for e in _paper_entries(repo_params, "p004_")}
    assert len(p001) == 7 and len(p004) == 12 + 8 + 2
    full = p001["p001 IBN-a + TA, all losses"]
    kw = full.stage.model.kwargs
    assert (kw["backbone"], kw["temporal"], kw["neck"]) == ("resnet_ibn_a", "attention",
                                                            "before_both")
    assert [t.name for t in full.stage.train.losses] == ["cross_entropy", "ranked_list",
                                                          "center", "erasing_attention"]
    assert full.stage.input.random_erasing.per_frame
    assert {c.beats for c in full.claims} == {"p001 ResNet + TA, all losses",
                                              "p001 IBN-a + TA, 8-frame clips",
                                              "p001 IBN-a + TA, BNNeck before FC only"}
    assert p001["p001 ResNet + TA, all losses"].paper is None  # table I: rank-1 only
    assert p001["p001 IBN-a + TA, 8-frame clips"].stage.input.clip_len == 8
    best = p004["p004 SE-ResNet + COSAM(4,5) + TP-avg"]
    assert best.stage.model.kwargs["cosam_after"] == ["layer3", "layer4"]
    assert (best.paper.rank1, best.paper.mAP) == (84.9, 79.9)
    # table 3's COSAM_i after CNN block i: block 2 = layer1 ... block 5 = layer4
    assert p004["p004 ResNet + COSAM(2) + TP-avg"].stage.model.kwargs["cosam_after"] == ["layer1"]
    assert p004["p004 SE-ResNet + COSAM(5) + TP-avg"].stage.model.kwargs["cosam_after"] == ["layer4"]
    for e in p004.values():  # every COSAM is built for the clips it is trained and scored on
        kw, inp = e.stage.model.kwargs, e.stage.input
        assert e.paper and e.paper.source.startswith("paper 004 table"), e.file
        if kw.get("cosam_after"):
            assert (kw["clip_len"], kw["height"], kw["width"]) == (
                inp.clip_len, inp.height, inp.width), e.file


def test_paper_003_entries_change_one_setting_of_the_reference_each(repo_params):
    """Sec. III-B a (avg / max pooling), table III (stripe / grid), table IV (B), table IX
    (+ XQDA, scoring only) and sec. III-C (two-step training), with the tables' claims."""
    from vreid.config import to_flat_dict

    p003 = {e.name: e for e in _paper_entries(repo_params, "p003_")}
    ref = p003.pop("p003 3D PersonVLAD")
    assert len(p003) == 10
    base = to_flat_dict(ref.stage)
    changed = {name: {k: v for k, v in to_flat_dict(e.stage).items() if base.get(k) != v}
               for name, e in p003.items()}
    assert changed["p003 avg pooling (3D ConvNets+GP)"] == {
        "model.kwargs.aggregation": "avg", "model.kwargs.part_dim": 128}
    assert changed["p003 max pooling"]["model.kwargs.aggregation"] == "max"
    assert changed["p003 stripe partition"] == {"model.kwargs.parts": "stripe"}
    assert changed["p003 grid partition"] == {"model.kwargs.parts": "grid"}
    for b in (1, 2, 4, 8):
        assert changed[f"p003 B = {b} parts"] == {"model.kwargs.num_parts": b}
    assert changed["p003 3D PersonVLAD + XQDA"] == {}  # the same stage, scored otherwise
    xqda = p003["p003 3D PersonVLAD + XQDA"]
    assert (xqda.eval.scorer, ref.eval.scorer) == ("xqda", "distance")
    assert (xqda.paper.rank1, ref.paper.rank1) == (82.8, 80.8)
    assert [(c.beats, c.source) for c in xqda.claims] == [("p003 3D PersonVLAD",
                                                          "paper 003 table IX")]
    two = changed["p003 3D PersonVLAD, two-step training"]
    assert two["train.kmeans_init.enabled"] and two["train.freeze.params"] == ("vlad.*",)
    assert two["train.freeze.epochs"] == 6 and two["train.milestones"] == (6,)
    assert two["train.lr"] * two["train.gamma"] == pytest.approx(1e-4, rel=1e-4)  # step 2
    assert {c.beats for c in ref.claims} == set(p003) - {xqda.name, "p003 3D PersonVLAD, "
                                                                    "two-step training"}
    # the two-step entry's freeze names parameters its model has
    model = build_model("personvlad3d", num_classes=3, **ref.stage.model.kwargs)
    assert any(n.startswith("vlad.") for n, _ in model.named_parameters())


@pytest.mark.parametrize("prefix, profile", [("p001_", "repo"), ("p002_", "repo"),
                                             ("p003_", "repo"), ("p004_", "repo"),
                                             ("p002_", "benchmark")])
def test_paper_entry_models_build_and_train_a_step_with_their_losses(repo_params, bench_params,
                                                                     prefix, profile):
    import torch

    from vreid.losses import build_losses
    from vreid.pipeline.common import INIT_ONLY_KWARGS

    params, patterns = ((repo_params, COMMITTED) if profile == "repo"
                        else (bench_params, P002_BENCHMARK))
    entries = _paper_entries(params, prefix, patterns)
    assert entries
    for e in entries:
        torch.manual_seed(0)
        inp = e.stage.input
        # untrained: the chain's files (init_from) are not read here
        kwargs = {k: v for k, v in e.stage.model.kwargs.items() if k not in INIT_ONLY_KWARGS}
        model = build_model(e.stage.model.name, num_classes=3, **kwargs).train()
        criterion = build_losses(e.stage.train.losses, num_classes=3,
                                 feature_dim=model.embedding_dim)
        clips = torch.randn(4, inp.clip_len, 3, inp.height, inp.width)
        batch = {"labels": torch.tensor([0, 0, 1, 1]),
                 "erased": torch.rand(4, inp.clip_len) < 0.5}
        losses = criterion(model(clips), batch)
        assert set(losses) == {t.name for t in e.stage.train.losses} | {"total"}, e.file
        losses["total"].backward()
        assert torch.isfinite(losses["total"]), e.file
        with torch.no_grad():
            assert model.eval()(clips[:2]).shape == (2, model.embedding_dim), e.file


def test_paper_002_benchmark_entries_cover_step_2_and_tables_1_and_2(bench_params,
                                                                      repo_params):
    """Step 2 (learned / top-t%-eval / top-t%-traineval) starts from the table's step-1
    stage, which is configs/leaderboard/p002_i3d.yaml's model; table 2's corruption levels
    change only input.corruption; table 1's entries only the step-1 training sampling."""
    entries = {e.name: e for e in load_entries(bench_params, P002_BENCHMARK)}
    step1 = bench_params.stages["p002_i3d"]
    committed = load_entry(repo_params, REPO / "configs" / "leaderboard" / "p002_i3d.yaml")
    assert step1 == committed.stage  # the table's stage is the step-1 entry, setting for setting
    kinds = {"learned": ("learned", None), "top-t%-eval (t = 20%)": ("top_percent", 100.0),
             "top-t%-traineval (t = 20%)": ("top_percent", None)}
    for kind, (aggregation, train_percent) in kinds.items():
        base = entries[f"p002 step 2, {kind}"]
        kw = base.stage.model.kwargs
        assert base.stage.model.name == "i3d_clip_similarity" and kw["aggregation"] == aggregation
        assert kw.get("train_percent") == train_percent and kw["width"] == 0.25
        assert kw["init_checkpoint"] == "models/p002_i3d/model.pt"
        # a training sample is M clips of L frames; the clips' L is step 1's
        assert base.stage.input.clip_len == kw["num_clips"] * kw["clip_len"]
        assert kw["clip_len"] == step1.input.clip_len
        assert base.stage.input.corruption.max_clips == 0 and base.paper is not None
        for level in (1, 2, 3):
            e = entries[f"p002 step 2, {kind}, corrupt <= {level} of 4 clips"]
            assert e.stage.input.corruption.max_clips == level
            assert dataclasses.replace(e.stage, input=base.stage.input) == base.stage, e.file
            assert e.paper.source.startswith("paper 002 table 2"), e.file
    # the paper's claim where the corruption is high: learned beats both baselines
    worst = entries["p002 step 2, learned, corrupt <= 3 of 4 clips"]
    assert {c.beats for c in worst.claims} == {
        "p002 step 2, top-t%-eval (t = 20%), corrupt <= 3 of 4 clips",
        "p002 step 2, top-t%-traineval (t = 20%), corrupt <= 3 of 4 clips"}
    assert not entries["p002 step 2, learned"].claims  # comparable at low corruption
    for e in entries.values():
        for claim in e.claims:
            assert claim.beats in entries and claim.source.startswith("paper 002"), e.file
    for mode in ("random", "evenly"):
        e = entries[f"p002 I3D (step 1), {mode} training frames"]
        assert e.stage.input.train_sampling == mode
        assert dataclasses.replace(e.stage, input=step1.input) == step1
    assert len(entries) == 3 * 4 + 2


def test_paper_002_step_2_starts_from_the_step_1_model_and_trains_only_psi(bench_params,
                                                                            tmp_path):
    """The step-2 entry's model built from a step-1 model file (init_from's file): the I3D
    tensors are step 1's, frozen; one optimiser step on the entry's loss moves psi only."""
    import torch

    from vreid.losses import build_losses
    from vreid.pipeline.common import save_model

    step1 = bench_params.stages["p002_i3d"]
    torch.manual_seed(0)
    first = build_model(step1.model.name, num_classes=5, **step1.model.kwargs)
    path = tmp_path / "p002_i3d.pt"
    save_model(path, first, step1.model, 5, step1.input)
    e = load_entry(bench_params, REPO / "configs" / "p002" / "p002_s2_learned.yaml")
    kwargs = {**e.stage.model.kwargs, "init_checkpoint": str(path)}
    model = build_model(e.stage.model.name, num_classes=5, **kwargs).train()
    trunk = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    assert all(torch.equal(v, first.backbone.state_dict()[k]) for k, v in trunk.items())
    criterion = build_losses(e.stage.train.losses, num_classes=5)
    optimizer = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=1e-2)
    psi = {k: v.clone() for k, v in model.similarity.state_dict().items()}
    inp = e.stage.input
    clips = torch.randn(4, inp.clip_len, 3, inp.height, inp.width)
    losses = criterion(model(clips), {"labels": torch.tensor([0, 0, 1, 1])})
    losses["total"].backward()
    optimizer.step()
    assert torch.isfinite(losses["total"])
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in trunk.items())
    assert any(not torch.equal(v, model.similarity.state_dict()[k]) for k, v in psi.items())


def test_egoreid_entries_train_region_classifiers_and_switch_the_weights(repo_params):
    """Issue 12: every EgoReID entry trains one classifier per region (region CE, from the
    chain's stage), and table 4's 'without weights' rows build no weighting module, so
    their test embedding is unweighted, while the full model's weights scale it."""
    entries = {e.name: e for e in load_entries(repo_params, repo_params.leaderboard.entries)
               if Path(e.file).name.startswith("egoreid_")}
    for name, entry in entries.items():
        assert "region_cross_entropy" in [t.name for t in entry.stage.train.losses], name
    for name, weighted in [("with multi-scale", False), ("with multi-scale and weights", True)]:
        kwargs = {k: v for k, v in entries[name].stage.model.kwargs.items()
                  if not k.endswith("_checkpoint")}  # untrained: the chain's files are not read
        model = build_model("egoreid", num_classes=4, **{**kwargs, "channels": 8})
        assert (model.weighting is not None) == weighted, name
        assert len(model.classifiers) == len(kwargs["regions"]), name

@pytest.mark.parametrize("entry, message", [
    ({"name": "x", "stage": "train_audio"}, r"\.yaml: stage: no stage 'train_audio'"),
    ({"name": "x", "stage": "pretrain_parsing"}, r"\.yaml: stage: 'pretrain_parsing' is a parsing"),
    ({"name": "x", "stage": 3}, r"\.yaml: stage: a stage name .* got 3"),
    ({"name": "x", "stage": "train_video", "colour": 1}, r"\.yaml: colour: unknown key"),
    ({"stage": "train_video"}, r"\.yaml: name: Field required"),
    ({"name": "x", "stage": "train_video", "overrides": {"train.speed": 1}},
     r"\.yaml: overrides\.train: no key 'speed'"),
    ({"name": "x", "stage": "train_video", "overrides": {"train.lr": "fast"}},
     r"\.yaml: overrides\.train\.lr: Input should be a valid number"),
    ({"name": "x", "stage": "train_video", "overrides": {"model.kwargs.wings": 2}},
     r"\.yaml: model\.kwargs: .*wings"),
    ({"name": "x", "stage": {"model": {"name": "resnet_tap"}, "train": {"lr": -1}}},
     r"\.yaml: stage\.train\.lr: Input should be greater than 0"),
    ({"name": "x", "stage": {"model": {"name": "resnet_warp"}}},
     r"\.yaml: model\.name: unknown model 'resnet_warp'"),
    ({"name": "x", "stage": {"data": "audio"}}, r"\.yaml: data: unknown dataset 'audio'"),
    ({"name": "x", "stage": {"init_from": {"extractor_checkpoint": "nope"}}},
     r"\.yaml: init_from\.extractor_checkpoint: 'nope' is not a stage"),
    ({"name": "x", "stage": "train_video", "eval": {"scorer": "kissme"}},
     r"\.yaml: eval\.scorer: Input should be 'distance' or 'xqda'"),
    ({"name": "x", "stage": "train_video", "eval": {"xqda.rank": 3}},
     r"\.yaml: eval\.xqda: no key 'rank'"),
    ({"name": "x", "stage": {"model": {"name": "i3d_clip_similarity"}},
      "eval": {"scorer": "xqda"}},
     r"\.yaml: eval\.scorer: xqda fits a metric on one vector per tracklet; "
     r"i3d_clip_similarity scores tracklets as clip_set"),
])
def test_bad_entries_name_the_file_and_key(repo_params, tmp_path, entry, message):
    path = write_entry(tmp_path, "bad.yaml", **entry)
    with pytest.raises(ConfigError, match=message):
        load_entry(repo_params, path)


def test_entry_names_unique_and_patterns_must_match(repo_params, tmp_path):
    write_entry(tmp_path, "a.yaml", name="tap", stage=TINY_STAGE)
    write_entry(tmp_path, "b.yaml", name="tap", stage=TINY_STAGE)
    with pytest.raises(ConfigError, match=r"b\.yaml: name: 'tap' is taken by .*a\.yaml"):
        load_entries(repo_params, [str(tmp_path / "*.yaml")])
    with pytest.raises(ConfigError, match="no entry file matches"):
        load_entries(repo_params, [str(tmp_path / "*.yml")])
    with pytest.raises(ConfigError, match="c.yaml: leaderboard entry file not found"):
        load_entries(repo_params, [str(tmp_path / "c.yaml")])


def test_model_identity_fills_in_builder_defaults():
    base = model_identity(ModelConfig("egoreid", {"channels": 16}))
    assert model_identity(ModelConfig("egoreid", {"channels": 16, "use_global": True,
                                                  "regions": ["fg", "ub", "lb"]})) == base
    assert model_identity(ModelConfig("egoreid", {"channels": 16, "use_global": False})) != base
    assert model_identity(ModelConfig("egoreid_frame", {})) != model_identity(
        ModelConfig("egoreid", {}))


@pytest.fixture
def board(in_prepared, tmp_path, monkeypatch):
    """Tiny params with the board's runs under tmp_path, two tiny entries, and a count of
    the trainings actually run (the real train_reid is called)."""
    p = load_params("params.yaml")
    p = dataclasses.replace(p, leaderboard=dataclasses.replace(
        p.leaderboard, out_dir=str(tmp_path / "runs"), seeds=(0, 1), bootstrap_samples=200,
        reference="tap"))
    folder = tmp_path / "entries"
    folder.mkdir()
    write_entry(folder, "1_tap.yaml", name="tap", description="TP-avg", stage=TINY_STAGE)
    write_entry(folder, "2_tmp.yaml", name="tmp", stage={
        **TINY_STAGE, "model": {"name": "resnet_tmp", "kwargs": {"depth": 18}}})
    trained = []
    real = lb.train_reid

    def counting(stage, *args, **kwargs):
        trained.append((stage.model.name, stage.train.seed, stage.train.lr))
        if len(trained) == interrupt_at[0]:
            raise KeyboardInterrupt  # the leaderboard killed mid-way
        return real(stage, *args, **kwargs)

    interrupt_at = [0]
    monkeypatch.setattr(lb, "train_reid", counting)
    return p, folder, trained, interrupt_at, tmp_path


def test_tiny_board_reports_reuses_and_resumes(board):
    p, folder, trained, interrupt_at, tmp_path = board
    reports = tmp_path / "reports"
    entries = load_entries(p, [str(folder / "*.yaml")])

    interrupt_at[0] = 3  # (tap, 0), (tap, 1) finish; (tmp, 0) is interrupted
    with pytest.raises(KeyboardInterrupt):
        lb.leaderboard(p, entries, reports_dir=reports)
    assert len(trained) == 3 and not reports.exists()
    assert (tmp_path / "runs" / "tap" / "seed1" / "result.json").is_file()
    assert (tmp_path / "runs" / "tap" / "seed1" / "model.pt").is_file()
    assert not (tmp_path / "runs" / "tap" / "seed1" / "checkpoints").exists()
    interrupt_at[0] = 0

    out = lb.leaderboard(p, entries, reports_dir=reports)  # resumes: only tmp's seeds
    assert trained[3:] == [("resnet_tmp", 0, 0.001), ("resnet_tmp", 1, 0.001)]
    assert out.trained == [("tmp", 0), ("tmp", 1)] and out.reused == [("tap", 0), ("tap", 1)]
    for path in (out.json_path, out.md_path, out.png_path):
        assert path.is_file() and path.parent == reports
    assert out.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(out.json_path.read_text())
    assert report["reference"] == "tap" and report["seeds"] == [0, 1]
    assert [row["name"] for row in report["entries"]] == ["tap", "tmp"]
    for row in report["entries"]:
        for metric, ci in row["metrics"].items():
            assert ci["lo"] <= ci["mean"] <= ci["hi"], (row["name"], metric)
            assert ci["mean"] == pytest.approx(sum(row["per_seed"][metric]) / 2)
        assert row["parameters"] > 0 and row["train_seconds"] > 0
    ref = report["entries"][0]["vs_reference"]["rank1"]
    assert (ref["mean"], ref["lo"], ref["hi"], ref["significant"]) == (0, 0, 0, False)
    diff = report["entries"][1]["vs_reference"]["mAP"]
    tmp_map, tap_map = (r["metrics"]["mAP"]["mean"] for r in report["entries"][::-1])
    assert diff["mean"] == pytest.approx(tmp_map - tap_map)
    assert diff["lo"] <= diff["mean"] <= diff["hi"]
    assert report["entries"][0]["power"] is None  # the reference is not compared to itself
    power = report["entries"][1]["power"]
    assert power["components"]["num_seeds"] == 2
    assert power["components"]["num_queries"] == report["num_queries"]
    assert power["predicted_half_width"] >= 0 and report["target_half_width"] == 0.03
    assert "| tmp |" in out.md_path.read_text().split("Power calculation")[0].split(
        "±Δrank-1 (predicted)")[-1]
    table = out.md_path.read_text().splitlines()
    assert table[0].startswith("| entry | rank-1 | rank-5 | rank-10 | mAP | mINP |")
    assert table[2].startswith("| tap (ref) |") and table[3].startswith("| tmp |")
    record = json.loads((tmp_path / "runs" / "tmp" / "seed0" / "result.json").read_text())
    # one-stage models: no first-stage record, row or table
    assert "first_stage" not in record and report["entries"][1]["first_stage"] is None
    assert "Two-stage scoring" not in out.md_path.read_text()
    assert len(record["per_query"]["mAP"]) == report["num_queries"] == len(
        record["valid_queries"]) == len(record["query_pids"])
    # the attribute-wise block: the tiny MARS set's accessories, each subset of the queries
    from vreid.data.synth.appearance import ACCESSORIES

    attrs = report["attributes"]
    assert [s["attribute"] for s in attrs["subsets"]] == list(ACCESSORIES)
    assert attrs["num_queries"] == report["num_queries"]
    for subset in attrs["subsets"]:
        assert 0 <= subset["queries"] <= report["num_queries"]
        assert [r["name"] for r in subset["entries"]] == (["tap", "tmp"] if subset["queries"]
                                                          else [])
    assert any(s["entries"] for s in attrs["subsets"])
    assert "Attribute-wise (paper 004 table 7)" in out.md_path.read_text().split(
        "Power calculation")[-1]

    again = lb.leaderboard(p, entries, reports_dir=reports)  # nothing changed: nothing trains
    assert len(trained) == 5 and again.trained == []
    assert again.report["entries"] == report["entries"]

    # a new entry trains only itself; one that builds tap's model again trains nothing
    write_entry(folder, "3_tap_lr.yaml", name="tap lr", stage="train_video",
                overrides={"model": TINY_STAGE["model"], "init_from": {},
                           "input": TINY_STAGE["input"], "train": TINY_STAGE["train"],
                           "train.lr": 0.002, "train.losses": [{"name": "cross_entropy"}]})
    write_entry(folder, "4_tap_again.yaml", name="tap again",
                stage={**TINY_STAGE, "model": {"name": "resnet_tap",
                                               "kwargs": {"depth": 18, "last_stride": 1}}})
    grown = lb.leaderboard(p, load_entries(p, [str(folder / "*.yaml")]), reports_dir=reports)
    assert trained[5:] == [("resnet_tap", 0, 0.002), ("resnet_tap", 1, 0.002)]
    again_row = grown.report["entries"][3]
    assert again_row["name"] == "tap again" and again_row["vs_reference"]["mAP"]["mean"] == 0
    same = json.loads((tmp_path / "runs" / "tap_again" / "seed1" / "result.json").read_text())
    assert same["same_as"] == "tap" and same["entry"] == "tap again"
    # the same model as the reference: no difference or power row, said as such
    assert again_row["same_model_as_reference"] and again_row["power"] is None
    assert not grown.report["entries"][2]["same_model_as_reference"]
    line = next(x for x in grown.md_path.read_text().splitlines() if x.startswith("| tap again |"))
    assert "= ref (same model)" in line


def test_a_two_stage_entry_records_first_stage_recall_and_refine_cost(board):
    """Paper 002's step 2 (tiny, with training and test clip corruption on): result.json,
    the report's row and the markdown carry the first stage's recall@K and the refine
    stage's cost."""
    from vreid.models import MODELS

    p, folder, trained, _, tmp_path = board
    tiny = MODELS.info("i3d_clip_similarity").tiny_kwargs  # M = 3 clips of L = 1, top_k 2
    stage = {**TINY_STAGE, "model": {"name": "i3d_clip_similarity", "kwargs": tiny},
             "input": {**TINY_STAGE["input"], "clip_len": 3, "corruption": {"max_clips": 2}},
             "train": {**TINY_STAGE["train"], "losses": [{"name": "similarity_triplet"}]}}
    path = write_entry(folder, "5_clip_sets.yaml", name="clip sets", stage=stage)
    entry = load_entry(p, path)
    assert entry.stage.input.corruption.max_clips == 2
    (job,) = lb.plan_jobs(p, [entry], [0], tmp_path / "runs")
    record = lb.run_job(job, p)
    assert trained == [("i3d_clip_similarity", 0, 0.001)]
    first = record["first_stage"]
    assert first["top_k"] == 2 and 0 <= first["recall"] <= 1 and first["refine_seconds"] > 0
    assert first["refine_pairs"] == 2 * len(record["valid_queries"])  # every query's top-2
    assert json.loads(job.result_path.read_text())["first_stage"] == first
    assert lb.record_metrics(record)["first_stage_recall"] == first["recall"]
    assert lb.first_stage_summary([record, record]) == {**first, "refine_pairs": float(
        first["refine_pairs"])}
    report = {"entries": [{"name": "clip sets", "first_stage": lb.first_stage_summary([record])},
                          {"name": "tap", "first_stage": None}]}
    table = lb.first_stage_markdown(report)
    assert f"| clip sets | 2 | {100 * first['recall']:.1f} |" in table and "| tap |" not in table


def test_reference_must_be_an_entry(board):
    p, folder, trained, _, tmp_path = board
    entries = load_entries(p, [str(folder / "1_tap.yaml")])
    with pytest.raises(ConfigError, match="leaderboard.reference: 'tmp' is not an entry"):
        lb.leaderboard(p, entries, reference="tmp", reports_dir=tmp_path / "reports")
    assert trained == []


@pytest.mark.integration  # starts a local Ray (10+ s)
def test_jobs_run_as_ray_tasks_when_an_address_is_given(board):
    p, folder, trained, _, tmp_path = board
    entries = load_entries(p, [str(folder / "1_tap.yaml")])
    out = lb.leaderboard(p, entries, address="local", reports_dir=tmp_path / "reports")
    assert out.trained == [("tap", 0), ("tap", 1)]
    assert trained == []  # trained in the Ray workers, not in this process
    for seed in (0, 1):
        record = json.loads((tmp_path / "runs" / "tap" / f"seed{seed}" / "result.json").read_text())
        assert record["seed"] == seed and (tmp_path / "runs" / "tap" / f"seed{seed}" /
                                           "model.pt").is_file()
    assert lb.leaderboard(p, entries, reports_dir=tmp_path / "reports").trained == []


def test_small_set_board_trains_and_scores_each_split_and_pools_its_queries(board):
    """Issue 12 item 4: on a set with 10 splits (the embedded iLIDS-VID layout) an entry is
    trained on each split's training persons and scored on its test persons; the CMC is
    the mean over the splits (pooled queries, as many per split)."""
    p, folder, trained, _, tmp_path = board
    p = dataclasses.replace(p, leaderboard=dataclasses.replace(
        p.leaderboard, data="ilids_vid", splits=2, seeds=(0,)))
    entries = load_entries(p, [str(folder / "1_tap.yaml")])
    out = lb.leaderboard(p, entries, reports_dir=tmp_path / "reports")
    assert [seed for _, seed, _ in trained] == [0, 0]  # one training per split
    runs = tmp_path / "runs" / "tap" / "seed0"
    assert (runs / "split0" / "model.pt").is_file() and (runs / "split1" / "model.pt").is_file()
    # once the result is written its checkpoints go (they filled the disk, 2026-12-04)
    assert not any(runs.rglob("epoch_*.pt")) and not (runs / "split0" / "checkpoints").exists()
    record = json.loads((runs / "result.json").read_text())
    assert record["splits"] == [0, 1] and len(record["per_split"]) == 2
    half = len(record["per_query"]["rank1"]) // 2
    assert half > 0 and out.report["num_queries"] == 2 * half
    for m in ("rank1", "mAP"):
        assert record["metrics"][m] == pytest.approx(
            sum(s[m] for s in record["per_split"]) / 2)
    assert record["valid_queries"] == list(range(2 * half))  # split 1's queries follow 0's
    assert record["frame_memo"] == {"hits": 0, "misses": 0}  # off (and no EgoReID model)
    lb.leaderboard(p, entries, reports_dir=tmp_path / "reports")
    assert len(trained) == 2  # reused: the splits are part of the fingerprint
    with pytest.raises(ConfigError, match="leaderboard.splits: 11 given, but ilids-vid"):
        lb.plan_jobs(dataclasses.replace(p, leaderboard=dataclasses.replace(
            p.leaderboard, splits=11)), entries, (0,), tmp_path / "runs")
    with pytest.raises(ConfigError, match="mars has one fixed train/test split"):
        lb.plan_jobs(dataclasses.replace(p, leaderboard=dataclasses.replace(
            p.leaderboard, data="video")), entries, (0,), tmp_path / "runs")


@pytest.mark.parametrize("lo, hi, expected", [(0.01, 0.05, "reproduced"),
                                               (-0.05, -0.01, "contradicted"),
                                               (-0.01, 0.02, "inconclusive"),
                                               (0.0, 0.02, "inconclusive")])
def test_claim_verdict_follows_the_paired_interval(lo, hi, expected):
    assert lb.verdict(lb.Interval((lo + hi) / 2, lo, hi)) == expected


def test_claims_are_tested_and_report_only_trains_nothing(board):
    """Claims get the paired difference claimant - other and a verdict; --report-only
    reports stored results (marking changed fingerprints stale) and names a missing one."""
    p, folder, trained, _, tmp_path = board
    reports = tmp_path / "reports"
    write_entry(folder, "2_tmp.yaml", name="tmp", stage={
        **TINY_STAGE, "model": {"name": "resnet_tmp", "kwargs": {"depth": 18}}},
        paper={"source": "x", "rank1": 60.0, "mAP": 50.0},
        claims=[{"beats": "tap", "source": "a table"}, {"beats": "absent", "source": "b"}])
    write_entry(folder, "1_tap.yaml", name="tap", stage=TINY_STAGE,
                paper={"source": "x", "rank1": 58.5, "mAP": 49.0})
    out = lb.leaderboard(p, load_entries(p, [str(folder / "*.yaml")]), reports_dir=reports)
    claim, absent = out.report["claims"]
    assert (claim["entry"], claim["beats"], claim["source"]) == ("tmp", "tap", "a table")
    assert claim["paper"] == {"rank1": pytest.approx(1.5), "mAP": pytest.approx(1.0)}
    rows = {r["name"]: r for r in out.report["entries"]}
    for metric in ("rank1", "mAP"):
        d = claim["metrics"][metric]
        assert d["mean"] == pytest.approx(rows["tmp"]["metrics"][metric]["mean"]
                                          - rows["tap"]["metrics"][metric]["mean"])
        assert claim["verdict"][metric] == lb.verdict(lb.Interval(d["mean"], d["lo"], d["hi"]))
    assert absent["verdict"] == {"rank1": "not run", "mAP": "not run"}
    assert "| tmp > tap | a table | +1.50 |" in out.md_path.read_text()
    assert out.report["stale"] == []
    n = len(trained)

    # settings changed: a normal run would retrain tmp; report-only keeps its result, stale
    write_entry(folder, "2_tmp.yaml", name="tmp", stage={
        **TINY_STAGE, "model": {"name": "resnet_tmp", "kwargs": {"depth": 18}},
        "train": {**TINY_STAGE["train"], "lr": 0.005}})
    entries = load_entries(p, [str(folder / "*.yaml")])
    only = lb.leaderboard(p, entries, reports_dir=reports, report_only=True)
    assert len(trained) == n and only.trained == []
    assert only.report["stale"] == [{"entry": "tmp", "seed": 0}, {"entry": "tmp", "seed": 1}]
    assert "Stale: 2 of 4 run(s)" in only.md_path.read_text()
    assert only.report["entries"][1]["metrics"] == rows["tmp"]["metrics"]

    missing = tmp_path / "runs" / "tmp" / "seed1" / "result.json"
    missing.unlink()
    with pytest.raises(ConfigError, match=r"no stored result for 1 run\(s\): .*tmp/seed1/result"):
        lb.leaderboard(p, entries, reports_dir=reports, report_only=True)
    assert len(trained) == n


@pytest.mark.parametrize("profile", ["paper001_ibn_attention.yaml", "paper002_i3d_clip_similarity.yaml",
                                     "paper003_personvlad.yaml", "paper004_se_cosam.yaml"])
def test_paper_profiles_reference_one_of_their_entries(profile):
    params = load_params(REPO / "configs" / profile)
    names = [e.name for e in load_entries(params, params.leaderboard.entries)]
    assert names and params.leaderboard.reference in names


# the committed p001 / p004 recipes at the tiny data's size: 2 frames of 32x16 (ResNet-18,
# last stride 1: 2x1 maps after layer3 / layer4), one iteration
TINY_OVERRIDES = {"input.height": 32, "input.width": 16, "input.clip_len": 2,
                  "train.epochs": 1, "train.iters_per_epoch": 1, "train.ids_per_batch": 3,
                  "train.instances_per_id": 2, "train.warmup_epochs": 0,
                  "train.milestones": [1]}


def test_paper_recipes_train_and_score_on_the_tiny_data(board):
    """Paper 001's four losses (the erasing-attention loss reads the per-frame erasing's
    `erased` labels and the attention output) and paper 004's COSAM (built for N = 2 and
    the test clips' size) run through the trainer and the scoring."""
    p, folder, trained, _, tmp_path = board
    p001 = yaml.safe_load((REPO / "configs/leaderboard/p001_ibn_ta.yaml").read_text())
    p004 = yaml.safe_load((REPO / "configs/leaderboard/p004_t4_se_avg_cosam45.yaml").read_text())
    write_entry(folder, "p001.yaml", name="p001", stage=p001["stage"], overrides={
        **TINY_OVERRIDES, "model.kwargs.temporal_kwargs.spatial_kernel": [2, 1]})
    write_entry(folder, "p004.yaml", name="p004", stage=p004["stage"], overrides={
        **TINY_OVERRIDES, "model.kwargs.height": 32, "model.kwargs.width": 16,
        "model.kwargs.clip_len": 2})
    entries = load_entries(p, [str(folder / "p00*.yaml")])
    assert [t.name for t in entries[0].stage.train.losses] == [
        "cross_entropy", "ranked_list", "center", "erasing_attention"]
    out = lb.leaderboard(p, entries, seeds=[0], reference="p001",
                         reports_dir=tmp_path / "reports")
    assert out.trained == [("p001", 0), ("p004", 0)]
    assert [name for name, _, _ in trained] == ["video_cnn", "video_cnn"]
    report = json.loads(out.json_path.read_text())
    for row in report["entries"]:
        assert 0 <= row["metrics"]["mAP"]["mean"] <= 1 and row["parameters"] > 0, row["name"]


def test_an_entry_scored_with_xqda_runs_apart_and_ranks_by_the_fitted_metric(board):
    """An entry's `eval` (paper 003 table IX: + XQDA) changes only its scoring: the same
    model trained under its own fingerprint, scored with XQDA fitted on the training split."""
    p, folder, trained, _, tmp_path = board
    write_entry(folder, "3_tap_xqda.yaml", name="tap + XQDA", stage=TINY_STAGE,
                eval={"scorer": "xqda", "xqda.dims": 4})
    entries = load_entries(p, [str(folder / "1_tap.yaml"), str(folder / "3_tap_xqda.yaml")])
    assert entries[0].eval == p.eval and entries[0].eval.scorer == "distance"
    assert (entries[1].eval.scorer, entries[1].eval.xqda.dims) == ("xqda", 4)
    assert entries[1].eval.batch_size == p.eval.batch_size  # the rest is the params' eval
    jobs = lb.plan_jobs(p, entries, [0], tmp_path / "runs")
    assert jobs[0].fingerprint != jobs[1].fingerprint
    out = lb.leaderboard(p, entries, seeds=[0], reference="tap",
                         reports_dir=tmp_path / "reports")
    assert out.trained == [("tap", 0), ("tap + XQDA", 0)] and len(trained) == 2
    plain, xqda = (json.loads(j.result_path.read_text()) for j in jobs)
    assert 0 <= xqda["metrics"]["mAP"] <= 1
    assert xqda["per_query"]["mAP"] != plain["per_query"]["mAP"]


# ------------------------------------------- paper 001 table V: transfer MARS -> small set

TRANSFER = REPO / "configs" / "transfer"


def test_model_identity_tells_an_initialised_model_from_scratch():
    scratch = model_identity(ModelConfig("resnet_tap", {"depth": 18}))
    started = model_identity(ModelConfig("resnet_tap", {"depth": 18, "init_checkpoint": "a.pt"}))
    assert started != scratch  # never trained once for both (nor a builder TypeError)
    assert started != model_identity(ModelConfig("resnet_tap", {"depth": 18,
                                                                "init_checkpoint": "b.pt"}))


def test_transfer_board_entries_differ_only_by_the_mars_model():
    """configs/transfer/: the small-set board of paper 001 table V, apart from the default
    board; its MARS stage's model file is an upstream (DVC dep, fingerprint) of one entry."""
    from vreid.pipeline.graph import leaderboard_stage

    p = load_params(TRANSFER / "params.yaml")
    assert list(p.stages) == ["p001_mars"] and p.leaderboard.data == "ilids_vid"
    entries = load_entries(p, p.leaderboard.entries)
    scratch, mars = entries
    assert p.leaderboard.reference == scratch.name and "from scratch" in scratch.name
    assert mars.stage.model.kwargs["init_checkpoint"] == "models/p001_mars/model.pt"
    assert dataclasses.replace(mars.stage, init_from={}, model=scratch.stage.model) == scratch.stage
    assert [(c.beats, c.source) for c in mars.claims] == [(scratch.name, "paper 001 table V")]
    assert "models/p001_mars/model.pt" in leaderboard_stage(p).inputs
    # the MARS stage is p001_ibn_ta.yaml's recipe (on the MARS-layout set, data.video)
    root = load_params(REPO / "params.yaml")
    assert p.stages["p001_mars"] == load_entry(
        root, REPO / "configs/leaderboard/p001_ibn_ta.yaml").stage
    # not on the default board, nor among configs/leaderboard/ (loaded with the root table)
    files = lb.entry_files([str(REPO / x) for x in (*root.leaderboard.entries, *COMMITTED)])
    assert files and not any(f.is_relative_to(TRANSFER) for f in files)


def test_transfer_board_trains_from_the_mars_model_and_tests_the_claim(board, caplog):
    """The committed transfer entries at the tiny data's size: the MARS stage is trained,
    the initialised entry starts from its model file (all but the classifier: other
    identity counts), both are trained and scored on an iLIDS-VID split, the claim tested."""
    import torch

    from vreid.config import with_override
    from vreid.engine import load_checkpoint
    from vreid.pipeline.stages import train_stage

    p, folder, trained, _, tmp_path = board
    stage = load_params(TRANSFER / "params.yaml").stages["p001_mars"]
    for key, value in {**TINY_OVERRIDES,
                       "model.kwargs.temporal_kwargs.spatial_kernel": [2, 1]}.items():
        stage = with_override(stage, key, value, new_keys=True)
    p = dataclasses.replace(p, stages={**p.stages, "p001_mars": stage},
                            leaderboard=dataclasses.replace(
                                p.leaderboard, data="ilids_vid", splits=1, seeds=(0,),
                                reference="p001 IBN-a + TA on iLIDS-VID, from scratch"))
    train_stage(p, "p001_mars", reports_dir=None)  # models/p001_mars/model.pt (tiny MARS)
    entries = load_entries(p, [str(TRANSFER / "p001_t5_*.yaml")])
    with caplog.at_level("WARNING", logger="vreid.models.registry"):
        out = lb.leaderboard(p, entries, reports_dir=tmp_path / "reports")
    assert [name for name, _ in out.trained] == [e.name for e in entries]  # two models
    (warning,) = [r.getMessage() for r in caplog.records if "init_checkpoint" in r.getMessage()]
    assert "models/p001_mars/model.pt" in warning and "shape differs (1): " in warning
    assert "classifier" in warning.split("shape differs (1): ")[1]
    (claim,) = out.report["claims"]
    assert (claim["entry"], claim["beats"], claim["source"]) == (
        entries[1].name, entries[0].name, "paper 001 table V")
    assert set(claim["verdict"].values()) <= {"reproduced", "contradicted", "inconclusive"}
    saved = load_checkpoint(tmp_path / "runs" / entries[1].slug / "seed0" / "split0" / "model.pt")
    assert "init_checkpoint" not in saved["model_kwargs"]
    # the MARS model's file is in the initialised entry's fingerprint, not in scratch's
    before = [j.fingerprint for j in lb.plan_jobs(p, entries, (0,), tmp_path / "runs")]
    source = load_checkpoint("models/p001_mars/model.pt")
    source["state_dict"] = {k: v + 1 if v.is_floating_point() else v
                            for k, v in source["state_dict"].items()}
    torch.save(source, "models/p001_mars/model.pt")
    after = [j.fingerprint for j in lb.plan_jobs(p, entries, (0,), tmp_path / "runs")]
    assert after[0] == before[0] and after[1] != before[1]

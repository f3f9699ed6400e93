from vreid.data.readers import read_ilids_vid, read_prid2011
from vreid.data.synth.config import RenderConfig, TwoCameraSetConfig
from vreid.data.synth.smallsets import write_ilids_vid, write_prid2011

CFG = TwoCameraSetConfig(num_persons=6, frames=(1, 2))
RENDER = RenderConfig(height=32, width=16)


def test_ilids_vid_layout_reads_back_with_10_splits(tmp_path):
    counts = write_ilids_vid(tmp_path / "ilids", CFG, RENDER, seed=0)
    assert counts["persons"] == 6 and counts["splits"] == 10
    seen = set()
    for k in range(10):
        index = read_ilids_vid(tmp_path / "ilids", split_id=k)
        assert index.split_info["generated"] is False and index.split_info["num_splits"] == 10
        train, test = {t.pid for t in index.train}, {t.pid for t in index.query}
        assert len(train) == len(test) == 3 and not train & test
        assert {t.pid for t in index.gallery} == test
        assert {t.camid for t in index.query} == {0} and {t.camid for t in index.gallery} == {1}
        seen.add(tuple(sorted(test)))
    assert len(seen) > 1


def test_prid2011_layout_reads_back_with_10_splits(tmp_path):
    write_prid2011(tmp_path / "prid", CFG, RENDER, seed=0)
    for k in range(10):
        index = read_prid2011(tmp_path / "prid", split_id=k)
        assert index.split_info["generated"] is False and index.split_info["num_splits"] == 10
        train, test = {t.pid for t in index.train}, {t.pid for t in index.query}
        assert len(train) == len(test) == 3 and train | test == set(range(1, 7))


def test_writers_are_deterministic(tmp_path):
    write_ilids_vid(tmp_path / "a", CFG, RENDER, seed=3)
    write_ilids_vid(tmp_path / "b", CFG, RENDER, seed=3)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_small_sets_pass_the_validation_gate(tmp_path):
    from vreid.validation import validate_reid

    write_ilids_vid(tmp_path / "ilids", CFG, RENDER, seed=0)
    write_prid2011(tmp_path / "prid", CFG, RENDER, seed=0)
    for index in (read_ilids_vid(tmp_path / "ilids", split_id=2), read_prid2011(tmp_path / "prid")):
        result = validate_reid(index)
        assert result.success, [c.name for c in result.checks if not c.success]


def test_ten_split_evaluation_runs_end_to_end_on_the_written_layouts(tmp_path):
    """The 10-split protocol (eval.protocols) through the readers, with an untrained
    model: a fixed random conv + global average pooling over frames."""
    import numpy as np
    import torch
    from PIL import Image

    from vreid.eval.protocols import evaluate_reader_splits
    from vreid.eval.rank import evaluate_rank_features

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())

    def embed(tracklets):
        feats = []
        for t in tracklets:
            x = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB")) for f in t.frames]))
            with torch.no_grad():
                feats.append(net(x.permute(0, 3, 1, 2).float() / 255).mean(0))
        return torch.stack(feats)

    def score(index):
        return evaluate_rank_features(embed(index.query), embed(index.gallery),
                                      [t.pid for t in index.query], [t.pid for t in index.gallery],
                                      [t.camid for t in index.query], [t.camid for t in index.gallery])

    write_ilids_vid(tmp_path / "ilids", CFG, RENDER, seed=0)
    write_prid2011(tmp_path / "prid", CFG, RENDER, seed=0)
    for read in (lambda k: read_ilids_vid(tmp_path / "ilids", split_id=k),
                 lambda k: read_prid2011(tmp_path / "prid", split_id=k)):
        res = evaluate_reader_splits(read, score)
        assert len(res.results) == 10 and [i["split_id"] for i in res.split_info] == list(range(10))
        assert 0.0 < res.mAP <= 1.0 and res.cmc[-1] == 1.0  # 3 gallery persons: found by rank 3
        assert np.isclose(res.cmc[0], np.mean([r.cmc[0] for r in res.results]))

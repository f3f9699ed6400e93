"""Dataset statistics in the style of paper 000's table 1 (identities, tracklets, cameras,
boxes, identities shared between cameras, metadata)."""

from __future__ import annotations

from itertools import combinations

from vreid.data.index import ParsingIndex, ReIDIndex
from vreid.data.sensors import SENSOR_STREAMS
from vreid.markdown import markdown_table


def dataset_statistics(index: ReIDIndex | ParsingIndex) -> dict:
    """Counts over train + query + gallery of a re-ID index (pids <= 0 are not identities);
    of a parsing set (LIP layout), its image / label pairs per split."""
    if isinstance(index, ParsingIndex):
        return {"images": len(index.train) + len(index.val),
                "split_images": {"train": len(index.train), "val": len(index.val)}}
    tracklets = [*index.train, *index.query, *index.gallery]
    cams = sorted({t.camid for t in tracklets})
    ids_in = {c: {t.pid for t in tracklets if t.camid == c and t.pid > 0} for c in cams}
    sensors = index.metadata.get("sensors", {})
    stats = {
        "identities": len({t.pid for t in tracklets if t.pid > 0}),
        "tracklets": len(tracklets),
        "cameras": len(cams),
        "bounding_boxes": sum(len(t.frames) for t in tracklets),
        "split_tracklets": {"train": len(index.train), "query": len(index.query),
                            "gallery": len(index.gallery)},
        "tracklets_per_camera": {f"cam{c + 1}": sum(1 for t in tracklets if t.camid == c)
                                 for c in cams},
        "identities_per_camera": {f"cam{c + 1}": len(ids_in[c]) for c in cams},
        "shared_identities": {f"cam{a + 1}&cam{b + 1}": len(ids_in[a] & ids_in[b])
                              for a, b in combinations(cams, 2)},
        "identities_in_all_cameras": len(set.intersection(*ids_in.values())) if cams else 0,
        "metadata": (f"{len(SENSOR_STREAMS)} sensor streams ({', '.join(SENSOR_STREAMS)})"
                     if sensors else "-"),
    }
    if sensors:
        times = [cols["time_s"] for cols in sensors.values()]
        stats["sensor_samples_per_camera"] = {f"cam{c + 1}": len(sensors[c]["time_s"])
                                              for c in sorted(sensors)}
        stats["recording_s"] = float(max(t[-1] for t in times) - min(t[0] for t in times))
    return stats


def format_statistics(name: str, stats: dict) -> str:
    """A two-column markdown table of `dataset_statistics` output."""
    def fmt(v):
        return ", ".join(f"{k} {x}" for k, x in v.items()) if isinstance(v, dict) else str(v)

    labels = {"identities": "Number of IDs", "tracklets": "Tracklets #", "cameras": "Camera #",
              "bounding_boxes": "Bounding boxes", "metadata": "Meta-data"}
    return markdown_table([name, ""], [[labels.get(k, k.replace("_", " ").capitalize()), fmt(v)]
                                       for k, v in stats.items()])

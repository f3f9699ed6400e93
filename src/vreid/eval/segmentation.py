"""Segmentation metrics from a confusion matrix: pixel accuracy, mean accuracy, mIoU.

Rows of the confusion matrix are ground truth, columns predictions; pixels labelled
`ignore_index` are not counted.

- pixel accuracy = trace / total.
- mean accuracy  = mean over classes PRESENT IN THE GROUND TRUTH of TP / GT pixels
  (a class with no ground-truth pixel has no defined recall).
- mean IoU       = mean over classes present in the ground truth OR the prediction of
  TP / (GT + predicted - TP). A class absent from both has 0/0 and is left out of the
  mean (its per-class IoU is NaN); a class only predicted counts with IoU 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """[num_classes, num_classes] int64 counts of (ground truth, prediction) pairs."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    keep = target != ignore_index
    pred, target = pred[keep], target[keep]
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        raise ValueError(f"target labels must lie in [0, {num_classes}) or equal {ignore_index}")
    if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) >= num_classes):
        raise ValueError(f"predicted labels must lie in [0, {num_classes})")
    counts = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu().numpy().astype(np.int64)


@dataclass
class SegmentationScores:
    pixel_acc: float
    mean_acc: float
    mean_iou: float
    per_class_iou: list[float]  # NaN where the class is absent from GT and prediction

    def to_dict(self, class_names: tuple[str, ...] | None = None) -> dict:
        """JSON-ready: NaN IoUs become None; keyed by class name when names are given."""
        ious = [None if np.isnan(v) else float(v) for v in self.per_class_iou]
        per_class = dict(zip(class_names, ious)) if class_names else ious
        return {"pixel_acc": self.pixel_acc, "mean_acc": self.mean_acc, "mIoU": self.mean_iou,
                "per_class_iou": per_class}


def segmentation_scores(conf: np.ndarray) -> SegmentationScores:
    conf = np.asarray(conf, dtype=np.float64)
    total = conf.sum()
    if total == 0:
        raise ValueError("the confusion matrix is empty (no labelled pixel)")
    tp = np.diag(conf)
    gt, predicted = conf.sum(1), conf.sum(0)
    union = gt + predicted - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(gt > 0, tp / gt, np.nan)
        iou = np.where(union > 0, tp / union, np.nan)
    return SegmentationScores(
        pixel_acc=float(tp.sum() / total),
        mean_acc=float(np.nanmean(recall)),
        mean_iou=float(np.nanmean(iou)),
        per_class_iou=[float(v) for v in iou],
    )


@torch.no_grad()
def evaluate_segmentation(model: torch.nn.Module, loader, num_classes: int,
                          device: torch.device | str = "cpu", ignore_index: int = 255
                          ) -> tuple[SegmentationScores, np.ndarray]:
    """Run a parser (eval mode: returns logits [B, C, H, W]) over `(image, label, _)` batches."""
    model.eval().to(device)
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    for images, labels, _ in loader:
        logits = model(images.to(device))
        conf += confusion_matrix(logits.argmax(1).cpu(), labels, num_classes, ignore_index)
    return segmentation_scores(conf), conf

"""Segmentation metrics shared by training, evaluation and reports.

The paper found that Dice ranked V-UNet first although its masks had artifacts, outliers and
rough rib edges that only the eye caught. Besides the overlap scores this package measures
those defects. One module per job:

- :mod:`~lus_unet.metrics.batch`: Dice and IoU per image of a batch of tensors, on the device
  (the training loop's ``val/dice`` and ``val/iou``).
- :mod:`~lus_unet.metrics.masks`: checking 2-D masks and pixel spacings.
- :mod:`~lus_unet.metrics.overlap`: Dice, IoU, precision and recall of one case.
- :mod:`~lus_unet.metrics.distances`: boundaries and surface distances (HD95, ASSD).
- :mod:`~lus_unet.metrics.components`: stray blobs (``spurious_components``,
  ``outside_largest_fraction``).
- :mod:`~lus_unet.metrics.contours`: edge roughness (``contour_length_ratio``).
- :mod:`~lus_unet.metrics.case`: every metric of one case, and the metric names.
- :mod:`~lus_unet.metrics.summary`: mean, sd, median, min and max over cases.

Per-case inputs are 2-D masks (bool, or numbers that are all 0 or 1) of the same shape;
``spacing`` is the pixel size ``(dy, dx)`` in millimetres (rows, columns).

Empty masks (never dropped, never NaN; every value is finite and enters every mean):

- Both empty: a correct "no rib": Dice = IoU = precision = recall = 1, distances 0,
  ``contour_length_ratio`` 1, ``spurious_components`` 0, ``outside_largest_fraction`` 0.
- Exactly one empty: the worst value. Dice = IoU = precision = recall = 0;
  HD95 and ASSD = the image diagonal ``hypot(H, W)`` pixels, and
  ``hypot(H * dy, W * dx)`` mm, more than any two pixels can be apart;
  ``spurious_components`` = number of predicted components (0 for an empty
  prediction); ``outside_largest_fraction`` as for any prediction.
  ``contour_length_ratio`` is 0 for an empty prediction; for an empty ground truth
  it is the predicted contour length over a single pixel's contour length, the
  largest ratio this prediction could reach against any non-empty ground truth
  (>= 1, growing with the wrongly predicted outline).
"""

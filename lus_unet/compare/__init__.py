"""Quality benchmark: recipes against the reference U-Net on the same folds at an equal budget.

``python -m lus_unet.compare`` (``conf/compare.yaml``) trains every entry, a config overlay of
the train config, on the same grouped folds with the same epochs, batch and frame size, and
scores each fold by its best epoch's validation Dice (the project's own metric code).
"""

"""Training: the LightningModule, losses, optimisers and schedules, and its callbacks."""

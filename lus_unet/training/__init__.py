"""Training: losses, on-device metrics, the LightningModule and its callbacks."""

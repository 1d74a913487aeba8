"""lus_unet: transfer-learned U-Nets for rib segmentation in lung-ultrasound frames."""

__version__ = "0.1.0"

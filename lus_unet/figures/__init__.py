"""Images for people: prediction overlays and grids, shared by training, evaluation, reports."""

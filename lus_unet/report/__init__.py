"""Reports over many runs: the paper's Table 1 layout and its Figure 5-style comparison."""

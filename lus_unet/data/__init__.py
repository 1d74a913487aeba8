"""Data: readers, discovery, preprocessing, synthetic generators, splits and DataModules."""

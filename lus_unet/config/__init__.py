"""The typed schema of every entry point's configuration, checked once before any work.

:func:`lus_unet.config.validate.validate` walks a composed config against a dataclass schema
(:mod:`~lus_unet.config.train`, :mod:`~lus_unet.config.inference`, ...) and raises a one-line
:class:`~lus_unet.errors.ConfigError` naming the key, the value and what is allowed. The
submodules are imported one by one so that the data checker does not import torch.
"""

"""Adam's constants: torch.optim.Adam's defaults, as the notebook uses them. Every engine's
Adam reads them here (the reference trainer and the user engine through torch.optim.Adam's
own defaults, which these equal)."""

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8

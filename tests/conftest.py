import torch

# Tests are small; intra-op threads only add contention on these 2-core machines.
torch.set_num_threads(1)

"""bench: declared sweeps over seqmem run configs (specs, the fan-out, the shipped specs)."""

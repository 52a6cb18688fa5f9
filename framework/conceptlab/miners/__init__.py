"""Built-in concept miners: the paper's convex program and two simple baselines."""

from conceptlab.miners.cav import CavMiner
from conceptlab.miners.convex import ConvexMiner
from conceptlab.miners.mean_difference import MeanDifferenceMiner

__all__ = ["CavMiner", "ConvexMiner", "MeanDifferenceMiner"]

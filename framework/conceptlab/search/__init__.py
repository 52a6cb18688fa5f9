"""The built-in, domain-free search: PUCT MCTS and rollout extraction from its tree."""

from conceptlab.search.puct import Node, PUCTParams, PUCTSearch
from conceptlab.search.rollouts import extract_rollouts

__all__ = ["Node", "PUCTParams", "PUCTSearch", "extract_rollouts"]

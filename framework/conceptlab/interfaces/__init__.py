"""The interfaces every component implements, one module each."""

from conceptlab.interfaces.agent import Agent, TrainableAgent
from conceptlab.interfaces.component import Component, NoParams, StrictParams, build_params
from conceptlab.interfaces.domain import Domain
from conceptlab.interfaces.filters import (
    NoveltyContext,
    NoveltyFilter,
    TeachabilityContext,
    TeachabilityFilter,
)
from conceptlab.interfaces.miner import ConceptMiner
from conceptlab.interfaces.search import RolloutParams, Search

__all__ = [
    "Agent",
    "Component",
    "ConceptMiner",
    "Domain",
    "NoParams",
    "NoveltyContext",
    "NoveltyFilter",
    "RolloutParams",
    "Search",
    "StrictParams",
    "TeachabilityContext",
    "TeachabilityFilter",
    "TrainableAgent",
    "build_params",
]

COMPONENT_KINDS: dict[str, type[Component]] = {
    "domain": Domain,
    "agent": Agent,
    "search": Search,
    "concept_miner": ConceptMiner,
    "teachability_filter": TeachabilityFilter,
    "novelty_filter": NoveltyFilter,
}
"""Component kind -> the interface its classes must subclass."""

"""conceptlab's planted-rule plugin: Connect Four with a hidden winning pattern.

The ground truth of a concept-discovery benchmark: an agent trained on the
variant uses the planted rule, a player trained on the standard game lacks it
by construction, and a predicate on states says where it matters (see
``docs/ground_truth.md``). The plugin registers through the entry-point group
``conceptlab`` (``conceptlab_planted.plugin``), as a third party's would; it
needs nothing beyond the core and numpy (torch for its agent).
"""

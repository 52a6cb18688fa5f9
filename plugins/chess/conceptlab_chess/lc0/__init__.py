"""lc0 (Leela Chess Zero) networks as conceptlab agents: the weight format, input planes,
move tables, the torch network, named networks fetched at install time, and the ``lc0`` agent."""

"""What plugin authors test with: the contract kit and a tiny game."""
